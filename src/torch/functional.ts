// nn functional ops composed in TypeScript from the generated ones, with PyTorch's semantics
// (torch/nn/functional.py): normalize, gumbelSoftmax, interpolate, klDiv, attention.
import type { DType } from './dtype.js';
import * as ops from './generated/ops.js';
import { zerosLike } from './generated/ops.js';
import type { Tensor } from './tensor.js';

export interface NormalizeOptions {
  p?: number;
  dim?: number;
  eps?: number;
}

/** `x / max(||x||_p, eps)` along `dim` (F.normalize). */
export function normalize<D extends DType>(x: Tensor<D>, { p = 2, dim = 1, eps = 1e-12 }: NormalizeOptions = {}): Tensor<D> {
  const denom = x.norm(p, [dim], true).clampMin(eps).expandAs(x);
  return x.div(denom) as Tensor<D>;
}

export interface GumbelSoftmaxOptions {
  tau?: number;
  hard?: boolean;
  dim?: number;
}

/** Samples from the Gumbel-softmax distribution (F.gumbel_softmax, same random stream). */
export function gumbelSoftmax<D extends DType>(logits: Tensor<D>, { tau = 1, hard = false, dim = -1 }: GumbelSoftmaxOptions = {}): Tensor<D> {
  const gumbels = ops.emptyLike(logits).exponential_().log().neg();
  const ySoft = logits.add(gumbels).div(tau).softmax(dim);
  if (!hard) return ySoft as Tensor<D>;
  const [, index] = ySoft.max(dim, true);
  const yHard = zerosLike(logits).scatter(dim, index, 1);
  return yHard.sub(ySoft.detach()).add(ySoft) as Tensor<D>;
}

export interface InterpolateOptions {
  size?: number | readonly [number, number];
  scaleFactor?: number | readonly [number, number];
  mode?: 'nearest' | 'bilinear' | 'bicubic';
  alignCorners?: boolean;
  antialias?: boolean;
}

/** Resizes an NCHW tensor (F.interpolate for 2-D spatial input). */
export function interpolate<D extends DType>(input: Tensor<D>, options: InterpolateOptions): Tensor<D> {
  const { size, scaleFactor, mode = 'nearest', alignCorners, antialias = false } = options;
  if (input.dim() !== 4) throw new RangeError(`interpolate: expected a 4-D NCHW input, got shape [${input.shape.join(', ')}]`);
  if ((size === undefined) === (scaleFactor === undefined)) throw new TypeError('interpolate: give exactly one of size and scaleFactor');
  if (mode === 'nearest' && (alignCorners !== undefined || antialias)) {
    throw new TypeError("interpolate: alignCorners and antialias apply to 'bilinear' and 'bicubic' only");
  }
  const [, , h, w] = input.shape as [number, number, number, number];
  let out: [number, number];
  let scales: [number | null, number | null] = [null, null];
  if (size !== undefined) {
    out = typeof size === 'number' ? [size, size] : [size[0], size[1]];
  } else {
    const [sh, sw] = typeof scaleFactor === 'number' ? [scaleFactor, scaleFactor] : scaleFactor!;
    out = [Math.floor(h * sh), Math.floor(w * sw)];
    scales = [sh, sw];
  }
  if (mode === 'nearest') return ops._upsampleNearest2d(input, out, scales[0], scales[1]) as Tensor<D>;
  const fn = mode === 'bilinear' ? ops._upsampleBilinear2d : ops._upsampleBicubic2d;
  return fn(input, out, alignCorners ?? false, antialias, scales[0], scales[1]) as Tensor<D>;
}

export interface KlDivOptions {
  reduction?: 'mean' | 'batchmean' | 'sum' | 'none';
  logTarget?: boolean;
}

/** KL divergence with `input` as log-probabilities (F.kl_div), including 'batchmean'. */
export function klDiv<D extends DType>(input: Tensor<D>, target: Tensor, { reduction = 'mean', logTarget = false }: KlDivOptions = {}): Tensor<D> {
  if (reduction === 'batchmean') {
    const total = ops._klDiv(input, target, { reduction: 'sum', logTarget });
    return (input.dim() === 0 ? total : total.div(input.size(0))) as Tensor<D>;
  }
  return ops._klDiv(input, target, { reduction, logTarget }) as Tensor<D>;
}

export interface AttentionOptions {
  /** Boolean (true = may attend) or additive float mask, broadcastable to [..., L, S]. */
  attnMask?: Tensor | null;
  isCausal?: boolean;
  dropoutP?: number;
  scale?: number;
}

/** softmax(q k^T * scale + mask) v, as F.scaled_dot_product_attention's math path. */
export function scaledDotProductAttention<D extends DType>(q: Tensor<D>, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor<D> {
  return attentionWeights(q, k, options).matmul(v) as Tensor<D>;
}

function attentionWeights(q: Tensor, k: Tensor, { attnMask = null, isCausal = false, dropoutP = 0, scale }: AttentionOptions): Tensor {
  const L = q.size(-2);
  const S = k.size(-2);
  const s = scale ?? 1 / Math.sqrt(q.size(-1));
  let scores = q.mul(s).matmul(k.transpose(-2, -1));
  if (isCausal) {
    const allowed = ops.ones(L, S, { dtype: 'bool', device: q.device as never }).tril();
    scores = scores.maskedFill(allowed.logicalNot(), -Infinity);
  }
  if (attnMask) {
    scores = attnMask.dtype === 'bool' ? scores.maskedFill(attnMask.logicalNot(), -Infinity) : scores.add(attnMask);
  }
  let weights = scores.softmax(-1);
  if (dropoutP > 0) weights = ops.dropout(weights, dropoutP, true);
  return weights;
}

export interface MultiHeadAttentionWeights {
  inProjWeight: Tensor;
  inProjBias?: Tensor | null;
  outProjWeight: Tensor;
  outProjBias?: Tensor | null;
}

export interface MultiHeadAttentionOptions {
  /** [N, S], true = padding (ignored), as nn.MultiheadAttention. */
  keyPaddingMask?: Tensor | null;
  /** [L, S] or [N*heads, L, S]; bool true = NOT allowed, or additive float, as nn.MultiheadAttention. */
  attnMask?: Tensor | null;
  isCausal?: boolean;
  needWeights?: boolean;
  averageAttnWeights?: boolean;
  dropoutP?: number;
  training?: boolean;
  batchFirst?: boolean;
}

/**
 * F.multi_head_attention_forward with packed in-projection (PyTorch's `in_proj_weight` layout:
 * [3E, E], rows q|k|v). Inputs are [L, N, E] (or [N, L, E] with batchFirst). Returns the output
 * and, if needWeights, the attention weights [N, L, S] (averaged over heads) or [N, H, L, S].
 */
export function multiHeadAttention(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  numHeads: number,
  w: MultiHeadAttentionWeights,
  options: MultiHeadAttentionOptions = {},
): [Tensor, Tensor | null] {
  const { keyPaddingMask = null, attnMask = null, isCausal = false, needWeights = true, averageAttnWeights = true } = options;
  const dropoutP = options.training === false ? 0 : (options.dropoutP ?? 0);
  let [q, k, v] = options.batchFirst ? [query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)] : [query, key, value];
  const [L, N, E] = q.shape as [number, number, number];
  const S = k.size(0);
  if (E % numHeads !== 0) throw new RangeError(`multiHeadAttention: embed dim ${E} is not divisible by numHeads ${numHeads}`);
  const hd = E / numHeads;
  const [wq, wk, wv] = w.inProjWeight.chunk(3, 0) as [Tensor, Tensor, Tensor];
  const [bq, bk, bv] = w.inProjBias ? (w.inProjBias.chunk(3, 0) as [Tensor, Tensor, Tensor]) : [null, null, null];
  q = ops.linear(q, wq, bq);
  k = ops.linear(k, wk, bk);
  v = ops.linear(v, wv, bv);
  // [L, N, E] -> [N, H, L, hd]
  const heads = (t: Tensor, len: number) => t.reshape(len, N * numHeads, hd).transpose(0, 1).reshape(N, numHeads, len, hd);
  q = heads(q, L);
  k = heads(k, S);
  v = heads(v, S);
  // One additive mask: -inf where attention is not allowed.
  let mask: Tensor | null = null;
  const toAdditive = (m: Tensor) => (m.dtype === 'bool' ? ops.zerosLike(m, { dtype: q.dtype }).maskedFill(m, -Infinity) : m);
  if (attnMask) {
    const m = toAdditive(attnMask);
    mask = m.dim() === 2 ? m.reshape(1, 1, L, S) : m.reshape(N, numHeads, L, S);
  }
  if (keyPaddingMask) {
    const m = toAdditive(keyPaddingMask).reshape(N, 1, 1, S);
    mask = mask ? mask.add(m) : m;
  }
  const weights = attentionWeights(q, k, { attnMask: mask, isCausal, dropoutP });
  const out = weights.matmul(v).permute(2, 0, 1, 3).reshape(L * N, E);
  let result = ops.linear(out, w.outProjWeight, w.outProjBias ?? null).reshape(L, N, E);
  if (options.batchFirst) result = result.transpose(0, 1);
  if (!needWeights) return [result, null];
  return [result, averageAttnWeights ? weights.mean([1]) : weights];
}
