// RSNA Pneumonia Detection (Kaggle 2018): stage_2_train_labels.csv with the columns
//   patientId,x,y,width,height,Target
// one row per box (Target 1) or one row with empty box fields (Target 0); images are
// `<root>/<patientId>.dcm` (stage_2_train_images). Read as classification (one sigmoid class,
// 'Pneumonia' = Target), detection (the boxes) or segmentation (the boxes rendered as masks, as
// MGCA does).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import type { Box } from '../../eval/metrics/detection.js';
import { parseCsvRecords } from '../csv.js';
import { type ClassificationData, type DetectionData, DownstreamFormatError, type SegmentationSample, csvRows } from './types.js';

export const RSNA_COLUMNS = ['patientId', 'x', 'y', 'width', 'height', 'Target'] as const;
export const RSNA_CLASSES = ['Pneumonia'] as const;

const num = z.string().regex(/^-?\d+(\.\d+)?$/).transform(Number);
const RsnaRow = z.union([
  z.object({ patientId: z.string().min(1), x: num, y: num, width: num, height: num, Target: z.literal('1') }),
  z.object({ patientId: z.string().min(1), x: z.literal(''), y: z.literal(''), width: z.literal(''), height: z.literal(''), Target: z.literal('0') }),
]);

export interface RsnaPatient {
  patientId: string;
  image: string;
  boxes: Box[];
}

export interface RsnaOptions {
  /** Folder of `<patientId>.dcm` (default: `stage_2_train_images` beside the CSV). */
  imageDir?: string;
}

/** One entry per patient, in first-appearance order, with its boxes (xywh). */
export function parseRsnaLabels(text: string, source: string, { imageDir = join(dirname(resolve(source)), 'stage_2_train_images') }: RsnaOptions = {}): RsnaPatient[] {
  const rows = csvRows(text, source, RSNA_COLUMNS, parseCsvRecords);
  const byId = new Map<string, RsnaPatient>();
  rows.forEach((raw, i) => {
    const parsed = RsnaRow.safeParse(raw);
    if (!parsed.success) throw new DownstreamFormatError(`${source}: data row ${i + 1}: expected a box with Target 1 or empty box fields with Target 0, got ${JSON.stringify(raw)}`);
    const row = parsed.data;
    let p = byId.get(row.patientId);
    if (p === undefined) byId.set(row.patientId, (p = { patientId: row.patientId, image: join(imageDir, `${row.patientId}.dcm`), boxes: [] }));
    if (row.Target === '1') {
      if (!(row.width > 0 && row.height > 0)) throw new DownstreamFormatError(`${source}: data row ${i + 1}: box of ${row.patientId} has no area`);
      p.boxes.push([row.x, row.y, row.width, row.height]);
    }
  });
  return [...byId.values()];
}

export function rsnaClassification(patients: readonly RsnaPatient[]): ClassificationData {
  return { samples: patients.map((p) => ({ id: p.patientId, image: p.image, target: [p.boxes.length > 0 ? 1 : 0] })), classes: [...RSNA_CLASSES], multiLabel: true };
}

export function rsnaDetection(patients: readonly RsnaPatient[]): DetectionData {
  return { samples: patients.map((p) => ({ id: p.patientId, image: p.image, boxes: [...p.boxes], labels: p.boxes.map(() => 0) })), classes: [...RSNA_CLASSES] };
}

export function rsnaSegmentation(patients: readonly RsnaPatient[]): SegmentationSample[] {
  return patients.map((p) => ({ id: p.patientId, image: p.image, mask: { kind: 'boxes', boxes: [...p.boxes] } }));
}

export function readRsnaLabels(path: string, options: RsnaOptions = {}): RsnaPatient[] {
  return parseRsnaLabels(readFileSync(path, 'utf8'), path, options);
}
