// A one-stage, YOLOv3-style detector on a ResNet encoder (as MGCA's detection head, reduced to
// one output scale): layer4 is reduced by a 1x1 conv, upsampled x2 and fused with layer3 (the
// YOLOv3 route), two conv3x3-BN-LeakyReLU follow, and a 1x1 conv predicts, per cell of the
// stride-16 grid and per anchor, (tx, ty, tw, th, objectness, class logits).
//
// Box coding (YOLOv3): centre = (cell + sigmoid(t_xy)) · stride, size = anchor · exp(t_wh).
// Training targets: each ground-truth box goes to the cell holding its centre and to the anchor
// whose shape overlaps it best; other cells are negatives for objectness, except those whose
// predicted box already overlaps a ground truth by more than `ignoreIou` (YOLOv3's ignore).
import type { FactoryOptions } from '../../nn/index.js';
import { BatchNorm2d, Conv2d, Module, Sequential } from '../../nn/index.js';
import type { Box } from '../../eval/metrics/detection.js';
import { boxIou, nms } from '../../eval/metrics/detection.js';
import type { DeviceLike, Tensor } from '../../torch/index.js';
import * as torch from '../../torch/index.js';
import type { ResNet } from '../resnet/index.js';
import { EncoderModel } from './encoder-model.js';

/** [width, height] in input pixels. */
export type Anchor = readonly [number, number];

export interface DetectorOptions extends FactoryOptions {
  numClasses: number;
  /** Anchor shapes in input pixels (3 is YOLOv3's per-scale count). */
  anchors: readonly Anchor[];
  /** Neck width (default 128). */
  width?: number;
}

class LeakyRelu extends Module<[Tensor], Tensor> {
  forward(x: Tensor): Tensor {
    return torch.leakyRelu(x, 0.1);
  }
}

function convBnLeaky(inChannels: number, outChannels: number, kernel: number, factory: FactoryOptions): Sequential {
  return new Sequential(new Conv2d(inChannels, outChannels, kernel, { padding: (kernel - 1) / 2, bias: false, ...factory }), new BatchNorm2d(outChannels, factory), new LeakyRelu());
}

/** One image's ground truth for the detector: boxes in input pixels (xyxy) and class indices. */
export interface DetectionTarget {
  boxes: readonly Box[];
  labels: readonly number[];
}

export interface Detections {
  /** xyxy in input pixels. */
  boxes: Box[];
  scores: number[];
  labels: number[];
}

export interface DecodeOptions {
  /** Detections below this score are dropped before NMS (default 0.001). */
  scoreThreshold?: number;
  /** NMS IoU, per class (default 0.5). */
  nmsIou?: number;
  /** Detections kept per image after NMS (default 100). */
  maxDetections?: number;
}

export class YoloDetector extends EncoderModel<Tensor> {
  readonly reduce: Sequential;
  readonly fuse: Sequential;
  readonly pred: Conv2d;
  readonly numClasses: number;
  readonly anchors: readonly Anchor[];
  readonly stride = 16;
  /** Predicted boxes overlapping a ground truth above this are not objectness negatives. */
  ignoreIou = 0.5;

  constructor(encoder: ResNet, { numClasses, anchors, width = 128, ...factory }: DetectorOptions) {
    super(encoder);
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`YoloDetector: numClasses must be a positive integer, got ${numClasses}`);
    if (anchors.length === 0 || anchors.some(([w, h]) => !(w > 0 && h > 0))) throw new RangeError(`YoloDetector: need at least one anchor with positive sides, got ${JSON.stringify(anchors)}`);
    this.numClasses = numClasses;
    this.anchors = anchors.map(([w, h]) => [w, h] as const);
    const c4 = encoder.numFeatures;
    const c3 = c4 / 2;
    this.reduce = this.registerModule('reduce', convBnLeaky(c4, width, 1, factory));
    this.fuse = this.registerModule('fuse', new Sequential(convBnLeaky(width + c3, width, 3, factory), convBnLeaky(width, width, 3, factory)));
    this.pred = this.registerModule('pred', new Conv2d(width, anchors.length * (5 + numClasses), 1, factory));
    // YOLOv3 / RetinaNet prior: objectness starts near 0.01 so that early training is not swamped by negatives.
    torch.noGrad(() => {
      const bias = this.pred.bias!;
      const per = 5 + numClasses;
      const values = new Float32Array(bias.numel);
      for (let a = 0; a < anchors.length; a++) values[a * per + 4] = Math.log(0.01 / 0.99);
      bias.copy_(torch.tensor(values));
    });
  }

  /** Raw predictions [B, A, H, W, 5 + K] for images [B, C, H, W]. */
  forward(x: Tensor): Tensor {
    const f = this.encoder.forwardFeatures(x);
    let up = torch.interpolate(this.reduce.call(f.layer4), { scaleFactor: 2, mode: 'nearest' });
    if (up.size(2) !== f.layer3.size(2) || up.size(3) !== f.layer3.size(3)) up = torch.interpolate(up, { size: [f.layer3.size(2), f.layer3.size(3)], mode: 'nearest' });
    const out = this.pred.call(this.fuse.call(torch.cat([up, f.layer3], 1)));
    const [b, , h, w] = out.shape as [number, number, number, number];
    return out.reshape(b, this.anchors.length, 5 + this.numClasses, h, w).permute(0, 1, 3, 4, 2).contiguous();
  }

  /** Decoded boxes of every cell and anchor from raw predictions, per image: xyxy, objectness, class probabilities. */
  private decodeRaw(raw: Float32Array, shape: readonly number[], image: number, visit: (box: Box, obj: number, cls: Float64Array, a: number, i: number, j: number) => void): void {
    const [, A, H, W, P] = shape as [number, number, number, number, number];
    const sig = (v: number): number => 1 / (1 + Math.exp(-v));
    const cls = new Float64Array(this.numClasses);
    for (let a = 0; a < A; a++) {
      const [aw, ah] = this.anchors[a]!;
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const o = ((((image * A + a) * H + i) * W + j) * P) >>> 0;
          const cx = (j + sig(raw[o]!)) * this.stride;
          const cy = (i + sig(raw[o + 1]!)) * this.stride;
          const bw = aw * Math.exp(Math.min(raw[o + 2]!, 10));
          const bh = ah * Math.exp(Math.min(raw[o + 3]!, 10));
          for (let k = 0; k < this.numClasses; k++) cls[k] = sig(raw[o + 5 + k]!);
          visit([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], sig(raw[o + 4]!), cls, a, i, j);
        }
      }
    }
  }

  /** YOLOv3 loss for raw predictions [B, A, H, W, 5 + K]: BCE on centre offsets and classes, MSE on log sizes (positives), BCE objectness. */
  loss(pred: Tensor, targets: readonly DetectionTarget[]): { loss: Tensor; terms: Record<string, Tensor> } {
    const [B, A, H, W, P] = pred.shape as [number, number, number, number, number];
    if (targets.length !== B) throw new RangeError(`YoloDetector.loss: ${B} predictions but ${targets.length} targets`);
    const K = this.numClasses;
    const cells = B * A * H * W;
    const pos = new Float32Array(cells);
    const neg = new Float32Array(cells).fill(1);
    const txy = new Float32Array(cells * 2);
    const twh = new Float32Array(cells * 2);
    const tcls = new Float32Array(cells * K);
    const raw = torch.noGrad(() => pred.detach().to('cpu').toArray() as Float32Array);
    targets.forEach((t, b) => {
      // YOLOv3's ignore: cells whose current prediction already fits a ground truth are not negatives.
      if (t.boxes.length > 0) {
        this.decodeRaw(raw, pred.shape, b, (box, _obj, _cls, a, i, j) => {
          if (t.boxes.some((g) => boxIou(box, g) > this.ignoreIou)) neg[((b * A + a) * H + i) * W + j] = 0;
        });
      }
      t.boxes.forEach(([x1, y1, x2, y2], g) => {
        const w = x2 - x1;
        const h = y2 - y1;
        if (!(w > 0 && h > 0)) return;
        const cx = (x1 + x2) / 2 / this.stride;
        const cy = (y1 + y2) / 2 / this.stride;
        const j = Math.min(W - 1, Math.max(0, Math.floor(cx)));
        const i = Math.min(H - 1, Math.max(0, Math.floor(cy)));
        let best = 0;
        let bestIou = -1;
        this.anchors.forEach(([aw, ah], a) => {
          const inter = Math.min(aw, w) * Math.min(ah, h);
          const iou = inter / (aw * ah + w * h - inter);
          if (iou > bestIou) [best, bestIou] = [a, iou];
        });
        const cell = ((b * A + best) * H + i) * W + j;
        pos[cell] = 1;
        neg[cell] = 0;
        txy[cell * 2] = Math.min(1, Math.max(0, cx - j));
        txy[cell * 2 + 1] = Math.min(1, Math.max(0, cy - i));
        twh[cell * 2] = Math.log(w / this.anchors[best]![0]);
        twh[cell * 2 + 1] = Math.log(h / this.anchors[best]![1]);
        tcls[cell * K + t.labels[g]!] = 1;
      });
    });
    const nPos = Math.max(1, pos.reduce((s, v) => s + v, 0));
    const nNeg = Math.max(1, neg.reduce((s, v) => s + v, 0));
    const dev = pred.device as DeviceLike;
    const asTensor = (a: Float32Array, ...shape: number[]): Tensor => torch.tensor(a).reshape(...shape).to(dev);
    const posT = asTensor(pos, B, A, H, W, 1);
    const negT = asTensor(neg, B, A, H, W);
    const flat = pred.reshape(B, A, H, W, P);
    const xy = torch.binaryCrossEntropyWithLogits(flat.narrow(4, 0, 2), asTensor(txy, B, A, H, W, 2), { reduction: 'none' }).mul(posT).sum().div(nPos);
    const wh = flat.narrow(4, 2, 2).sub(asTensor(twh, B, A, H, W, 2)).pow(2).mul(posT).sum().div(nPos);
    const objLogits = flat.select(4, 4);
    const objPos = torch.binaryCrossEntropyWithLogits(objLogits, posT.squeeze(-1), { reduction: 'none' });
    const obj = objPos.mul(posT.squeeze(-1)).sum().div(nPos).add(objPos.mul(negT).sum().div(nNeg));
    const cls = torch.binaryCrossEntropyWithLogits(flat.narrow(4, 5, K), asTensor(tcls, B, A, H, W, K), { reduction: 'none' }).mul(posT).sum().div(nPos);
    const loss = xy.add(wh).add(obj).add(cls);
    return { loss, terms: { box_xy: xy, box_wh: wh, objectness: obj, class: cls } };
  }

  /** Boxes per image from raw predictions: score = objectness · class probability, per-class NMS. */
  decode(pred: Tensor, { scoreThreshold = 0.001, nmsIou = 0.5, maxDetections = 100 }: DecodeOptions = {}): Detections[] {
    const raw = torch.noGrad(() => pred.detach().to('cpu').toArray() as Float32Array);
    const B = pred.size(0);
    const out: Detections[] = [];
    for (let b = 0; b < B; b++) {
      const perClass: { boxes: Box[]; scores: number[] }[] = Array.from({ length: this.numClasses }, () => ({ boxes: [], scores: [] }));
      this.decodeRaw(raw, pred.shape, b, (box, obj, cls) => {
        for (let k = 0; k < this.numClasses; k++) {
          const s = obj * cls[k]!;
          if (s >= scoreThreshold) {
            perClass[k]!.boxes.push(box);
            perClass[k]!.scores.push(s);
          }
        }
      });
      const dets: { box: Box; score: number; label: number }[] = [];
      perClass.forEach(({ boxes, scores }, k) => {
        for (const i of nms(boxes, scores, nmsIou)) dets.push({ box: boxes[i]!, score: scores[i]!, label: k });
      });
      dets.sort((x, y) => y.score - x.score);
      dets.length = Math.min(dets.length, maxDetections);
      out.push({ boxes: dets.map((d) => d.box), scores: dets.map((d) => d.score), labels: dets.map((d) => d.label) });
    }
    return out;
  }
}

/**
 * k-means anchors over box shapes with YOLO's 1 − IoU distance (boxes aligned at a corner),
 * deterministic: initial centres are evenly spaced quantiles of the box areas. Sorted by area.
 */
export function kmeansAnchors(shapes: readonly Anchor[], k: number, iterations = 50): Anchor[] {
  if (shapes.length === 0) throw new RangeError('kmeansAnchors: no box shapes');
  const n = Math.min(k, shapes.length);
  const byArea = [...shapes].sort((a, b) => a[0] * a[1] - b[0] * b[1]);
  let centres: [number, number][] = Array.from({ length: n }, (_, c) => [...byArea[Math.floor(((c + 0.5) * byArea.length) / n)]!] as [number, number]);
  const iou = (a: Anchor, b: Anchor): number => {
    const inter = Math.min(a[0], b[0]) * Math.min(a[1], b[1]);
    return inter / (a[0] * a[1] + b[0] * b[1] - inter);
  };
  for (let it = 0; it < iterations; it++) {
    const sums = centres.map(() => [0, 0, 0]);
    for (const s of shapes) {
      let best = 0;
      for (let c = 1; c < n; c++) if (iou(s, centres[c]!) > iou(s, centres[best]!)) best = c;
      sums[best]![0]! += s[0];
      sums[best]![1]! += s[1];
      sums[best]![2]! += 1;
    }
    const next = centres.map((c, i) => (sums[i]![2]! > 0 ? ([sums[i]![0]! / sums[i]![2]!, sums[i]![1]! / sums[i]![2]!] as [number, number]) : c));
    const moved = next.some((c, i) => Math.abs(c[0] - centres[i]![0]) > 1e-9 || Math.abs(c[1] - centres[i]![1]) > 1e-9);
    centres = next;
    if (!moved) break;
  }
  return centres.sort((a, b) => a[0] * a[1] - b[0] * b[1]);
}
