// COCO detection JSON: images {id, file_name, width, height}, annotations {image_id,
// category_id, bbox [x, y, w, h]}, categories {id, name}. Class indices follow the categories
// sorted by id; `file_name` is relative to `imageDir` (default: the JSON's folder).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { Box } from '../../eval/metrics/detection.js';
import { type DetectionData, DownstreamFormatError } from './types.js';

const CocoJson = z.object({
  images: z.array(z.looseObject({ id: z.number().int(), file_name: z.string().min(1), width: z.number().positive().optional(), height: z.number().positive().optional() })),
  annotations: z.array(z.looseObject({ image_id: z.number().int(), category_id: z.number().int(), bbox: z.tuple([z.number(), z.number(), z.number().nonnegative(), z.number().nonnegative()]), iscrowd: z.number().int().optional() })),
  categories: z.array(z.looseObject({ id: z.number().int(), name: z.string().min(1) })).min(1),
});

export interface CocoDetectionData extends DetectionData {
  /** COCO image ids, in sample order. */
  imageIds: number[];
  /** COCO category ids, in class order. */
  categoryIds: number[];
}

export function parseCoco(json: unknown, source: string, { imageDir = dirname(resolve(source)) }: { imageDir?: string } = {}): CocoDetectionData {
  const parsed = CocoJson.safeParse(json);
  if (!parsed.success) throw new DownstreamFormatError(`${source}: not a COCO detection file: ${z.prettifyError(parsed.error)}`);
  const { images, annotations, categories } = parsed.data;
  const cats = [...categories].sort((a, b) => a.id - b.id);
  const classOf = new Map(cats.map((c, i) => [c.id, i]));
  const byImage = new Map(images.map((im) => [im.id, { boxes: [] as Box[], labels: [] as number[] }]));
  annotations.forEach((a, i) => {
    const entry = byImage.get(a.image_id);
    if (entry === undefined) throw new DownstreamFormatError(`${source}: annotations[${i}] refers to image ${a.image_id}, which is not in images`);
    const label = classOf.get(a.category_id);
    if (label === undefined) throw new DownstreamFormatError(`${source}: annotations[${i}] has category ${a.category_id}, which is not in categories`);
    if (a.iscrowd === 1) return;
    entry.boxes.push(a.bbox);
    entry.labels.push(label);
  });
  return {
    samples: images.map((im) => ({ id: String(im.id), image: resolve(imageDir, im.file_name), ...byImage.get(im.id)!, ...(im.width !== undefined && im.height !== undefined ? { width: im.width, height: im.height } : {}) })),
    classes: cats.map((c) => c.name),
    imageIds: images.map((im) => im.id),
    categoryIds: cats.map((c) => c.id),
  };
}

export function readCoco(path: string, options: { imageDir?: string } = {}): CocoDetectionData {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new DownstreamFormatError(`${path}: ${(e as Error).message}`);
  }
  return parseCoco(json, path, options);
}
