// What the downstream readers give the fine-tuning tasks: image paths with a target each.
// Boxes are [x, y, width, height] in pixels of the image as stored (COCO's layout).
import type { Box } from '../../eval/metrics/detection.js';

export interface ClassificationSample {
  id: string;
  image: string;
  /** One-hot (single-label) or multi-hot over the classes. */
  target: number[];
}

export interface ClassificationData {
  samples: ClassificationSample[];
  classes: string[];
  /** Sigmoid per class (true) or softmax over the classes (false). */
  multiLabel: boolean;
}

/** Where a sample's mask comes from; all are rendered at the stored image's size (masks.ts). */
export type MaskSource =
  | { kind: 'file'; path: string }
  | { kind: 'rle'; rle: string[]; width: number; height: number; variant: RleVariant }
  | { kind: 'boxes'; boxes: Box[] };

/** SIIM-ACR's two run-length encodings (siim.ts). */
export type RleVariant = 'relative' | 'absolute';

export interface SegmentationSample {
  id: string;
  image: string;
  mask: MaskSource;
}

export interface DetectionSample {
  id: string;
  image: string;
  /** xywh in stored-image pixels. */
  boxes: Box[];
  labels: number[];
  /** The stored image's size, when the annotations give it (COCO). */
  width?: number;
  height?: number;
}

export interface DetectionData {
  samples: DetectionSample[];
  classes: string[];
}

export class DownstreamFormatError extends Error {
  override name = 'DownstreamFormatError';
}

/** A CSV's rows with the header names trimmed (SIIM's header is "ImageId, EncodedPixels"), and a check that `columns` are there. */
export function csvRows(text: string, source: string, columns: readonly string[], parse: (text: string, source: string) => { header: string[]; rows: Record<string, string>[] }): Record<string, string>[] {
  const { header, rows } = parse(text, source);
  const trimmed = header.map((h) => h.trim());
  const missing = columns.filter((c) => !trimmed.includes(c));
  if (missing.length > 0) throw new DownstreamFormatError(`${source}: no column ${missing.map((c) => `'${c}'`).join(', ')} (columns: ${trimmed.join(', ')})`);
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [trimmed[i]!, r[h] ?? ''])));
}
