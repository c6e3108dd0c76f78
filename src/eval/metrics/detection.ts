// Box detection metrics: IoU, greedy non-maximum suppression (torchvision.ops.nms) and COCO-style
// average precision as pycocotools computes it (greedy matching in score order, 101-point
// interpolated precision), per class, at one IoU threshold or averaged over several (the RSNA
// pneumonia protocol MGCA reports: 0.40, 0.45, ..., 0.75).

/** [x1, y1, x2, y2] for 'xyxy'; [x, y, width, height] for 'xywh' (COCO's layout). */
export type Box = readonly [number, number, number, number];
export type BoxFormat = 'xyxy' | 'xywh';

function toXyxy(b: Box, format: BoxFormat): Box {
  return format === 'xyxy' ? b : [b[0], b[1], b[0] + b[2], b[1] + b[3]];
}

function toXywh(b: Box, format: BoxFormat): Box {
  return format === 'xywh' ? b : [b[0], b[1], b[2] - b[0], b[3] - b[1]];
}

/** torchvision's box_iou arithmetic on xyxy boxes; 0 when the union is empty. */
function iouXyxy(a: Box, b: Box): number {
  const areaA = (a[2] - a[0]) * (a[3] - a[1]);
  const areaB = (b[2] - b[0]) * (b[3] - b[1]);
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  const union = areaA + areaB - inter;
  return union > 0 ? inter / union : 0;
}

/** pycocotools' bbIou arithmetic on xywh boxes (maskApi.c), so threshold ties decide as there. */
function iouXywh(d: Box, g: Box): number {
  const w = Math.min(d[2] + d[0], g[2] + g[0]) - Math.max(d[0], g[0]);
  if (w <= 0) return 0;
  const h = Math.min(d[3] + d[1], g[3] + g[1]) - Math.max(d[1], g[1]);
  if (h <= 0) return 0;
  const inter = w * h;
  return inter / (d[2] * d[3] + g[2] * g[3] - inter);
}

function checkBox(fn: string, what: string, b: Box, format: BoxFormat): void {
  if (b.length !== 4 || b.some((x) => !Number.isFinite(x))) throw new Error(`${fn}: ${what} is not 4 finite numbers: [${b.join(', ')}]`);
  const [w, h] = format === 'xyxy' ? [b[2] - b[0], b[3] - b[1]] : [b[2], b[3]];
  if (w < 0 || h < 0) throw new Error(`${fn}: ${what} [${b.join(', ')}] has negative size in ${format} format`);
}

/** Intersection over union of two boxes (0 when both are empty). */
export function boxIou(a: Box, b: Box, format: BoxFormat = 'xyxy'): number {
  checkBox('boxIou', 'a', a, format);
  checkBox('boxIou', 'b', b, format);
  return format === 'xyxy' ? iouXyxy(a, b) : iouXywh(a, b);
}

/**
 * Greedy NMS with torchvision's semantics: visit boxes by score, descending; keep a box unless a
 * kept box overlaps it with IoU > iouThreshold (strictly). Equal scores keep index order (the
 * sort is stable; torchvision's is unspecified for ties). Returns kept indices, best first.
 */
export function nms(boxes: readonly Box[], scores: ArrayLike<number>, iouThreshold: number, format: BoxFormat = 'xyxy'): number[] {
  if (boxes.length !== scores.length) throw new Error(`nms: ${boxes.length} boxes but ${scores.length} scores`);
  boxes.forEach((b, i) => checkBox('nms', `boxes[${i}]`, b, format));
  const xyxy = boxes.map((b) => toXyxy(b, format));
  const order = Array.from({ length: boxes.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const suppressed = new Uint8Array(boxes.length);
  const keep: number[] = [];
  for (let oi = 0; oi < order.length; oi++) {
    const i = order[oi]!;
    if (suppressed[i]) continue;
    keep.push(i);
    for (let oj = oi + 1; oj < order.length; oj++) {
      const j = order[oj]!;
      if (!suppressed[j] && iouXyxy(xyxy[i]!, xyxy[j]!) > iouThreshold) suppressed[j] = 1;
    }
  }
  return keep;
}

export interface ImageDetections {
  boxes: readonly Box[];
  scores: ArrayLike<number>;
  labels: ArrayLike<number>;
}

export interface ImageGroundTruth {
  boxes: readonly Box[];
  labels: ArrayLike<number>;
}

export interface ApOptions {
  /** Layout of every box given. COCO/pycocotools works in 'xywh' (default); 'xyxy' is converted. */
  format?: BoxFormat;
  /** Detections kept per image and class, by score (pycocotools' maxDets, 100). */
  maxDetections?: number;
}

export interface ApResult {
  /** AP per class; NaN for a class with no ground-truth box (pycocotools' -1). */
  perClass: number[];
  /** Mean over classes with ground truth (NaN if none has). */
  mean: number;
}

export interface MultiThresholdApResult extends ApResult {
  iouThresholds: number[];
  /** The result at each threshold, in iouThresholds order. */
  perThreshold: ApResult[];
}

/** 0.40, 0.45, ..., 0.75: the RSNA pneumonia protocol. */
export const RSNA_IOU_THRESHOLDS: readonly number[] = Array.from({ length: 8 }, (_, i) => (40 + 5 * i) / 100);

// pycocotools: np.linspace(0, 1, 101), i.e. i * 0.01 with the last point exactly 1.
const RECALL_THRESHOLDS = Float64Array.from({ length: 101 }, (_, i) => (i === 100 ? 1 : i * 0.01));

interface Prepared {
  /** Per image: this class's detections (xywh, score-sorted, truncated) and ground truth (xywh). */
  dets: { box: Box; score: number }[];
  gts: Box[];
}

function prepare(detections: readonly ImageDetections[], groundTruth: readonly ImageGroundTruth[], nClasses: number, options: ApOptions): Prepared[][] {
  const fn = 'averagePrecision';
  if (detections.length !== groundTruth.length) throw new Error(`${fn}: detections for ${detections.length} images but ground truth for ${groundTruth.length}`);
  const format = options.format ?? 'xywh';
  const maxDet = options.maxDetections ?? 100;
  const byClass: Prepared[][] = Array.from({ length: nClasses }, () => detections.map(() => ({ dets: [], gts: [] })));
  const checkLabel = (what: string, c: number): void => {
    if (!Number.isInteger(c) || c < 0 || c >= nClasses) throw new Error(`${fn}: ${what} = ${c} is not a class index in [0, ${nClasses})`);
  };
  detections.forEach((d, img) => {
    if (d.boxes.length !== d.scores.length || d.boxes.length !== d.labels.length) {
      throw new Error(`${fn}: image ${img} has ${d.boxes.length} boxes, ${d.scores.length} scores and ${d.labels.length} labels`);
    }
    d.boxes.forEach((b, k) => {
      checkBox(fn, `detection ${k} of image ${img}`, b, format);
      checkLabel(`label of detection ${k} of image ${img}`, d.labels[k]!);
      if (Number.isNaN(d.scores[k]!)) throw new Error(`${fn}: score of detection ${k} of image ${img} is NaN`);
      byClass[d.labels[k]!]![img]!.dets.push({ box: toXywh(b, format), score: d.scores[k]! });
    });
  });
  groundTruth.forEach((g, img) => {
    if (g.boxes.length !== g.labels.length) throw new Error(`${fn}: image ${img} has ${g.boxes.length} ground-truth boxes and ${g.labels.length} labels`);
    g.boxes.forEach((b, k) => {
      checkBox(fn, `ground-truth box ${k} of image ${img}`, b, format);
      checkLabel(`label of ground-truth box ${k} of image ${img}`, g.labels[k]!);
      byClass[g.labels[k]!]![img]!.gts.push(toXywh(b, format));
    });
  });
  for (const images of byClass) {
    for (const p of images) {
      // Stable sort: equal scores keep their input order, as pycocotools' mergesort does.
      p.dets.sort((a, b) => b.score - a.score);
      p.dets.length = Math.min(p.dets.length, maxDet);
    }
  }
  return byClass;
}

/** pycocotools evaluateImg + accumulate for one class at one IoU threshold. */
function classAp(images: readonly Prepared[], iouThreshold: number): number {
  const scores: number[] = [];
  const matched: boolean[] = [];
  let nGt = 0;
  for (const { dets, gts } of images) {
    nGt += gts.length;
    const gtTaken = new Uint8Array(gts.length);
    for (const d of dets) {
      // Best still-free ground truth with IoU >= threshold; a later equal IoU wins, as there.
      let best = Math.min(iouThreshold, 1 - 1e-10);
      let m = -1;
      for (let g = 0; g < gts.length; g++) {
        if (gtTaken[g]) continue;
        const iou = iouXywh(d.box, gts[g]!);
        if (iou < best) continue;
        best = iou;
        m = g;
      }
      if (m >= 0) gtTaken[m] = 1;
      scores.push(d.score);
      matched.push(m >= 0);
    }
  }
  if (nGt === 0) return NaN;
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const nd = order.length;
  const recall = new Float64Array(nd);
  const precision = new Float64Array(nd);
  let tp = 0;
  let fp = 0;
  const eps = 2 ** -52; // np.spacing(1)
  for (let k = 0; k < nd; k++) {
    if (matched[order[k]!]) tp++;
    else fp++;
    recall[k] = tp / nGt;
    precision[k] = tp / (fp + tp + eps);
  }
  for (let k = nd - 1; k > 0; k--) if (precision[k]! > precision[k - 1]!) precision[k - 1] = precision[k]!;
  let sum = 0;
  let k = 0;
  for (const r of RECALL_THRESHOLDS) {
    while (k < nd && recall[k]! < r) k++; // searchsorted(recall, r, side='left')
    if (k >= nd) break; // unreachable recall: precision 0 from here on
    sum += precision[k]!;
  }
  return sum / RECALL_THRESHOLDS.length;
}

function meanDefined(xs: readonly number[]): number {
  const d = xs.filter((x) => !Number.isNaN(x));
  return d.length === 0 ? NaN : d.reduce((a, b) => a + b, 0) / d.length;
}

/** COCO-style AP per class at one IoU threshold (a detection matches at IoU >= threshold). */
export function averagePrecision(
  detections: readonly ImageDetections[],
  groundTruth: readonly ImageGroundTruth[],
  nClasses: number,
  iouThreshold: number,
  options: ApOptions = {},
): ApResult {
  const byClass = prepare(detections, groundTruth, nClasses, options);
  const perClass = byClass.map((images) => classAp(images, iouThreshold));
  return { perClass, mean: meanDefined(perClass) };
}

/** AP per class averaged over IoU thresholds (default RSNA's 0.40:0.05:0.75), and its class mean. */
export function meanAveragePrecision(
  detections: readonly ImageDetections[],
  groundTruth: readonly ImageGroundTruth[],
  nClasses: number,
  iouThresholds: readonly number[] = RSNA_IOU_THRESHOLDS,
  options: ApOptions = {},
): MultiThresholdApResult {
  if (iouThresholds.length === 0) throw new Error('meanAveragePrecision: no IoU thresholds');
  const byClass = prepare(detections, groundTruth, nClasses, options);
  const perThreshold = iouThresholds.map((t) => {
    const perClass = byClass.map((images) => classAp(images, t));
    return { perClass, mean: meanDefined(perClass) };
  });
  const perClass = byClass.map((_, c) => perThreshold.reduce((s, r) => s + r.perClass[c]!, 0) / perThreshold.length);
  return { iouThresholds: [...iouThresholds], perThreshold, perClass, mean: meanDefined(perClass) };
}
