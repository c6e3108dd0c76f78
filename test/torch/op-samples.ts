// Sample points for finite-difference tests of every differentiable op in opTable, keyed by
// opTable name. Each sample picks shapes, value ranges and fixed arguments that keep the op
// smooth there: no values near kinks (0 for abs/relu, clamp bounds), no ties (max, sort,
// pooling), positive inputs for log/sqrt. Hidden ops are called through their `_` functions.
import * as torch from '../../src/torch/index.js';
import type { GradcheckOptions, Tensor } from '../../src/torch/index.js';

/** One differentiable input: its shape and the interval its values come from. */
export interface InputSpec {
  shape: readonly number[];
  range?: readonly [number, number];
  /** Alternate the sign of values drawn from `range` (nonzero values of both signs). */
  mixedSigns?: boolean;
}

export interface OpSample {
  /** The differentiable inputs: made as float64 leaves that require grad. */
  inputs: readonly (InputSpec | readonly number[])[];
  /** Calls the op on them; fixed non-differentiable arguments are closed over. */
  fn: (...xs: Tensor[]) => Tensor | readonly Tensor[];
  /** The in-place variant, applied to (a non-leaf clone of) the first input; required for `inplace` ops. */
  inplace?: (self: Tensor, ...rest: Tensor[]) => Tensor;
  options?: GradcheckOptions;
}

/** Values in [0.5, 2]: safe for log, sqrt, reciprocal, division. */
export const positive = (...shape: number[]): InputSpec => ({ shape, range: [0.5, 2] });
/** Values in ±[0.1, 1]: both signs, none near 0 (for abs, relu and other kinks at 0). */
export const nonzero = (...shape: number[]): InputSpec => ({ shape, range: [0.1, 1], mixedSigns: true });

const GOLDEN = 0.6180339887498949;

/**
 * Fresh float64 leaves for a sample. Values follow a golden-ratio sequence: deterministic,
 * spread over the range, and distinct within and across inputs (so max/sort have no ties).
 */
export function makeInputs(specs: OpSample['inputs']): Tensor[] {
  return specs.map((s, k) => {
    const spec: InputSpec = Array.isArray(s) ? { shape: s as readonly number[] } : (s as InputSpec);
    const [lo, hi] = spec.range ?? [-1, 1];
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = lo + (hi - lo) * (((1 + i + 1000 * k) * GOLDEN) % 1);
      data[i] = spec.mixedSigns && i % 2 === 1 ? -v : v;
    }
    return torch.tensor(data).reshape(spec.shape).requiresGrad_();
  });
}

const long = (data: number[][] | number[]) => torch.tensor(data, { dtype: 'int64' });
const mask2x3 = torch.tensor([[true, false, true], [false, false, true]]);
const classes = long([0, 3, 1]);
const classWeight = torch.tensor(new Float64Array([0.5, 1, 2, 1.5]));

export const opSamples: Readonly<Record<string, OpSample | readonly OpSample[]>> = {
  // ---- conversion
  clone: { inputs: [[2, 3]], fn: (x) => torch.clone(x) },
  contiguous: { inputs: [[2, 3]], fn: (x) => x.t().contiguous() },
  toDtype: [
    { inputs: [[2, 3]], fn: (x) => torch._toDtype(x, 'float64') },
    // float32 output: a step of 2^-10 keeps the float32 rounding error far below rtol.
    { inputs: [[2, 3]], fn: (x) => torch._toDtype(x, 'float32'), options: { eps: 2 ** -10 } },
  ],
  toDevice: { inputs: [[2, 3]], fn: (x) => torch._toDevice(x, 'cpu') },

  // ---- views and indexing
  reshape: { inputs: [[2, 3]], fn: (x) => x.reshape(3, 2) },
  view: { inputs: [[2, 3]], fn: (x) => x.view(6) },
  permute: { inputs: [[2, 3, 2]], fn: (x) => x.permute(2, 0, 1) },
  transpose: { inputs: [[2, 3]], fn: (x) => torch.transpose(x, 0, 1) },
  t: { inputs: [[2, 3]], fn: (x) => torch.t(x) },
  flatten: { inputs: [[2, 2, 2]], fn: (x) => x.flatten(1) },
  unflatten: { inputs: [[2, 4]], fn: (x) => x.unflatten(1, [2, 2]) },
  squeeze: { inputs: [[2, 1, 3]], fn: (x) => x.squeeze(1) },
  unsqueeze: { inputs: [[2, 3]], fn: (x) => x.unsqueeze(1) },
  expand: { inputs: [[3, 1]], fn: (x) => x.expand(2, 3, 4) },
  expandAs: { inputs: [[1, 3]], fn: (x) => x.expandAs(torch.zeros(2, 3)) },
  narrow: { inputs: [[3, 4]], fn: (x) => x.narrow(1, 1, 2) },
  select: { inputs: [[3, 4]], fn: (x) => x.select(1, 2) },
  slice: { inputs: [[5, 2]], fn: (x) => x.slice(0, 1, 5, 2) },
  // Repeated indices: their gradients must accumulate.
  indexSelect: { inputs: [[4, 3]], fn: (x) => x.indexSelect(0, long([2, 0, 2])) },
  index: { inputs: [[4, 3]], fn: (x) => x.index([long([3, 1, 3]), null]) },
  gather: { inputs: [[3, 4]], fn: (x) => x.gather(1, long([[0, 2], [1, 1], [3, 0]])) },
  scatter: [
    { inputs: [[2, 4], [2, 2]], fn: (x, src) => x.scatter(1, long([[1, 3], [0, 2]]), src) },
    { inputs: [[2, 4]], fn: (x) => x.scatter(1, long([[1, 3], [0, 2]]), 0.5) },
  ],
  scatterAdd: { inputs: [[2, 4], [2, 3]], fn: (x, src) => x.scatterAdd(1, long([[1, 1, 3], [0, 2, 0]]), src) },
  maskedFill: [
    { inputs: [[2, 3]], fn: (x) => x.maskedFill(mask2x3, 0.5), inplace: (x) => x.maskedFill_(mask2x3, 0.5) },
    { inputs: [[2, 3], []], fn: (x, v) => x.maskedFill(mask2x3, v) },
  ],
  where: { inputs: [[2, 3], [3]], fn: (a, b) => torch.where(mask2x3, a, b) },
  cat: { inputs: [[2, 3], [2, 1]], fn: (a, b) => torch.cat([a, b], 1) },
  stack: { inputs: [[2, 3], [2, 3]], fn: (a, b) => torch.stack([a, b], 1) },
  split: [
    { inputs: [[5, 2]], fn: (x) => x.split([2, 3]) },
    { inputs: [[5, 2]], fn: (x) => x.split(2, 0) },
  ],
  chunk: { inputs: [[2, 4]], fn: (x) => x.chunk(2, 1) },
  unbind: { inputs: [[2, 3]], fn: (x) => x.unbind(1) },
  repeat: { inputs: [[2, 3]], fn: (x) => x.repeat(2, 1, 2) },
  repeatInterleave: { inputs: [[2, 3]], fn: (x) => x.repeatInterleave(2, 1) },
  flip: { inputs: [[2, 3]], fn: (x) => x.flip([0, 1]) },
  roll: { inputs: [[2, 3]], fn: (x) => x.roll([1], [1]) },
  tril: { inputs: [[3, 3]], fn: (x) => x.tril() },
  triu: { inputs: [[3, 3]], fn: (x) => x.triu(1) },
  diagonal: { inputs: [[3, 4]], fn: (x) => x.diagonal(1) },

  // ---- pointwise (the second input broadcasts, so its gradient is reduced)
  add: { inputs: [[2, 3], [3]], fn: (a, b) => a.add(b, { alpha: 2 }), inplace: (a, b) => a.add_(b, { alpha: 2 }) },
  sub: { inputs: [[2, 3], [3]], fn: (a, b) => a.sub(b, { alpha: 0.5 }), inplace: (a, b) => a.sub_(b, { alpha: 0.5 }) },
  mul: { inputs: [[2, 3], [3]], fn: (a, b) => a.mul(b), inplace: (a, b) => a.mul_(b) },
  div: [
    { inputs: [[2, 3], positive(3)], fn: (a, b) => a.div(b), inplace: (a, b) => a.div_(b) },
    { inputs: [[2, 3]], fn: (a) => a.div(3) },
  ],
  neg: { inputs: [[2, 3]], fn: (x) => x.neg(), inplace: (x) => x.neg_() },
  reciprocal: { inputs: [positive(2, 3)], fn: (x) => x.reciprocal() },
  pow: [
    { inputs: [positive(2, 3), [2, 3]], fn: (a, e) => a.pow(e), inplace: (a, e) => a.pow_(e) },
    { inputs: [[2, 3]], fn: (a) => a.pow(3) },
  ],
  exp: { inputs: [[2, 3]], fn: (x) => x.exp(), inplace: (x) => x.exp_() },
  log: { inputs: [positive(2, 3)], fn: (x) => x.log(), inplace: (x) => x.log_() },
  log1p: { inputs: [positive(2, 3)], fn: (x) => x.log1p() },
  sqrt: { inputs: [positive(2, 3)], fn: (x) => x.sqrt(), inplace: (x) => x.sqrt_() },
  rsqrt: { inputs: [positive(2, 3)], fn: (x) => x.rsqrt() },
  abs: { inputs: [nonzero(2, 3)], fn: (x) => x.abs(), inplace: (x) => x.abs_() },
  sin: { inputs: [[2, 3]], fn: (x) => x.sin() },
  cos: { inputs: [[2, 3]], fn: (x) => x.cos() },
  tanh: { inputs: [[2, 3]], fn: (x) => x.tanh() },
  // Values in ±[0.1, 1]; bounds at ±0.35 are far from all of them.
  clamp: { inputs: [nonzero(2, 4)], fn: (x) => x.clamp(-0.35, 0.35), inplace: (x) => x.clamp_(-0.35, 0.35) },
  clampMin: { inputs: [nonzero(2, 4)], fn: (x) => x.clampMin(0.35), inplace: (x) => x.clampMin_(0.35) },
  clampMax: { inputs: [nonzero(2, 4)], fn: (x) => x.clampMax(-0.35), inplace: (x) => x.clampMax_(-0.35) },
  maximum: { inputs: [[2, 3], [2, 3]], fn: (a, b) => a.maximum(b) },
  minimum: { inputs: [[2, 3], [3]], fn: (a, b) => a.minimum(b) },
  lerp: [
    { inputs: [[2, 3], [2, 3], [2, 3]], fn: (a, b, w) => a.lerp(b, w), inplace: (a, b, w) => a.lerp_(b, w) },
    { inputs: [[2, 3], [2, 3]], fn: (a, b) => a.lerp(b, 0.3) },
  ],
  addcmul: {
    inputs: [[2, 3], [2, 3], [3]],
    fn: (a, t1, t2) => a.addcmul(t1, t2, { value: 0.5 }),
    inplace: (a, t1, t2) => a.addcmul_(t1, t2, { value: 0.5 }),
  },
  addcdiv: {
    inputs: [[2, 3], [2, 3], positive(3)],
    fn: (a, t1, t2) => a.addcdiv(t1, t2, { value: 0.5 }),
    inplace: (a, t1, t2) => a.addcdiv_(t1, t2, { value: 0.5 }),
  },

  // ---- reductions
  sum: [
    { inputs: [[2, 3]], fn: (x) => x.sum() },
    { inputs: [[2, 3, 2]], fn: (x) => x.sum([0, 2], true) },
  ],
  mean: { inputs: [[2, 3]], fn: (x) => x.mean([0]) },
  prod: [
    { inputs: [positive(2, 3)], fn: (x) => x.prod(1) },
    { inputs: [nonzero(2, 3)], fn: (x) => x.prod() },
  ],
  amax: { inputs: [[2, 3]], fn: (x) => x.amax([1]) },
  amin: { inputs: [[2, 3]], fn: (x) => x.amin([0], true) },
  max: { inputs: [[2, 3]], fn: (x) => x.max() },
  'max.dim': { inputs: [[2, 3]], fn: (x) => x.max(1) },
  min: { inputs: [[2, 3]], fn: (x) => x.min() },
  'min.dim': { inputs: [[2, 3]], fn: (x) => x.min(0, true) },
  sort: { inputs: [[2, 4]], fn: (x) => x.sort(1, true) },
  topk: { inputs: [[2, 4]], fn: (x) => x.topk(2, 1) },
  logsumexp: { inputs: [[2, 3]], fn: (x) => x.logsumexp([1]) },
  norm: [
    { inputs: [[2, 3]], fn: (x) => x.norm(2, [1]) },
    { inputs: [nonzero(2, 3)], fn: (x) => x.norm(1) },
    { inputs: [[2, 3]], fn: (x) => x.norm(3, [0], true) },
  ],
  var: { inputs: [[2, 4]], fn: (x) => x.var([1]) },
  std: [
    { inputs: [[2, 4]], fn: (x) => x.std([1], { correction: 0 }) },
    { inputs: [[2, 4]], fn: (x) => x.std() },
  ],
  cumsum: { inputs: [[2, 3]], fn: (x) => x.cumsum(1) },

  // ---- linear algebra
  matmul: [
    { inputs: [[2, 3], [3, 2]], fn: (a, b) => a.matmul(b) },
    { inputs: [[2, 2, 3], [3]], fn: (a, b) => a.matmul(b) },
    { inputs: [[2, 2, 3], [3, 2]], fn: (a, b) => a.matmul(b) },
  ],
  mm: { inputs: [[2, 3], [3, 2]], fn: (a, b) => a.mm(b) },
  bmm: { inputs: [[2, 2, 3], [2, 3, 2]], fn: (a, b) => a.bmm(b) },
  einsum: { inputs: [[2, 3], [3, 2]], fn: (a, b) => torch.einsum('ij,jk->ki', [a, b]) },
  outer: { inputs: [[3], [2]], fn: (a, b) => a.outer(b) },
  cdist: [
    { inputs: [[3, 2], [2, 2]], fn: (a, b) => torch.cdist(a, b) },
    { inputs: [[3, 2], [2, 2]], fn: (a, b) => torch.cdist(a, b, 1) },
  ],

  // ---- nn functional
  linear: [
    { inputs: [[2, 3], [4, 3], [4]], fn: (x, w, b) => torch.linear(x, w, b) },
    { inputs: [[2, 3], [4, 3]], fn: (x, w) => torch.linear(x, w) },
  ],
  conv2d: [
    { inputs: [[1, 2, 4, 4], [2, 2, 3, 3], [2]], fn: (x, w, b) => torch.conv2d(x, w, b, { padding: 1 }) },
    { inputs: [[1, 2, 5, 5], [2, 1, 2, 2]], fn: (x, w) => torch.conv2d(x, w, null, { stride: 2, dilation: 2, groups: 2 }) },
  ],
  convTranspose2d: {
    inputs: [[1, 2, 2, 2], [2, 2, 2, 2], [2]],
    fn: (x, w, b) => torch.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
  },
  batchNorm: [
    { inputs: [[3, 2, 2], [2], [2]], fn: (x, w, b) => torch.batchNorm(x, null, null, { weight: w, bias: b, training: true }) },
    {
      inputs: [[3, 2], [2], [2]],
      fn: (x, w, b) =>
        torch.batchNorm(x, torch.tensor(new Float64Array([0.1, -0.2])), torch.tensor(new Float64Array([0.5, 2])), { weight: w, bias: b }),
    },
  ],
  layerNorm: { inputs: [[2, 3], [3], [3]], fn: (x, w, b) => torch.layerNorm(x, [3], w, b) },
  groupNorm: { inputs: [[2, 4, 2], [4], [4]], fn: (x, w, b) => torch.groupNorm(x, 2, w, b) },
  maxPool2d: { inputs: [[1, 1, 4, 4]], fn: (x) => torch.maxPool2d(x, 2, { stride: 1, padding: 1 }) },
  avgPool2d: { inputs: [[1, 1, 4, 4]], fn: (x) => torch.avgPool2d(x, 3, { stride: 1, padding: 1, countIncludePad: false }) },
  adaptiveAvgPool2d: { inputs: [[1, 2, 5, 5]], fn: (x) => torch.adaptiveAvgPool2d(x, [2, 3]) },
  adaptiveMaxPool2d: { inputs: [[1, 2, 5, 5]], fn: (x) => torch.adaptiveMaxPool2d(x, [2, 3]) },
  upsampleNearest2d: { inputs: [[1, 2, 2, 3]], fn: (x) => torch._upsampleNearest2d(x, [3, 5]) },
  upsampleBilinear2d: [
    { inputs: [[1, 1, 3, 3]], fn: (x) => torch._upsampleBilinear2d(x, [4, 5], false, false) },
    { inputs: [[1, 1, 3, 3]], fn: (x) => torch._upsampleBilinear2d(x, [5, 4], true, false) },
    { inputs: [[1, 1, 5, 5]], fn: (x) => torch._upsampleBilinear2d(x, [2, 3], false, true) },
  ],
  upsampleBicubic2d: [
    { inputs: [[1, 1, 3, 3]], fn: (x) => torch._upsampleBicubic2d(x, [4, 5], false, false) },
    { inputs: [[1, 1, 3, 3]], fn: (x) => torch._upsampleBicubic2d(x, [5, 4], true, false) },
    { inputs: [[1, 1, 5, 5]], fn: (x) => torch._upsampleBicubic2d(x, [2, 3], false, true) },
  ],
  pad: [
    { inputs: [[2, 3]], fn: (x) => torch.pad(x, [1, 2], { value: 0.5 }) },
    { inputs: [[1, 2, 4]], fn: (x) => torch.pad(x, [2, 1], { mode: 'reflect' }) },
    { inputs: [[1, 1, 2, 3]], fn: (x) => torch.pad(x, [1, 1, 2, 0], { mode: 'replicate' }) },
  ],
  relu: { inputs: [nonzero(2, 3)], fn: (x) => x.relu(), inplace: (x) => x.relu_() },
  leakyRelu: { inputs: [nonzero(2, 3)], fn: (x) => x.leakyRelu(0.2) },
  gelu: [
    { inputs: [[2, 3]], fn: (x) => x.gelu() },
    { inputs: [[2, 3]], fn: (x) => x.gelu({ approximate: 'tanh' }) },
  ],
  silu: { inputs: [[2, 3]], fn: (x) => x.silu() },
  sigmoid: { inputs: [[2, 3]], fn: (x) => x.sigmoid(), inplace: (x) => x.sigmoid_() },
  // beta 2 * |x| <= 2 stays below the threshold where softplus switches to the identity.
  softplus: { inputs: [[2, 3]], fn: (x) => torch.softplus(x, 2, 20) },
  softmax: { inputs: [[2, 3]], fn: (x) => x.softmax(1) },
  logSoftmax: { inputs: [[2, 3]], fn: (x) => x.logSoftmax(0) },
  embedding: { inputs: [[4, 3]], fn: (w) => torch.embedding(long([[0, 2], [3, 2]]), w) },
  crossEntropy: [
    { inputs: [[3, 4]], fn: (x) => torch.crossEntropy(x, classes) },
    { inputs: [[3, 4]], fn: (x) => torch.crossEntropy(x, classes, { weight: classWeight, labelSmoothing: 0.1, reduction: 'sum' }) },
    // Class probabilities as the target: differentiable in both.
    { inputs: [[3, 4], positive(3, 4)], fn: (x, p) => torch.crossEntropy(x, p.div(p.sum([1], true))) },
  ],
  nllLoss: { inputs: [[3, 4]], fn: (x) => torch.nllLoss(x.logSoftmax(1), classes, { weight: classWeight, reduction: 'mean' }) },
  binaryCrossEntropyWithLogits: {
    inputs: [[2, 3], { shape: [2, 3], range: [0, 1] }],
    fn: (x, t) =>
      torch.binaryCrossEntropyWithLogits(x, t, {
        weight: torch.tensor(new Float64Array([1, 0.5, 2])),
        posWeight: torch.tensor(new Float64Array([2, 1, 0.5])),
      }),
  },
  // Inputs and targets come from disjoint ranges, so |input - target| stays away from 0.
  l1Loss: { inputs: [[2, 3], { shape: [2, 3], range: [1.5, 2] }], fn: (x, y) => torch.l1Loss(x, y, { reduction: 'none' }) },
  mseLoss: { inputs: [[2, 3], [2, 3]], fn: (x, y) => torch.mseLoss(x, y) },
  smoothL1Loss: { inputs: [[2, 3], [2, 3]], fn: (x, y) => torch.smoothL1Loss(x, y, { beta: 0.5, reduction: 'sum' }) },
  klDiv: [
    { inputs: [[2, 3], positive(2, 3)], fn: (x, t) => torch._klDiv(x, t, { reduction: 'sum' }) },
    { inputs: [[2, 3], [2, 3]], fn: (x, t) => torch._klDiv(x, t, { reduction: 'none', logTarget: true }) },
  ],
  cosineSimilarity: { inputs: [[2, 3], [2, 3]], fn: (a, b) => torch.cosineSimilarity(a, b) },
  pairwiseDistance: { inputs: [[2, 3], [2, 3]], fn: (a, b) => torch.pairwiseDistance(a, b, 2, 1e-6, true) },
};
