// Evaluation metrics against scikit-learn, pycocotools and numpy-from-the-definition references
// (scripts/gen_fixtures_metrics.py), plus small cases checked by hand.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  RSNA_IOU_THRESHOLDS,
  accuracy,
  aurocMultiLabel,
  aurocOneVsRest,
  averagePrecision,
  boxIou,
  classRetrieval,
  classificationReport,
  classificationSummary,
  cohenKappa,
  confusionMatrix,
  dice,
  formatFixed,
  instanceRetrieval,
  meanAveragePrecision,
  meanDice,
  nms,
  precisionRecallAtK,
  rankCandidates,
  rocAucScore,
  rocCurve,
  topCandidates,
} from '../../src/eval/index.js';
import type { Box, ImageDetections, ImageGroundTruth } from '../../src/eval/index.js';

type Num = number | 'nan' | 'inf' | '-inf';
const num = (x: Num): number => (x === 'nan' ? NaN : x === 'inf' ? Infinity : x === '-inf' ? -Infinity : x);
const nums = (xs: readonly Num[]): number[] => xs.map(num);

interface Fixtures {
  classification: {
    name: string; nClasses: number; yTrue: number[]; yPred: number[]; targetNames: string[] | null;
    confusion: number[][]; accuracy: Num; precision: Num[]; recall: Num[]; f1: Num[]; support: number[];
    macro: Record<'precision' | 'recall' | 'f1', Num>; weighted: Record<'precision' | 'recall' | 'f1', Num>;
    kappa: Num; reports: Record<string, string>;
  }[];
  roc: { name: string; yTrue: number[]; yScore: number[]; auc: Num; drop: Curve; full: Curve }[];
  rocOneClass: { yTrue: number[]; yScore: number[] } & Curve;
  auroc: {
    name: string; kind: 'ovr' | 'multilabel'; nClasses: number; yTrue?: number[]; targets?: number[]; scores: Num[];
    perClass: Num[]; macro: Num; sklearnOvrMacro?: Num; scoresNormalised?: Num[]; sklearnMacroWithoutColumn3?: Num;
  }[];
  retrieval: {
    name: string; kind: 'class' | 'instance' | 'lists'; scores: Num[]; nQueries: number; nCandidates: number;
    queryClass?: number[]; candidateClass?: number[]; queryText?: string[]; candidateText?: string[];
    relevant: number[][]; ks?: number[]; precision: Record<string, Num>; recall: Record<string, Num>;
  }[];
  segmentation: { threshold: number; probs: Num[][]; targets: number[][]; perImage: number[]; mean: number }[];
  iou: { xywhA: Box[]; xywhB: Box[]; xyxyA: Box[]; xyxyB: Box[]; iouXywh: Num[]; iouXyxy: Num[] };
  detection: {
    name: string; nClasses: number; iouThresholds: number[];
    images: { gt: [Box, number][]; dt: [Box, number, number][] }[]; ap: Num[][];
  }[];
  rsnaThresholds: number[];
}
interface Curve { fpr: Num[]; tpr: Num[]; thresholds: Num[] }

const FILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'eval', 'metrics.json');
const fx = JSON.parse(readFileSync(FILE, 'utf8')) as Fixtures;

/** Equal to ~1e-12 relative, NaN matching NaN. */
function expectClose(got: ArrayLike<number>, want: readonly number[], what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(w) || !Number.isFinite(w)) expect(g, `${what}[${i}]`).toBe(w);
    else expect(Math.abs(g - w), `${what}[${i}]: ${g} vs ${w}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(w)));
  }
}

describe('classification vs scikit-learn', () => {
  for (const c of fx.classification) {
    it(c.name, () => {
      const s = classificationSummary(c.yTrue, c.yPred, c.nClasses);
      expect(s.confusion).toEqual(c.confusion);
      expectClose([s.accuracy], [num(c.accuracy)], 'accuracy');
      expectClose(s.perClass.precision, nums(c.precision), 'precision');
      expectClose(s.perClass.recall, nums(c.recall), 'recall');
      expectClose(s.perClass.f1, nums(c.f1), 'f1');
      expect(s.perClass.support).toEqual(c.support);
      for (const k of ['precision', 'recall', 'f1'] as const) {
        expectClose([s.macro[k]], [num(c.macro[k])], `macro ${k}`);
        expectClose([s.weighted[k]], [num(c.weighted[k])], `weighted ${k}`);
      }
      expectClose([s.kappa], [num(c.kappa)], 'kappa');
      for (const [digits, text] of Object.entries(c.reports)) {
        const options = { digits: Number(digits), ...(c.targetNames ? { targetNames: c.targetNames } : {}) };
        expect(classificationReport(c.yTrue, c.yPred, c.nClasses, options)).toBe(text);
      }
    });
  }
});

describe('classification, hand-checked', () => {
  // 3 classes, 7 samples; class 2 is never predicted.
  const yTrue = [0, 0, 0, 1, 1, 2, 2];
  const yPred = [0, 0, 1, 1, 1, 0, 1];
  it('confusion matrix, accuracy, per-class and macro scores', () => {
    expect(confusionMatrix(yTrue, yPred, 3)).toEqual([
      [2, 1, 0],
      [0, 2, 0],
      [1, 1, 0],
    ]);
    expect(accuracy(yTrue, yPred)).toBeCloseTo(4 / 7, 15);
    const s = classificationSummary(yTrue, yPred, 3);
    // precision: class 0 = 2/3, class 1 = 2/4, class 2 = 0/0 -> 0. recall: 2/3, 2/2, 0/2.
    expect(s.perClass.precision).toEqual([2 / 3, 0.5, 0]);
    expect(s.perClass.recall).toEqual([2 / 3, 1, 0]);
    // F1 = 2tp / (true + pred): 4/6, 4/6, 0/2.
    expect(s.perClass.f1).toEqual([4 / 6, 4 / 6, 0]);
    expect(s.macro.precision).toBeCloseTo((2 / 3 + 0.5) / 3, 15);
    expect(s.macro.f1).toBeCloseTo((4 / 6 + 4 / 6) / 3, 15);
    // kappa: p_o = 4/7; expected agreement = (3*3 + 2*4 + 2*0) / 49 = 17/49; (p_o - p_e) / (1 - p_e) = 11/32.
    expect(s.kappa).toBeCloseTo(11 / 32, 14);
  });

  it('an unseen class in a 4-class problem counts as 0 in the macro mean', () => {
    const s = classificationSummary([0, 1], [0, 1], 4);
    expect(s.perClass.f1).toEqual([1, 1, 0, 0]);
    expect(s.macro.f1).toBe(0.5);
  });

  it('kappa is NaN when undefined', () => {
    expect(cohenKappa([[0, 0], [0, 0]])).toBeNaN();
    expect(cohenKappa([[5, 0], [0, 0]])).toBeNaN();
  });

  it('rejects bad labels naming the position', () => {
    expect(() => confusionMatrix([0, 3], [0, 1], 3)).toThrow('yTrue[1] = 3 is not a class index in [0, 3)');
    expect(() => confusionMatrix([0, 1], [0], 3)).toThrow('yTrue has 2 labels but yPred has 1');
  });

  it('formats like Python (ties half-to-even on the exact binary value)', () => {
    expect(formatFixed(0.015625, 5)).toBe('0.01562');
    expect(formatFixed(0.046875, 5)).toBe('0.04688'); // tie, odd last digit rounds up
    expect(formatFixed(0.125, 2)).toBe('0.12');
    expect(formatFixed(0.375, 2)).toBe('0.38');
    expect(formatFixed(2.5, 0)).toBe('2');
    expect(formatFixed(0.1 + 0.2, 5)).toBe('0.30000');
    expect(formatFixed(2 / 3, 5)).toBe('0.66667');
    expect(formatFixed(0.015625000000000003, 5)).toBe('0.01563'); // above the tie
  });
});

describe('ROC / AUROC vs scikit-learn', () => {
  for (const c of fx.roc) {
    it(c.name, () => {
      for (const [key, drop] of [['drop', true], ['full', false]] as const) {
        const curve = rocCurve(c.yTrue, c.yScore, { dropIntermediate: drop });
        expectClose(curve.fpr, nums(c[key].fpr), `${key} fpr`);
        expectClose(curve.tpr, nums(c[key].tpr), `${key} tpr`);
        expectClose(curve.thresholds, nums(c[key].thresholds), `${key} thresholds`);
      }
      expectClose([rocAucScore(c.yTrue, c.yScore)], [num(c.auc)], 'auc');
    });
  }

  it('one label only: NaN rates, undefined AUROC', () => {
    const o = fx.rocOneClass;
    const curve = rocCurve(o.yTrue, o.yScore, { dropIntermediate: false });
    expectClose(curve.fpr, nums(o.fpr), 'fpr');
    expectClose(curve.tpr, nums(o.tpr), 'tpr');
    expectClose(curve.thresholds, nums(o.thresholds), 'thresholds');
    expect(rocAucScore(o.yTrue, o.yScore)).toBeNaN();
  });

  for (const c of fx.auroc) {
    it(`per class: ${c.name}`, () => {
      const r = c.kind === 'ovr' ? aurocOneVsRest(c.yTrue!, nums(c.scores), c.nClasses) : aurocMultiLabel(c.targets!, nums(c.scores), c.nClasses);
      expectClose(r.perClass, nums(c.perClass), 'perClass');
      expectClose([r.macro], [num(c.macro)], 'macro');
      if (c.sklearnOvrMacro !== undefined) {
        // sklearn's own multi_class='ovr' macro (probabilities renormalised to sum to 1).
        const r2 = aurocOneVsRest(c.yTrue!, nums(c.scoresNormalised!), c.nClasses);
        expectClose([r2.macro], [num(c.sklearnOvrMacro)], 'sklearn ovr macro');
      }
      if (c.sklearnMacroWithoutColumn3 !== undefined) {
        expect(r.perClass[3]).toBeNaN();
        expectClose([r.macro], [num(c.sklearnMacroWithoutColumn3)], 'macro without the undefined column');
      }
    });
  }

  it('hand-checked: a tied positive/negative pair counts one half', () => {
    // Positives {0.9, 0.5}, negatives {0.5, 0.1}: 3 of 4 pairs ordered, 1 tied -> 3.5 / 4.
    expect(rocAucScore([1, 1, 0, 0], [0.9, 0.5, 0.5, 0.1])).toBe(0.875);
  });
});

describe('retrieval', () => {
  for (const c of fx.retrieval) {
    it(`vs numpy: ${c.name}`, () => {
      const scores = nums(c.scores);
      const ks = c.ks ?? [1, 5, 10];
      const r =
        c.kind === 'class'
          ? classRetrieval(scores, c.queryClass!, c.candidateClass!, ks)
          : c.kind === 'instance'
            ? instanceRetrieval(scores, c.queryText!, c.candidateText!, ks)
            : precisionRecallAtK(scores, c.nQueries, c.nCandidates, c.relevant, ks);
      const viaLists = precisionRecallAtK(scores, c.nQueries, c.nCandidates, c.relevant, ks);
      for (const k of ks) {
        expectClose([r.precisionAtK[k]!, viaLists.precisionAtK[k]!], [num(c.precision[k]!), num(c.precision[k]!)], `P@${k}`);
        expectClose([r.recallAtK[k]!, viaLists.recallAtK[k]!], [num(c.recall[k]!), num(c.recall[k]!)], `R@${k}`);
      }
    });
  }

  it('hand-checked: ties rank by candidate index', () => {
    // Query 0: scores [0.5, 0.9, 0.5, 0.1] -> ranking 1, 0, 2, 3. Relevant {0, 2}.
    // Query 1: all tied -> ranking 0, 1, 2, 3. Relevant {3}.
    const scores = [0.5, 0.9, 0.5, 0.1, 0, 0, 0, 0];
    const r = precisionRecallAtK(scores, 2, 4, [[0, 2], [3]], [1, 2, 3, 4]);
    expect(r.precisionAtK[1]).toBe(0); // neither top-1 is relevant
    expect(r.precisionAtK[2]).toBe((1 / 2 + 0) / 2);
    expect(r.precisionAtK[3]).toBe((2 / 3 + 0) / 2);
    expect(r.recallAtK[3]).toBe((1 + 0) / 2);
    expect(r.recallAtK[4]).toBe(1);
    expect(r.nQueriesWithoutRelevant).toBe(0);
  });

  it('the top-K selection is the prefix of the full stable ranking', () => {
    for (const c of fx.retrieval) {
      const scores = nums(c.scores);
      for (let q = 0; q < c.nQueries; q++) {
        const full = Array.from(rankCandidates(scores, c.nCandidates, q));
        for (const k of [1, 3, 10, c.nCandidates + 2]) expect(Array.from(topCandidates(scores, c.nCandidates, q, k))).toEqual(full.slice(0, k));
      }
    }
  });

  it('rejects a wrong score shape', () => {
    expect(() => precisionRecallAtK([1, 2, 3], 2, 2, [[0], [1]])).toThrow('expected [2, 2] = 4');
  });
});

describe('segmentation: Dice', () => {
  for (const c of fx.segmentation) {
    it(`vs numpy at threshold ${c.threshold}`, () => {
      const targets = c.targets.map((t) => Uint8Array.from(t));
      // Float32 maps use a float32 threshold (PyTorch's comparison), so both agree with numpy here.
      for (const preds of [c.probs.map((p) => Float64Array.from(nums(p))), c.probs.map((p) => Float32Array.from(nums(p)))]) {
        const r = meanDice(preds, targets, { threshold: c.threshold });
        expectClose(r.perImage, c.perImage, 'perImage');
        expectClose([r.mean], [c.mean], 'mean');
      }
    });
  }

  it('hand-checked, including the empty-mask convention', () => {
    // |P| = 3, |T| = 2, overlap 1 -> 2 / 5.
    expect(dice(Uint8Array.from([1, 1, 1, 0]), Uint8Array.from([0, 0, 255, 255]))).toBe(0.4);
    expect(dice(new Uint8Array(4), new Uint8Array(4))).toBe(1);
    expect(dice(new Uint8Array(4), Uint8Array.from([0, 1, 0, 0]))).toBe(0);
    // p > threshold, strictly: 0.5 is background at the default threshold.
    expect(dice(Float64Array.from([0.5, 0.6]), Uint8Array.from([1, 1]))).toBeCloseTo(2 / 3, 15);
    expect(() => dice(new Uint8Array(3), new Uint8Array(4))).toThrow('prediction has 3 pixels but target has 4');
  });
});

describe('detection', () => {
  it('IoU vs pycocotools (xywh) and the torchvision formula (xyxy)', () => {
    const { xywhA, xywhB, xyxyA, xyxyB } = fx.iou;
    const got = xywhA.flatMap((a) => xywhB.map((b) => boxIou(a, b, 'xywh')));
    expectClose(got, nums(fx.iou.iouXywh), 'xywh');
    const gotXyxy = xyxyA.flatMap((a) => xyxyB.map((b) => boxIou(a, b, 'xyxy')));
    for (let i = 0; i < gotXyxy.length; i++) expect(gotXyxy[i]).toBeCloseTo(num(fx.iou.iouXyxy[i]!), 12);
    expect(boxIou([0, 0, 10, 5], [0, 0, 10, 10], 'xywh')).toBe(0.5);
  });

  it('NMS, hand-checked (torchvision semantics)', () => {
    const boxes: Box[] = [
      [0, 0, 10, 10],
      [1, 0, 11, 10], // IoU with box 0 = 90/110
      [20, 20, 30, 30],
      [0, 0, 10, 5], // IoU with box 0 = 0.5 exactly
      [20, 20, 30, 30], // duplicate of box 2, same score
    ];
    const scores = [0.9, 0.95, 0.5, 0.8, 0.5];
    // Box 1 first (0.95) suppresses box 0 (0.818); box 3 overlaps box 1 at 45/105 -> kept;
    // boxes 2 and 4 tie in score, index order keeps 2 and suppresses 4.
    expect(nms(boxes, scores, 0.5)).toEqual([1, 3, 2]);
    // Threshold 0.4: box 3 (IoU 0.43 with box 1) goes too.
    expect(nms(boxes, scores, 0.4)).toEqual([1, 2]);
    // Suppression is strict: IoU exactly 0.5 is kept at threshold 0.5.
    expect(nms([[0, 0, 10, 10], [0, 0, 10, 5]], [1, 0.9], 0.5)).toEqual([0, 1]);
    expect(nms([[0, 0, 10, 10], [0, 0, 10, 5]], [1, 0.9], 0.49)).toEqual([0]);
    expect(() => nms([[0, 0, -1, 5]], [1], 0.5)).toThrow('negative size');
  });

  const toInputs = (images: Fixtures['detection'][number]['images']): [ImageDetections[], ImageGroundTruth[]] => [
    images.map((im) => ({ boxes: im.dt.map((d) => d[0]), labels: im.dt.map((d) => d[1]), scores: im.dt.map((d) => d[2]) })),
    images.map((im) => ({ boxes: im.gt.map((g) => g[0]), labels: im.gt.map((g) => g[1]) })),
  ];

  for (const c of fx.detection) {
    it(`COCO AP vs pycocotools: ${c.name}`, () => {
      const [dets, gts] = toInputs(c.images);
      c.iouThresholds.forEach((t, ti) => {
        const r = averagePrecision(dets, gts, c.nClasses, t);
        expectClose(r.perClass, nums(c.ap[ti]!), `AP@${t}`);
      });
      const m = meanAveragePrecision(dets, gts, c.nClasses, c.iouThresholds);
      for (let k = 0; k < c.nClasses; k++) {
        const want = c.ap.reduce((s, row) => s + num(row[k]!), 0) / c.ap.length;
        if (Number.isNaN(want)) expect(m.perClass[k]).toBeNaN();
        else expect(m.perClass[k]).toBeCloseTo(want, 12);
      }
    });
  }

  it('RSNA thresholds are 0.40:0.05:0.75', () => {
    expect([...RSNA_IOU_THRESHOLDS]).toEqual(fx.rsnaThresholds);
  });

  it('AP, hand-checked', () => {
    // One image, two ground-truth boxes; detections by score: hit, miss, hit.
    // Precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 -> envelope 1 up to recall 0.5, 2/3 after.
    // 101-point: thresholds 0..0.50 (51 points) -> 1, 0.51..1.00 (50 points) -> 2/3.
    const gts: ImageGroundTruth[] = [{ boxes: [[0, 0, 10, 10], [50, 50, 10, 10]], labels: [0, 0] }];
    const dets: ImageDetections[] = [{ boxes: [[0, 0, 10, 10], [80, 80, 5, 5], [50, 50, 10, 10]], scores: [0.9, 0.8, 0.7], labels: [0, 0, 0] }];
    const r = averagePrecision(dets, gts, 1, 0.5);
    expect(r.perClass[0]).toBeCloseTo((51 + 50 * (2 / 3)) / 101, 12);
    // A class with no ground truth is undefined and left out of the mean.
    const r2 = averagePrecision(dets, gts, 2, 0.5);
    expect(r2.perClass[1]).toBeNaN();
    expect(r2.mean).toBe(r2.perClass[0]);
  });
});
