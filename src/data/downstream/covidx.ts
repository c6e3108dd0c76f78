// COVIDx (Wang et al., COVID-Net): split files train.txt / val.txt / test.txt with one
// space-separated line per image:
//   <patient id> <filename> <class> <data source>
// (COVIDx CXR-2/3: class positive|negative; COVIDx v5-8: normal|pneumonia|COVID-19). Images are
// `<root>/<filename>` (the split's folder: train/, test/). Single-label.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { type ClassificationData, DownstreamFormatError } from './types.js';

const CovidxLine = z.object({ patientId: z.string().min(1), filename: z.string().min(1), label: z.string().min(1), source: z.string().optional() });

export interface CovidxOptions {
  /** Image folder (default: the split file's folder). */
  imageDir?: string;
  /** Class order (default: the labels found, sorted). A label outside it is an error. */
  classes?: readonly string[];
}

export function parseCovidxSplit(text: string, source: string, { imageDir = dirname(resolve(source)), classes }: CovidxOptions = {}): ClassificationData {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  const rows = lines.map((line, i) => {
    const fields = line.split(/\s+/);
    if (fields.length < 3 || fields.length > 4) throw new DownstreamFormatError(`${source}: line ${i + 1}: expected 'patient_id filename class data_source', got ${fields.length} fields: '${line}'`);
    return CovidxLine.parse({ patientId: fields[0], filename: fields[1], label: fields[2], source: fields[3] });
  });
  const names = classes ? [...classes] : [...new Set(rows.map((r) => r.label))].sort();
  const index = new Map(names.map((n, i) => [n, i]));
  const samples = rows.map((r, i) => {
    const c = index.get(r.label);
    if (c === undefined) throw new DownstreamFormatError(`${source}: line ${i + 1}: class '${r.label}' is not one of ${names.join(', ')}`);
    return { id: r.filename, image: join(imageDir, r.filename), target: names.map((_, k) => (k === c ? 1 : 0)) };
  });
  return { samples, classes: names, multiLabel: false };
}

export function readCovidxSplit(path: string, options: CovidxOptions = {}): ClassificationData {
  return parseCovidxSplit(readFileSync(path, 'utf8'), path, options);
}
