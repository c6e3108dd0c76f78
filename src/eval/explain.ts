// Sentence-to-image alignment maps: for one radiograph and its report, the local cross-attention
// weights A1 [T, N] (spec 4.2: each sentence's sigmoid attention over the N local image tokens)
// drawn per sentence over the image, one panel per sentence with the sentence under it.
//
// The report is split by the project's sentence splitter and tokenised as in training (sentence
// indices, no shuffle, spec 3.2); sentences cut off by the text length are listed as not shown.
// The sentence rows given to the cross-attention are the SPB prototypes (what stages 2-3 train
// with) or the raw sentence embeddings (stage 1), `sentences` option.
//
// What a map means depends on the local token layout (B1):
//  - 'spatial': token t is layer4's grid cell t (row-major), so the map is A1 on the feature grid.
//  - 'faithful' (the released layout): token t is elements [t·C, (t+1)·C) of the flattened
//    (channel, row, col) layer4 array (C channels): a group of about C/N channels at ALL grid
//    positions, not a place. The drawn map is the honest projection through that reshape: each
//    grid position gets the mean attention of the C feature elements at it (each element takes
//    the weight of the token holding it). Tokens cover every position almost equally, so this
//    map is close to flat by construction; the token strip under each panel shows the token
//    (channel-group) weights that actually vary. The figure says so.
// One colour scale for the whole figure: [min, max] of the token weights A1 over all sentences.
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { readImage, transformImage, ZERO_SHOT_NORMALIZATION } from '../data/image.js';
import { splitSentences } from '../data/sentences.js';
import type { Prior, ZeroShotVariant } from '../models/prior/prior.js';
import * as torch from '../torch/index.js';
import type { DeviceLike } from '../torch/index.js';
import { Rng } from '../util/rng.js';
import { type Normalization, type TextOptions, embedReports, tokeniseReports, withTorchSeed } from './encode.js';
import { FONT, charsFitting, colorBar, rasterImage, rgb, svgDocument, svgToPng, textLines, viridis, wrapText } from './figures.js';

export interface ExplainOptions extends TextOptions {
  /** SPB variant for the prototypes (default 'faithful': as configured, seeded noise). */
  variant?: ZeroShotVariant;
  /** Rows given to the cross-attention: SPB 'prototypes' (default) or raw 'sentences'. */
  sentences?: 'prototypes' | 'sentences';
  seed?: number;
  normalization?: Normalization;
  /** Panel side in pixels (default 256). */
  panelSize?: number;
  /** Panels per row (default up to 3). */
  columns?: number;
  /** Heat-map opacity over the radiograph (default 0.45). */
  alpha?: number;
}

export interface ExplainLayout {
  width: number;
  height: number;
  columns: number;
  rows: number;
  panelSize: number;
  /** Top-left corner of each panel's image. */
  panels: { x: number; y: number }[];
}

export interface ExplainResult {
  png: Buffer;
  layout: ExplainLayout;
  /** All sentences of the report, as split. */
  sentences: string[];
  /** Indices into `sentences` of the panels, in order (sentences past the text length are absent). */
  shown: number[];
  /** A1 per shown sentence: N token weights. */
  attention: number[][];
  /** Per shown sentence, the map drawn on the grid (row-major [h, w]). */
  maps: number[][];
  grid: [number, number];
  localLayout: 'faithful' | 'spatial';
  /** The colour scale [lo, hi]. */
  scale: [number, number];
}

/**
 * Grid maps from token weights: the identity for 'spatial'; for 'faithful' each position's mean
 * over the C channel elements at it of the weight of the token holding the element (see the file comment).
 */
export function tokenWeightsToGrid(weights: readonly number[], grid: [number, number], layout: 'faithful' | 'spatial', channels: number): number[] {
  const positions = grid[0] * grid[1];
  if (weights.length !== positions) throw new RangeError(`tokenWeightsToGrid: ${weights.length} token weights for a ${grid[0]}x${grid[1]} grid`);
  if (layout === 'spatial') return [...weights];
  const sums = new Float64Array(positions);
  // Element e = c·positions + p sits in token floor(e / channels).
  for (let e = 0; e < channels * positions; e++) sums[e % positions]! += weights[Math.floor(e / channels)]!;
  return Array.from(sums, (s) => s / channels);
}

/** The radiograph as the model sees it (stretched to a square), 8-bit gray, side `size`. */
async function squareGray(path: string, size: number): Promise<Uint8Array> {
  const img = await readImage(path);
  const eight = img.bits === 8 ? (img.data as Uint8Array) : Uint8Array.from(img.data as Uint16Array, (v) => v >> 8);
  const { data } = await sharp(Buffer.from(eight.buffer, eight.byteOffset, eight.byteLength), { raw: { width: img.width, height: img.height, channels: 1 } })
    .resize(size, size, { fit: 'fill', kernel: 'lanczos3' })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (data.length !== size * size) throw new Error(`explainAlignment: resizing ${path} gave ${data.length} bytes, expected ${size}x${size}`);
  return new Uint8Array(data.buffer, data.byteOffset, size * size);
}

/** Gray image blended with the colour-mapped grid (nearest: one block per grid cell), as RGB. */
function blend(gray: Uint8Array, size: number, map: readonly number[], grid: [number, number], [lo, hi]: [number, number], alpha: number): Uint8Array {
  const [h, w] = grid;
  const colours = map.map((v) => viridis((v - lo) / (hi - lo)));
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const gy = Math.min(h - 1, Math.floor((y * h) / size));
    for (let x = 0; x < size; x++) {
      const c = colours[gy * w + Math.min(w - 1, Math.floor((x * w) / size))]!;
      const g = gray[y * size + x]!;
      for (let k = 0; k < 3; k++) out[(y * size + x) * 3 + k] = Math.round((1 - alpha) * g + alpha * c[k]!);
    }
  }
  return out;
}

const MARGIN = 16;
const GAP = 16;
const CAPTION_FONT = 12;
const CAPTION_LINE = 15;
const STRIP = 14;

/** Reads `reportText` as a file when it names one, else takes it as the report itself. */
export function reportFromArgument(textOrFile: string): string {
  try {
    return readFileSync(textOrFile, 'utf8');
  } catch {
    return textOrFile;
  }
}

/** The alignment figure for one image and report (see the file comment). */
export async function explainAlignment(model: Prior, imagePath: string, reportText: string, opts: ExplainOptions = {}): Promise<ExplainResult> {
  const sentences = splitSentences(reportText);
  if (sentences.length === 0) throw new RangeError(`explainAlignment: the report has no sentences: '${reportText.slice(0, 80)}'`);
  const variant = opts.variant ?? 'faithful';
  const size = model.config.imageSize;
  const layout = model.config.localLayout;
  const gridSide = size / 32;
  const grid: [number, number] = [gridSide, gridSide];
  const channels = model.imageEncoder.localWidth();
  const norm = opts.normalization ?? ZERO_SHOT_NORMALIZATION;
  const plane = transformImage(await readImage(imagePath), { size: [size, size], mean: norm.mean, std: norm.std, augment: false }, new Rng(0));
  model.eval();

  const { attention, shown } = await withTorchSeed(opts.seed ?? 0, async () =>
    torch.scope(() =>
      torch.noGrad(() => {
        const x = torch.tensor(plane).reshape(1, 1, size, size).to(model.logitScale.device as DeviceLike);
        const image = model.encodeImage(x);
        const tok = tokeniseReports(model, [sentences], opts);
        const r = embedReports(model, tok, variant);
        const rows = opts.sentences === 'sentences' ? r.sentences : r.prototypes;
        const att = model.localCrossAttention.call(image.local, rows, r.mask).sentenceAttention.select(0, 0); // [T, N]
        const present = new Set(Array.from(tok.sentenceIndex.to('cpu').toArray() as BigInt64Array, Number).filter((i) => i >= 1));
        const ids = [...present].sort((a, b) => a - b);
        const n = att.size(1);
        const flat = att.to('cpu').toArray() as Float32Array;
        return { attention: ids.map((_, t) => Array.from(flat.subarray(t * n, (t + 1) * n))), shown: ids.map((id) => id - 1) };
      }),
    ),
  );

  const maps = attention.map((a) => tokenWeightsToGrid(a, grid, layout, channels));
  let lo = Math.min(...attention.flat());
  let hi = Math.max(...attention.flat());
  if (!(hi - lo > 1e-9)) [lo, hi] = [lo - 1e-3, hi + 1e-3];

  const panelSize = opts.panelSize ?? 256;
  const columns = Math.max(1, Math.min(opts.columns ?? 3, shown.length));
  const rows = Math.ceil(shown.length / columns);
  const width = 2 * MARGIN + columns * panelSize + (columns - 1) * GAP;
  const notes = [
    `Sentence-to-image attention A1 (local cross-attention, sigmoid weights of each sentence over the ${grid[0] * grid[1]} local image tokens); ${opts.sentences === 'sentences' ? 'raw sentence embeddings' : `SPB prototypes (${variant})`}.`,
    layout === 'spatial'
      ? `Local layout 'spatial': token t is feature-grid cell t (${grid[0]}x${grid[1]}), drawn as blocks over the image.`
      : `Local layout 'faithful' (B1): tokens are NOT places. Token t is a group of ~${Number((channels / (grid[0] * grid[1])).toFixed(1))} of ${channels} channels at ALL ${grid[0]}x${grid[1]} positions. The map is each position's mean weight over its ${channels} feature elements (near flat by construction); the strip under each image shows the ${grid[0] * grid[1]} token weights.`,
  ];
  const noteLines = wrapText(notes.join(' '), charsFitting(width - 2 * MARGIN, 11));
  const captions = shown.map((i) => wrapText(`${i + 1}. ${sentences[i]!}`, charsFitting(panelSize, CAPTION_FONT)));
  const captionHeight = Math.max(...captions.map((c) => c.length)) * CAPTION_LINE + 8;
  const strip = layout === 'faithful' ? STRIP + 6 : 0;
  const headerHeight = 30 + noteLines.length * 14 + 50;
  const cellHeight = panelSize + strip + captionHeight;
  const height = headerHeight + rows * cellHeight + (rows - 1) * GAP + MARGIN;

  const gray = await squareGray(imagePath, panelSize);
  const parts: string[] = [textLines(['Report-image alignment'], MARGIN, 22, { size: 15, weight: 'bold' }), textLines(noteLines, MARGIN, 42, { size: 11, lineHeight: 14, color: '#333' })];
  const barWidth = Math.min(320, width - 2 * MARGIN);
  parts.push(colorBar(MARGIN, 42 + noteLines.length * 14, barWidth, lo, hi, 'A1 weight'));
  const panels: { x: number; y: number }[] = [];
  const alpha = opts.alpha ?? 0.45;
  for (let k = 0; k < shown.length; k++) {
    const x = MARGIN + (k % columns) * (panelSize + GAP);
    const y = headerHeight + Math.floor(k / columns) * (cellHeight + GAP);
    panels.push({ x, y });
    parts.push(await rasterImage(blend(gray, panelSize, maps[k]!, grid, [lo, hi], alpha), panelSize, panelSize, x, y));
    if (layout === 'faithful') {
      const n = attention[k]!.length;
      const cw = panelSize / n;
      attention[k]!.forEach((v, t) => parts.push(`<rect x="${(x + t * cw).toFixed(2)}" y="${y + panelSize + 4}" width="${cw.toFixed(2)}" height="${STRIP}" fill="${rgb(viridis((v - lo) / (hi - lo)))}"/>`));
      parts.push(`<rect x="${x}" y="${y + panelSize + 4}" width="${panelSize}" height="${STRIP}" fill="none" stroke="#444" stroke-width="0.5"/>`);
    }
    parts.push(textLines(captions[k]!, x, y + panelSize + strip + CAPTION_LINE, { size: CAPTION_FONT, lineHeight: CAPTION_LINE }));
  }
  const omitted = sentences.length - shown.length;
  if (omitted > 0) parts.push(`<text x="${width - MARGIN}" y="22" font-family="${FONT}" font-size="11" fill="#a00" text-anchor="end">${omitted} sentence(s) beyond the ${model.config.textMaxLength}-token text length not shown</text>`);
  const png = await svgToPng(svgDocument(width, height, parts.join('')));
  return {
    png,
    layout: { width, height, columns, rows, panelSize, panels },
    sentences,
    shown,
    attention,
    maps,
    grid,
    localLayout: layout,
    scale: [lo, hi],
  };
}
