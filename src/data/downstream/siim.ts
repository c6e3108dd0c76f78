// SIIM-ACR Pneumothorax Segmentation (Kaggle 2019): train-rle.csv with the header
//   ImageId, EncodedPixels
// (the second name has a leading space in the file), one row per pneumothorax region of an
// image (several rows for several regions: their masks are unioned), " -1" (or "-1") for none.
// Images are DICOMs `<root>/<StudyUID>/<SeriesUID>/<ImageId>.dcm` (dicom-images-train/), 1024x1024.
//
// Run-length encodings, both over the pixels in column-major order (down each column, then the
// next column: the Kaggle files encode the transposed image, mask_functions.py's `rle2mask(...).T`):
// - 'relative' (stage 1 train-rle.csv, mask_functions.py): pairs (offset, length) where each
//   offset counts from the end of the previous run (the first from pixel 0).
// - 'absolute' (stage 2 stage_2_train.csv): pairs (start, length), start 1-based from pixel 1.
import { readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { parseCsvRecords } from '../csv.js';
import { type ClassificationData, DownstreamFormatError, type RleVariant, type SegmentationSample, csvRows } from './types.js';

export const SIIM_COLUMNS = ['ImageId', 'EncodedPixels'] as const;
export const SIIM_SIZE = 1024;
export const SIIM_CLASSES = ['Pneumothorax'] as const;

const SiimRow = z.object({ ImageId: z.string().min(1), EncodedPixels: z.string().regex(/^\s*(-1|\d+(\s+\d+)*)\s*$/, 'expected -1 or run-length pairs') });

/** A row-major [height, width] 0/1 mask from a SIIM run-length string (see the file comment). */
export function rleDecode(rle: string, width: number, height: number, variant: RleVariant): Uint8Array {
  const mask = new Uint8Array(width * height);
  const text = rle.trim();
  if (text === '-1' || text === '') return mask;
  const values = text.split(/\s+/).map(Number);
  if (values.length % 2 !== 0 || values.some((v) => !Number.isInteger(v) || v < 0)) throw new DownstreamFormatError(`rleDecode: expected pairs of non-negative integers, got ${values.length} values`);
  let position = 0;
  for (let k = 0; k < values.length; k += 2) {
    const start = variant === 'relative' ? position + values[k]! : values[k]! - 1;
    const length = values[k + 1]!;
    if (start < 0 || start + length > mask.length) throw new DownstreamFormatError(`rleDecode: run ${k / 2} [${start}, ${start + length}) leaves the ${width}x${height} image`);
    for (let p = start; p < start + length; p++) {
      // p counts down columns: column p / height, row p % height.
      mask[(p % height) * width + Math.floor(p / height)] = 1;
    }
    position = start + length;
  }
  return mask;
}

/** The inverse of rleDecode: "-1" for an empty mask. */
export function rleEncode(mask: ArrayLike<number>, width: number, height: number, variant: RleVariant): string {
  if (mask.length !== width * height) throw new DownstreamFormatError(`rleEncode: mask has ${mask.length} pixels, expected ${width}x${height}`);
  const out: number[] = [];
  let previousEnd = 0;
  let runStart = -1;
  const n = width * height;
  for (let p = 0; p <= n; p++) {
    const on = p < n && mask[(p % height) * width + Math.floor(p / height)] !== 0;
    if (on && runStart < 0) runStart = p;
    if (!on && runStart >= 0) {
      out.push(variant === 'relative' ? runStart - previousEnd : runStart + 1, p - runStart);
      previousEnd = p;
      runStart = -1;
    }
  }
  return out.length === 0 ? '-1' : out.join(' ');
}

export interface SiimOptions {
  /** Folder searched (recursively) for `<ImageId>.dcm` (default: dicom-images-train beside the CSV). */
  imageDir?: string;
  /** Default 'relative' (train-rle.csv); 'absolute' for stage_2_train.csv. */
  variant?: RleVariant;
}

export interface SiimImage {
  imageId: string;
  image: string;
  /** The image's run-length strings (none for no pneumothorax). */
  rle: string[];
}

/** Every `.dcm` under `dir`, by file stem. */
function indexDicoms(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.dcm')) out.set(basename(e.name, '.dcm'), p);
    }
  };
  walk(dir);
  return out;
}

export function parseSiimRle(text: string, source: string, imageDir: string): SiimImage[] {
  const rows = csvRows(text, source, SIIM_COLUMNS, parseCsvRecords);
  let files: Map<string, string> | null = null;
  const byId = new Map<string, SiimImage>();
  rows.forEach((raw, i) => {
    const parsed = SiimRow.safeParse(raw);
    if (!parsed.success) throw new DownstreamFormatError(`${source}: data row ${i + 1}: ${z.prettifyError(parsed.error)}`);
    const { ImageId, EncodedPixels } = parsed.data;
    let entry = byId.get(ImageId);
    if (entry === undefined) {
      files ??= indexDicoms(imageDir);
      const image = files.get(ImageId);
      if (image === undefined) throw new DownstreamFormatError(`${source}: data row ${i + 1}: no ${ImageId}.dcm under ${imageDir}`);
      byId.set(ImageId, (entry = { imageId: ImageId, image, rle: [] }));
    }
    if (EncodedPixels.trim() !== '-1') entry.rle.push(EncodedPixels.trim());
  });
  return [...byId.values()];
}

export function readSiimRle(path: string, { imageDir = join(dirname(resolve(path)), 'dicom-images-train') }: SiimOptions = {}): SiimImage[] {
  return parseSiimRle(readFileSync(path, 'utf8'), path, imageDir);
}

export function siimSegmentation(images: readonly SiimImage[], variant: RleVariant = 'relative'): SegmentationSample[] {
  return images.map((m) => ({ id: m.imageId, image: m.image, mask: { kind: 'rle', rle: [...m.rle], width: SIIM_SIZE, height: SIIM_SIZE, variant } }));
}

export function siimClassification(images: readonly SiimImage[]): ClassificationData {
  return { samples: images.map((m) => ({ id: m.imageId, image: m.image, target: [m.rle.length > 0 ? 1 : 0] })), classes: [...SIIM_CLASSES], multiLabel: true };
}
