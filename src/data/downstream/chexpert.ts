// CheXpert (Irvin et al. 2019): train.csv / valid.csv with the columns
//   Path, Sex, Age, Frontal/Lateral, AP/PA, No Finding, Enlarged Cardiomediastinum, Cardiomegaly,
//   Lung Opacity, Lung Lesion, Edema, Consolidation, Pneumonia, Atelectasis, Pneumothorax,
//   Pleural Effusion, Pleural Other, Fracture, Support Devices
// Labels are 1.0 (positive), 0.0 (negative), -1.0 (uncertain) or blank (not mentioned: negative).
// Uncertain labels follow a policy (Irvin et al.): U-Ones maps them to 1, U-Zeros to 0.
// `Path` is relative to the folder holding `CheXpert-v1.0(-small)/`, i.e. the CSV's grandparent.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { parseCsvRecords } from '../csv.js';
import { type ClassificationData, DownstreamFormatError, csvRows } from './types.js';

export const CHEXPERT_LABELS = [
  'No Finding',
  'Enlarged Cardiomediastinum',
  'Cardiomegaly',
  'Lung Opacity',
  'Lung Lesion',
  'Edema',
  'Consolidation',
  'Pneumonia',
  'Atelectasis',
  'Pneumothorax',
  'Pleural Effusion',
  'Pleural Other',
  'Fracture',
  'Support Devices',
] as const;
export type ChexpertLabel = (typeof CHEXPERT_LABELS)[number];

/** The five competition tasks (the MGCA / PRIOR CheXpert classification classes). */
export const CHEXPERT_COMPETITION: readonly ChexpertLabel[] = ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion'];

export const CHEXPERT_COLUMNS = ['Path', 'Sex', 'Age', 'Frontal/Lateral', 'AP/PA', ...CHEXPERT_LABELS] as const;

const LabelValue = z.enum(['', '1.0', '0.0', '-1.0', '1', '0', '-1']);
const ChexpertRow = z.object({ Path: z.string().min(1), 'Frontal/Lateral': z.enum(['Frontal', 'Lateral']) });

export interface ChexpertOptions {
  /** Folder `Path` is relative to (default: the CSV's grandparent). */
  root?: string;
  classes?: readonly ChexpertLabel[];
  /** U-Ones ('ones') or U-Zeros ('zeros'). */
  uncertain: 'ones' | 'zeros';
  /** Keep frontal views only (default true). */
  frontalOnly?: boolean;
}

export function parseChexpertCsv(text: string, source: string, { root = dirname(dirname(resolve(source))), classes = CHEXPERT_COMPETITION, uncertain, frontalOnly = true }: ChexpertOptions): ClassificationData {
  const unknown = classes.filter((c) => !(CHEXPERT_LABELS as readonly string[]).includes(c));
  if (unknown.length > 0) throw new DownstreamFormatError(`${source}: unknown CheXpert class ${unknown.join(', ')} (known: ${CHEXPERT_LABELS.join(', ')})`);
  const rows = csvRows(text, source, ['Path', 'Frontal/Lateral', ...classes], parseCsvRecords);
  const samples = [];
  for (const [i, raw] of rows.entries()) {
    const parsed = ChexpertRow.safeParse(raw);
    if (!parsed.success) throw new DownstreamFormatError(`${source}: data row ${i + 1}: ${z.prettifyError(parsed.error)}`);
    const row = parsed.data;
    if (frontalOnly && row['Frontal/Lateral'] !== 'Frontal') continue;
    const target = classes.map((c) => {
      const value = LabelValue.safeParse(raw[c]);
      if (!value.success) throw new DownstreamFormatError(`${source}: data row ${i + 1}: '${c}' is '${raw[c]}', expected 1.0, 0.0, -1.0 or blank`);
      const v = value.data === '' ? 0 : Number(value.data);
      return v === -1 ? (uncertain === 'ones' ? 1 : 0) : v;
    });
    samples.push({ id: row.Path, image: resolve(root, row.Path), target });
  }
  return { samples, classes: [...classes], multiLabel: true };
}

export function readChexpertCsv(path: string, options: ChexpertOptions): ClassificationData {
  return parseChexpertCsv(readFileSync(path, 'utf8'), path, options);
}
