// A segmentation sample's mask as a 0/1 plane at the stored image's size, and resizing of masks
// (nearest neighbour: labels are never blended).
import type { GrayImage } from '../gray-image.js';
import { readImage } from '../image.js';
import { rleDecode } from './siim.js';
import { DownstreamFormatError, type MaskSource } from './types.js';

/** Nearest-neighbour resize of a row-major plane (PIL NEAREST's pixel centres: source = floor((x + 0.5) · in / out)). */
export function resizeNearest(src: ArrayLike<number>, inHeight: number, inWidth: number, outHeight: number, outWidth: number): Uint8Array {
  const out = new Uint8Array(outHeight * outWidth);
  for (let y = 0; y < outHeight; y++) {
    const sy = Math.min(inHeight - 1, Math.floor(((y + 0.5) * inHeight) / outHeight));
    for (let x = 0; x < outWidth; x++) {
      const sx = Math.min(inWidth - 1, Math.floor(((x + 0.5) * inWidth) / outWidth));
      out[y * outWidth + x] = src[sy * inWidth + sx]! !== 0 ? 1 : 0;
    }
  }
  return out;
}

/** The 0/1 mask of `source` at [height, width] (the image's stored size). */
export async function renderMask(source: MaskSource, height: number, width: number): Promise<Uint8Array> {
  if (source.kind === 'file') {
    const img: GrayImage = await readImage(source.path);
    if (img.height !== height || img.width !== width) {
      throw new DownstreamFormatError(`${source.path}: mask is ${img.width}x${img.height}, its image ${width}x${height}`);
    }
    return resizeNearest(img.data, img.height, img.width, height, width);
  }
  if (source.kind === 'rle') {
    const union = new Uint8Array(source.width * source.height);
    for (const rle of source.rle) {
      const m = rleDecode(rle, source.width, source.height, source.variant);
      for (let i = 0; i < m.length; i++) union[i] = union[i]! | m[i]!;
    }
    return source.width === width && source.height === height ? union : resizeNearest(union, source.height, source.width, height, width);
  }
  // Boxes (RSNA as MGCA renders them): every pixel whose centre lies in a box.
  const out = new Uint8Array(height * width);
  for (const [bx, by, bw, bh] of source.boxes) {
    const x0 = Math.max(0, Math.round(bx));
    const y0 = Math.max(0, Math.round(by));
    const x1 = Math.min(width, Math.round(bx + bw));
    const y1 = Math.min(height, Math.round(by + bh));
    for (let y = y0; y < y1; y++) out.fill(1, y * width + x0, y * width + Math.max(x0, x1));
  }
  return out;
}
