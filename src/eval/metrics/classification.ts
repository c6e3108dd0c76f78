// Classification metrics with scikit-learn's semantics (the numbers PRIOR's and MGCA's evaluation
// scripts print): confusion matrix, accuracy, per-class and averaged precision/recall/F1 with
// zero_division=0, Cohen's kappa, the classification_report text, ROC curves and AUROC.
//
// Labels are class indices 0..nClasses-1. nClasses is always given, so a class that never occurs
// still has a row, a column and a (zero) score, and it counts in the macro average exactly as in
// sklearn called with `labels=range(nClasses)`.

export type Labels = ArrayLike<number>;
export type Scores = ArrayLike<number>;

function checkLabels(name: string, fn: string, y: Labels, nClasses: number): void {
  for (let i = 0; i < y.length; i++) {
    const c = y[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= nClasses) {
      throw new Error(`${fn}: ${name}[${i}] = ${c} is not a class index in [0, ${nClasses})`);
    }
  }
}

function checkPair(fn: string, yTrue: Labels, yPred: Labels, nClasses: number): void {
  if (!Number.isInteger(nClasses) || nClasses < 1) throw new Error(`${fn}: nClasses must be a positive integer, got ${nClasses}`);
  if (yTrue.length !== yPred.length) {
    throw new Error(`${fn}: yTrue has ${yTrue.length} labels but yPred has ${yPred.length}`);
  }
  checkLabels('yTrue', fn, yTrue, nClasses);
  checkLabels('yPred', fn, yPred, nClasses);
}

/** counts[t][p] = number of samples of true class t predicted as p (sklearn's layout). */
export function confusionMatrix(yTrue: Labels, yPred: Labels, nClasses: number): number[][] {
  checkPair('confusionMatrix', yTrue, yPred, nClasses);
  const counts = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  for (let i = 0; i < yTrue.length; i++) counts[yTrue[i]!]![yPred[i]!]! += 1;
  return counts;
}

/** Fraction of exact matches; NaN for no samples. */
export function accuracy(yTrue: Labels, yPred: Labels): number {
  if (yTrue.length !== yPred.length) throw new Error(`accuracy: yTrue has ${yTrue.length} labels but yPred has ${yPred.length}`);
  let hits = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) hits++;
  return hits / yTrue.length;
}

export interface PerClassScores {
  precision: number[];
  recall: number[];
  f1: number[];
  /** Number of true samples per class. */
  support: number[];
}

export interface AveragedScores {
  precision: number;
  recall: number;
  f1: number;
}

/** Per-class scores from a confusion matrix; 0/0 gives 0 (sklearn's zero_division=0). */
export function perClassScores(confusion: readonly (readonly number[])[]): PerClassScores {
  const n = confusion.length;
  const out: PerClassScores = { precision: [], recall: [], f1: [], support: [] };
  for (let c = 0; c < n; c++) {
    if (confusion[c]!.length !== n) throw new Error(`perClassScores: confusion must be square, row ${c} has ${confusion[c]!.length} of ${n}`);
    const tp = confusion[c]![c]!;
    let trueSum = 0;
    let predSum = 0;
    for (let k = 0; k < n; k++) {
      trueSum += confusion[c]![k]!;
      predSum += confusion[k]![c]!;
    }
    out.precision.push(predSum === 0 ? 0 : tp / predSum);
    out.recall.push(trueSum === 0 ? 0 : tp / trueSum);
    // sklearn's form of F1 (from counts, not from the rounded precision and recall).
    out.f1.push(trueSum + predSum === 0 ? 0 : (2 * tp) / (trueSum + predSum));
    out.support.push(trueSum);
  }
  return out;
}

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

function weightedMean(xs: readonly number[], w: readonly number[]): number {
  let s = 0;
  let ws = 0;
  for (let i = 0; i < xs.length; i++) {
    s += xs[i]! * w[i]!;
    ws += w[i]!;
  }
  return ws === 0 ? 0 : s / ws;
}

/** Unweighted mean over all nClasses classes (empty classes included, scoring 0). */
export function macroAverage(scores: PerClassScores): AveragedScores {
  return { precision: mean(scores.precision), recall: mean(scores.recall), f1: mean(scores.f1) };
}

/** Mean weighted by support (sklearn's average='weighted'). */
export function weightedAverage(scores: PerClassScores): AveragedScores {
  return {
    precision: weightedMean(scores.precision, scores.support),
    recall: weightedMean(scores.recall, scores.support),
    f1: weightedMean(scores.f1, scores.support),
  };
}

/** Everything classification_report prints, as numbers. */
export interface ClassificationSummary {
  confusion: number[][];
  accuracy: number;
  perClass: PerClassScores;
  macro: AveragedScores;
  weighted: AveragedScores;
  kappa: number;
}

export function classificationSummary(yTrue: Labels, yPred: Labels, nClasses: number): ClassificationSummary {
  const confusion = confusionMatrix(yTrue, yPred, nClasses);
  const perClass = perClassScores(confusion);
  return {
    confusion,
    accuracy: accuracy(yTrue, yPred),
    perClass,
    macro: macroAverage(perClass),
    weighted: weightedAverage(perClass),
    kappa: cohenKappa(confusion),
  };
}

/**
 * Unweighted Cohen's kappa from a confusion matrix, computed as sklearn does
 * (1 - sum(off-diagonal observed) / sum(off-diagonal expected)). NaN when undefined: no samples,
 * or both raters always give the same single class (sklearn's replace_undefined_by=nan).
 */
export function cohenKappa(confusion: readonly (readonly number[])[]): number {
  const n = confusion.length;
  const rowSum = new Array<number>(n).fill(0);
  const colSum = new Array<number>(n).fill(0);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const x = confusion[i]![j]!;
      rowSum[i] = rowSum[i]! + x;
      colSum[j] = colSum[j]! + x;
      total += x;
    }
  }
  if (total === 0) return NaN;
  let observed = 0;
  let expected = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      observed += confusion[i]![j]!;
      // sklearn: expected = outer(colSum, rowSum) / total, element [i][j] = colSum[i] * rowSum[j] / total.
      expected += (colSum[i]! * rowSum[j]!) / total;
    }
  }
  if (expected === 0) return NaN;
  return 1 - observed / expected;
}

/**
 * Python's `format(x, '.{digits}f')`: rounds the exact binary value half-to-even, where JS's
 * toFixed rounds exact ties up (0.015625 -> '0.01562' in Python, '0.01563' from toFixed(5)).
 */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  if (Math.abs(x) >= 1e21) return x.toFixed(digits);
  const exact = Math.abs(x).toFixed(100); // exact decimal expansion of the double (up to 100 places)
  const dot = exact.indexOf('.');
  const rest = exact.slice(dot + 1 + digits);
  const tie = rest[0] === '5' && /^50*$/.test(rest);
  let out = x.toFixed(digits);
  if (tie) {
    const kept = exact.slice(0, dot + 1 + digits).replace(/\.$/, '');
    const lastDigit = Number(kept[kept.length - 1]);
    if (lastDigit % 2 === 0) out = (x < 0 ? '-' : '') + kept; // round down to the even neighbour
  }
  return out;
}

export interface ReportOptions {
  /** Row names; default the class indices as strings. */
  targetNames?: readonly string[];
  /** Decimal places; 5 as PRIOR/MGCA call it (sklearn's own default is 2). */
  digits?: number;
}

/** sklearn.metrics.classification_report(yTrue, yPred, labels=range(nClasses), digits, zero_division=0), byte for byte. */
export function classificationReport(yTrue: Labels, yPred: Labels, nClasses: number, options: ReportOptions = {}): string {
  const digits = options.digits ?? 5;
  const names = options.targetNames ?? Array.from({ length: nClasses }, (_, c) => String(c));
  if (names.length !== nClasses) {
    throw new Error(`classificationReport: ${names.length} target names for ${nClasses} classes`);
  }
  const s = classificationSummary(yTrue, yPred, nClasses);
  const width = Math.max(...names.map((n) => n.length), 'weighted avg'.length, digits);
  const name = (t: string): string => t.padStart(width);
  const num = (x: number): string => formatFixed(x, digits).padStart(9);
  const int = (x: number): string => String(x).padStart(9);
  const total = yTrue.length;

  let report = `${name('')} ${['precision', 'recall', 'f1-score', 'support'].map((h) => ` ${h.padStart(9)}`).join('')}\n\n`;
  for (let c = 0; c < nClasses; c++) {
    const p = s.perClass;
    report += `${name(names[c]!)}  ${num(p.precision[c]!)} ${num(p.recall[c]!)} ${num(p.f1[c]!)} ${int(p.support[c]!)}\n`;
  }
  report += '\n';
  report += `${name('accuracy')}  ${''.padStart(9)} ${''.padStart(9)} ${num(s.accuracy)} ${int(total)}\n`;
  for (const [heading, avg] of [['macro avg', s.macro], ['weighted avg', s.weighted]] as const) {
    report += `${name(heading)}  ${num(avg.precision)} ${num(avg.recall)} ${num(avg.f1)} ${int(total)}\n`;
  }
  return report;
}

// ---- ROC / AUROC -------------------------------------------------------------------------------

export interface RocCurve {
  fpr: Float64Array;
  tpr: Float64Array;
  /** thresholds[0] = +Infinity (sklearn >= 1.3), then the distinct scores in decreasing order. */
  thresholds: Float64Array;
}

function checkBinary(fn: string, yTrue: Labels, yScore: Scores): void {
  if (yTrue.length !== yScore.length) throw new Error(`${fn}: yTrue has ${yTrue.length} entries but yScore has ${yScore.length}`);
  for (let i = 0; i < yTrue.length; i++) {
    if (yTrue[i] !== 0 && yTrue[i] !== 1) throw new Error(`${fn}: yTrue[${i}] = ${yTrue[i]} is not 0 or 1`);
    if (Number.isNaN(yScore[i]!)) throw new Error(`${fn}: yScore[${i}] is NaN`);
  }
}

/**
 * sklearn.metrics.roc_curve for binary labels (1 = positive). Tied scores form one threshold.
 * With dropIntermediate (sklearn's default) collinear points are dropped; the area is unchanged.
 * fpr (tpr) is all NaN when there are no negatives (positives), as sklearn returns it.
 */
export function rocCurve(yTrue: Labels, yScore: Scores, options: { dropIntermediate?: boolean } = {}): RocCurve {
  checkBinary('rocCurve', yTrue, yScore);
  const n = yTrue.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => yScore[b]! - yScore[a]! || a - b);
  let tps: number[] = [];
  let fps: number[] = [];
  let thr: number[] = [];
  let tp = 0;
  for (let k = 0; k < n; k++) {
    tp += yTrue[order[k]!]!;
    // A threshold at the last index of each run of equal scores.
    if (k === n - 1 || yScore[order[k + 1]!] !== yScore[order[k]!]) {
      tps.push(tp);
      fps.push(k + 1 - tp);
      thr.push(yScore[order[k]!]!);
    }
  }
  if ((options.dropIntermediate ?? true) && fps.length > 2) {
    const keep: number[] = [0];
    for (let k = 1; k < fps.length - 1; k++) {
      const d2f = fps[k + 1]! - 2 * fps[k]! + fps[k - 1]!;
      const d2t = tps[k + 1]! - 2 * tps[k]! + tps[k - 1]!;
      if (d2f !== 0 || d2t !== 0) keep.push(k);
    }
    keep.push(fps.length - 1);
    tps = keep.map((k) => tps[k]!);
    fps = keep.map((k) => fps[k]!);
    thr = keep.map((k) => thr[k]!);
  }
  tps.unshift(0);
  fps.unshift(0);
  thr.unshift(Infinity);
  const lastF = fps[fps.length - 1]!;
  const lastT = tps[tps.length - 1]!;
  return {
    fpr: Float64Array.from(fps, (f) => (lastF > 0 ? f / lastF : NaN)),
    tpr: Float64Array.from(tps, (t) => (lastT > 0 ? t / lastT : NaN)),
    thresholds: Float64Array.from(thr),
  };
}

/**
 * sklearn.metrics.roc_auc_score for binary labels: trapezoidal area under rocCurve, which counts
 * a tie between a positive and a negative as half a correct ordering. Where sklearn raises
 * ("Only one class present in y_true"), this returns NaN.
 */
export function rocAucScore(yTrue: Labels, yScore: Scores): number {
  const { fpr, tpr } = rocCurve(yTrue, yScore);
  if (Number.isNaN(fpr[0]!) || Number.isNaN(tpr[0]!)) return NaN;
  let area = 0;
  for (let k = 1; k < fpr.length; k++) area += ((fpr[k]! - fpr[k - 1]!) * (tpr[k]! + tpr[k - 1]!)) / 2;
  return area;
}

export interface AurocResult {
  /** One-vs-rest AUROC per class; NaN where the class's labels are all 0 or all 1. */
  perClass: number[];
  /** Mean over the classes whose AUROC is defined (NaN if none is). */
  macro: number;
}

function aurocColumns(fn: string, column: (c: number) => number[], scores: Scores, nSamples: number, nClasses: number): AurocResult {
  if (scores.length !== nSamples * nClasses) {
    throw new Error(`${fn}: scores has ${scores.length} entries, expected [${nSamples}, ${nClasses}] = ${nSamples * nClasses}`);
  }
  const perClass: number[] = [];
  for (let c = 0; c < nClasses; c++) {
    const s = new Float64Array(nSamples);
    for (let i = 0; i < nSamples; i++) s[i] = scores[i * nClasses + c]!;
    perClass.push(rocAucScore(column(c), s));
  }
  const defined = perClass.filter((x) => !Number.isNaN(x));
  return { perClass, macro: defined.length === 0 ? NaN : mean(defined) };
}

/**
 * AUROC per class, one-vs-rest, for single-label data: yTrue holds class indices, scores is
 * row-major [nSamples, nClasses]. Classes absent from yTrue (or covering every sample) have
 * an undefined AUROC: NaN, left out of the macro mean.
 */
export function aurocOneVsRest(yTrue: Labels, scores: Scores, nClasses: number): AurocResult {
  checkLabels('yTrue', 'aurocOneVsRest', yTrue, nClasses);
  return aurocColumns('aurocOneVsRest', (c) => Array.from(yTrue, (y) => (y === c ? 1 : 0)), scores, yTrue.length, nClasses);
}

/** AUROC per column for multi-label data: targets and scores both row-major [nSamples, nClasses], targets 0/1. */
export function aurocMultiLabel(targets: Labels, scores: Scores, nClasses: number): AurocResult {
  if (!Number.isInteger(nClasses) || nClasses < 1) throw new Error(`aurocMultiLabel: nClasses must be a positive integer, got ${nClasses}`);
  if (targets.length % nClasses !== 0) throw new Error(`aurocMultiLabel: ${targets.length} targets is not a multiple of nClasses ${nClasses}`);
  const n = targets.length / nClasses;
  return aurocColumns('aurocMultiLabel', (c) => Array.from({ length: n }, (_, i) => targets[i * nClasses + c]!), scores, n, nClasses);
}
