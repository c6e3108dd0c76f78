// Detection with the YOLOv3-style head: boxes are scaled to the (square) model input, the metric
// is COCO-style AP per class averaged over IoU 0.40:0.05:0.75 (the RSNA protocol) and over the
// classes with ground truth. Baseline: the per-class mean box (the mean of the training boxes of
// each class, in input coordinates), predicted once per image and class with score 1.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GrayImage } from '../data/gray-image.js';
import type { DetectionSample } from '../data/downstream/types.js';
import { type Box, type ImageDetections, RSNA_IOU_THRESHOLDS, meanAveragePrecision } from '../eval/metrics/detection.js';
import { type Anchor, type DetectionTarget, type Detections, YoloDetector, kmeansAnchors } from '../models/downstream/detector.js';
import type { ResNet } from '../models/resnet/index.js';
import type { Tensor } from '../torch/index.js';
import type { LoadedItem } from './data.js';
import { PREDICTION_COLOR, TRUTH_COLOR, overlayPng } from './overlay.js';
import type { FinetuneTask, TaskMetrics } from './task.js';

/** YOLOv3's anchors of its coarsest scale at 416 px, for when box sizes are unknown before reading images. */
export const YOLOV3_ANCHORS_416: readonly Anchor[] = [
  [116, 90],
  [156, 198],
  [373, 326],
];

/**
 * Anchors for boxes given as shares of their images' sides ([w/W, h/H]): k-means (k = 3) at
 * input `size`, or YOLOv3's scaled when there are no boxes.
 */
export function relativeBoxShapes(samples: readonly DetectionSample[]): Anchor[] {
  return samples.flatMap((s) => (s.width !== undefined && s.height !== undefined ? s.boxes.map(([, , w, h]) => [w / s.width!, h / s.height!] as const) : []));
}

export function anchorsFor(relativeShapes: readonly Anchor[], size: number, k = 3): Anchor[] {
  if (relativeShapes.length === 0) return YOLOV3_ANCHORS_416.map(([w, h]) => [(w * size) / 416, (h * size) / 416] as const);
  return kmeansAnchors(
    relativeShapes.map(([w, h]) => [w * size, h * size] as const),
    k,
  );
}

export class DetectTask implements FinetuneTask<DetectionSample, DetectionTarget, Detections> {
  readonly name = 'detect' as const;
  readonly model: YoloDetector;
  readonly scoreName = 'ap';

  constructor(
    encoder: ResNet,
    readonly classes: readonly string[],
    readonly size: number,
    anchors: readonly Anchor[],
    readonly figureCases = 4,
  ) {
    this.model = new YoloDetector(encoder, { numClasses: classes.length, anchors });
  }

  targetOf(sample: DetectionSample, image: GrayImage): DetectionTarget {
    const sx = this.size / image.width;
    const sy = this.size / image.height;
    sample.labels.forEach((l, i) => {
      if (!Number.isInteger(l) || l < 0 || l >= this.classes.length) throw new RangeError(`${sample.id}: box ${i} has label ${l}, not a class index of ${this.classes.length}`);
    });
    return { boxes: sample.boxes.map(([x, y, w, h]) => [x * sx, y * sy, (x + w) * sx, (y + h) * sy] as Box), labels: [...sample.labels] };
  }

  loss(pred: Tensor, items: readonly LoadedItem<DetectionTarget>[]): { loss: Tensor; terms: Record<string, Tensor> } {
    return this.model.loss(
      pred,
      items.map((i) => i.target),
    );
  }

  predict(pred: Tensor): Detections[] {
    return this.model.decode(pred);
  }

  private ap(dets: readonly ImageDetections[], items: readonly LoadedItem<DetectionTarget>[]): { mean: number; perClass: number[]; at: number[] } {
    const r = meanAveragePrecision(
      dets,
      items.map((i) => i.target),
      this.classes.length,
      RSNA_IOU_THRESHOLDS,
      { format: 'xyxy' },
    );
    return { mean: r.mean, perClass: r.perClass, at: r.perThreshold.map((t) => t.mean) };
  }

  metrics(preds: readonly Detections[], items: readonly LoadedItem<DetectionTarget>[]): TaskMetrics {
    const r = this.ap(preds, items);
    const values: Record<string, number> = { ap: r.mean, ap40: r.at[0]!, ap75: r.at.at(-1)! };
    this.classes.forEach((c, k) => (values[`ap/${c}`] = r.perClass[k]!));
    return { score: r.mean, values };
  }

  baselines(train: readonly LoadedItem<DetectionTarget>[], items: readonly LoadedItem<DetectionTarget>[]): Record<string, number> {
    const sums = this.classes.map(() => [0, 0, 0, 0, 0]);
    for (const it of train) {
      it.target.boxes.forEach((b, j) => {
        const s = sums[it.target.labels[j]!]!;
        for (let q = 0; q < 4; q++) s[q]! += b[q]!;
        s[4]! += 1;
      });
    }
    const meanBoxes = sums.flatMap((s, k) => (s[4]! > 0 ? [{ box: [s[0]! / s[4]!, s[1]! / s[4]!, s[2]! / s[4]!, s[3]! / s[4]!] as Box, label: k }] : []));
    const dets = items.map(() => ({ boxes: meanBoxes.map((m) => m.box), scores: meanBoxes.map(() => 1), labels: meanBoxes.map((m) => m.label) }));
    return { ap_mean_box: this.ap(dets, items).mean };
  }

  async figures(runDir: string, split: string, preds: readonly Detections[], items: readonly LoadedItem<DetectionTarget>[]): Promise<string[]> {
    const k = Math.min(this.figureCases, items.length);
    if (k === 0) return [];
    const cases = items.slice(0, k).map((it, i) => {
      // The best prediction of each class, beside every ground-truth box.
      const p = preds[i]!;
      const best = this.classes.flatMap((_, c) => {
        const j = p.labels.indexOf(c);
        return j >= 0 ? [{ box: p.boxes[j]!, color: PREDICTION_COLOR }] : [];
      });
      return { pixels: it.pixels, boxes: [...it.target.boxes.map((box) => ({ box, color: TRUTH_COLOR })), ...best] };
    });
    const file = join(runDir, `predictions-${split}.png`);
    writeFileSync(file, await overlayPng(cases, this.size));
    return [file];
  }
}
