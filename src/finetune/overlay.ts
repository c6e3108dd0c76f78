// Prediction figures over images: a row of cases, each the (denormalised) input image in gray
// with masks tinted and boxes outlined, scaled up to about 256 px per case, as one PNG.
import sharp from 'sharp';
import { PRETRAIN_NORMALIZATION } from '../data/image.js';
import type { Box } from '../eval/metrics/detection.js';

export type Rgb = readonly [number, number, number];
export const TRUTH_COLOR: Rgb = [40, 200, 60];
export const PREDICTION_COLOR: Rgb = [230, 40, 40];

export interface OverlayCase {
  /** Normalised [size, size] plane, as the model saw it. */
  pixels: Float32Array;
  /** 0/1 masks [size, size] blended in their colour. */
  masks?: { mask: Uint8Array; color: Rgb }[];
  /** xyxy boxes in input pixels. */
  boxes?: { box: Box; color: Rgb }[];
}

export async function overlayPng(cases: readonly OverlayCase[], size: number): Promise<Buffer> {
  if (cases.length === 0) throw new RangeError('overlayPng: no cases');
  const scale = Math.max(1, Math.floor(256 / size));
  const tile = size * scale;
  const gap = 4;
  const width = cases.length * tile + (cases.length - 1) * gap;
  const rgb = new Uint8Array(width * tile * 3).fill(255);
  const { mean, std } = PRETRAIN_NORMALIZATION;
  cases.forEach((c, k) => {
    const x0 = k * (tile + gap);
    const put = (x: number, y: number, col: Rgb, alpha = 1): void => {
      if (x < 0 || y < 0 || x >= tile || y >= tile) return;
      const o = (y * width + x0 + x) * 3;
      for (let ch = 0; ch < 3; ch++) rgb[o + ch] = Math.round((1 - alpha) * rgb[o + ch]! + alpha * col[ch]!);
    };
    for (let y = 0; y < tile; y++) {
      for (let x = 0; x < tile; x++) {
        const i = Math.floor(y / scale) * size + Math.floor(x / scale);
        const v = Math.max(0, Math.min(255, Math.round((c.pixels[i]! * std + mean) * 255)));
        put(x, y, [v, v, v]);
        for (const m of c.masks ?? []) if (m.mask[i]) put(x, y, m.color, 0.35);
      }
    }
    for (const { box, color } of c.boxes ?? []) {
      const [bx1, by1, bx2, by2] = box.map((v) => Math.round(v * scale)) as [number, number, number, number];
      for (let t = 0; t < 2; t++) {
        for (let x = bx1; x <= bx2; x++) {
          put(x, by1 + t, color);
          put(x, by2 - t, color);
        }
        for (let y = by1; y <= by2; y++) {
          put(bx1 + t, y, color);
          put(bx2 - t, y, color);
        }
      }
    }
  });
  return sharp(Buffer.from(rgb), { raw: { width, height: tile, channels: 3 } }).png().toBuffer();
}
