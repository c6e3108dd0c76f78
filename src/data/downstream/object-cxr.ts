// Object-CXR (JF Healthcare, MIDL 2020 challenge): train.csv / dev.csv with the columns
//   image_name,annotation
// where annotation lists the foreign objects separated by ';', each "type x1 y1 x2 y2 ..." in
// pixels: type 0 a rectangle (two corners), 1 an ellipse (its bounding box's corners), 2 a
// polygon (its vertices). An empty annotation: no foreign object. Images: `<root>/<image_name>`.
// Read as detection with one class; each object becomes its bounding box.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Box } from '../../eval/metrics/detection.js';
import { parseCsvRecords } from '../csv.js';
import { type ClassificationData, type DetectionData, DownstreamFormatError, csvRows } from './types.js';

export const OBJECT_CXR_COLUMNS = ['image_name', 'annotation'] as const;
export const OBJECT_CXR_CLASSES = ['foreign_object'] as const;

/** The objects of one annotation string as xywh boxes. */
export function parseObjectCxrAnnotation(annotation: string, where = 'annotation'): Box[] {
  const text = annotation.trim();
  if (text === '') return [];
  return text
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((obj, k) => {
      const v = obj.split(/\s+/).map(Number);
      const type = v[0];
      const coords = v.slice(1);
      if (v.some((x) => !Number.isFinite(x))) throw new DownstreamFormatError(`${where}: object ${k + 1} '${obj}' has a non-numeric field`);
      if ((type === 0 || type === 1) && coords.length !== 4) throw new DownstreamFormatError(`${where}: object ${k + 1} '${obj}': type ${type} needs x1 y1 x2 y2`);
      if (type === 2 && (coords.length < 6 || coords.length % 2 !== 0)) throw new DownstreamFormatError(`${where}: object ${k + 1} '${obj}': a polygon needs at least three x y vertices`);
      if (type !== 0 && type !== 1 && type !== 2) throw new DownstreamFormatError(`${where}: object ${k + 1} '${obj}': type ${type} is not 0 (rectangle), 1 (ellipse) or 2 (polygon)`);
      const xs = coords.filter((_, i) => i % 2 === 0);
      const ys = coords.filter((_, i) => i % 2 === 1);
      const x1 = Math.min(...xs);
      const y1 = Math.min(...ys);
      return [x1, y1, Math.max(...xs) - x1, Math.max(...ys) - y1] as Box;
    });
}

export function parseObjectCxrCsv(text: string, source: string, { imageDir = dirname(resolve(source)) }: { imageDir?: string } = {}): DetectionData {
  const rows = csvRows(text, source, OBJECT_CXR_COLUMNS, parseCsvRecords);
  const samples = rows.map((r, i) => {
    if (r.image_name === '') throw new DownstreamFormatError(`${source}: data row ${i + 1}: empty image_name`);
    const boxes = parseObjectCxrAnnotation(r.annotation ?? '', `${source}: data row ${i + 1}`);
    return { id: r.image_name!, image: join(imageDir, r.image_name!), boxes, labels: boxes.map(() => 0) };
  });
  return { samples, classes: [...OBJECT_CXR_CLASSES] };
}

export function readObjectCxrCsv(path: string, options: { imageDir?: string } = {}): DetectionData {
  return parseObjectCxrCsv(readFileSync(path, 'utf8'), path, options);
}

/** Object present or not (the challenge's classification task). */
export function objectCxrClassification(data: DetectionData): ClassificationData {
  return { samples: data.samples.map((s) => ({ id: s.id, image: s.image, target: [s.boxes.length > 0 ? 1 : 0] })), classes: [...OBJECT_CXR_CLASSES], multiLabel: true };
}
