// The project's dataset file (src/data/dataset-file.ts) with labels, as classification data: one
// sample per image of each labelled record, classes from classes.json (or the labels found).
// Single-label (softmax) when every record has exactly one label, multi-label otherwise.
import { readDatasetFile, type ReadDatasetOptions } from '../dataset-file.js';
import { type ClassificationData, DownstreamFormatError } from './types.js';

export function readLabelledDataset(path: string, options: ReadDatasetOptions & { classes?: readonly string[]; multiLabel?: boolean } = {}): ClassificationData {
  const file = readDatasetFile(path, { strict: true, ...options });
  const labelled = file.records.filter((r) => (r.labels?.length ?? 0) > 0 || (r.label !== undefined && r.label.some((v) => v !== 0)));
  const names = options.classes ? [...options.classes] : file.classes ? file.classes.map((c) => c.name) : [...new Set(labelled.flatMap((r) => r.labels ?? []))].sort();
  if (names.length === 0) throw new DownstreamFormatError(`${path}: no labelled records and no classes`);
  const index = new Map(names.map((n, i) => [n, i]));
  const samples = labelled.flatMap((r) => {
    let target: number[];
    if (r.labels !== undefined) {
      target = names.map(() => 0);
      for (const l of r.labels) {
        const c = index.get(l);
        if (c === undefined) throw new DownstreamFormatError(`${path}: record '${r.key}' has label '${l}', not one of ${names.join(', ')}`);
        target[c] = 1;
      }
    } else {
      if (r.label!.length !== names.length) throw new DownstreamFormatError(`${path}: record '${r.key}' has ${r.label!.length} label values for ${names.length} classes`);
      target = r.label!.map((v) => (v !== 0 ? 1 : 0));
    }
    return r.imagePaths.map((image, k) => ({ id: r.imagePaths.length > 1 ? `${r.key}#${k}` : r.key, image, target }));
  });
  const multiLabel = options.multiLabel ?? samples.some((s) => s.target.reduce((a, b) => a + b, 0) !== 1);
  return { samples, classes: names, multiLabel };
}
