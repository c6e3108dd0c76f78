// nn.init: in-place initialisers with torch.nn.init's formulas, each drawing from the RNG
// exactly as PyTorch does (same libtorch kernels, same call order and bounds computed in
// double precision in the same order), so a seeded model gets PyTorch's values.
import type { Tensor } from '../torch/index.js';
import { emptyLike, noGrad, scope, tensor as makeTensor, where } from '../torch/index.js';

export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'conv_transpose1d'
  | 'conv_transpose2d'
  | 'conv_transpose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'selu';

export type FanMode = 'fan_in' | 'fan_out';

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain); `param` is leaky_relu's slope. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'tanh':
      return 5.0 / 3;
    case 'relu':
      return Math.sqrt(2.0);
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      // slope * slope, not slope ** 2: Python's float ** 2 is the correctly rounded square.
      return Math.sqrt(2.0 / (1 + slope * slope));
    }
    case 'selu':
      return 3.0 / 4;
    default:
      return 1;
  }
}

/** [fanIn, fanOut] of a weight: dims 1 and 0 times the receptive field (the product of dims 2..). */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  const shape = t.shape;
  if (shape.length < 2) {
    throw new RangeError(`nn.init: fan in and fan out need at least 2 dimensions, got shape [${shape.join(', ')}]`);
  }
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return [shape[1]! * receptive, shape[0]! * receptive];
}

function correctFan(t: Tensor, mode: FanMode): number {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  return mode === 'fan_in' ? fanIn : fanOut;
}

export function uniform_<T extends Tensor>(t: T, a = 0.0, b = 1.0): T {
  return noGrad(() => t.uniform_(a, b));
}

export function normal_<T extends Tensor>(t: T, mean = 0.0, std = 1.0): T {
  return noGrad(() => t.normal_(mean, std));
}

export function constant_<T extends Tensor>(t: T, value: number): T {
  return noGrad(() => t.fill_(value));
}

export function zeros_<T extends Tensor>(t: T): T {
  return noGrad(() => t.zero_());
}

export function ones_<T extends Tensor>(t: T): T {
  return constant_(t, 1);
}

export interface KaimingOptions {
  /** The negative slope of the rectifier after this layer (leaky_relu only). */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

/** Std of He initialisation, or null for a zero-element tensor (PyTorch skips those). */
function kaimingStd(t: Tensor, { a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu' }: KaimingOptions): number | null {
  if (t.shape.includes(0)) return null;
  return calculateGain(nonlinearity, a) / Math.sqrt(correctFan(t, mode));
}

/** U(-bound, bound) with bound = gain * sqrt(3 / fan) (He et al., 2015). */
export function kaimingUniform_<T extends Tensor>(t: T, options: KaimingOptions = {}): T {
  const std = kaimingStd(t, options);
  if (std === null) return t;
  const bound = Math.sqrt(3.0) * std;
  return uniform_(t, -bound, bound);
}

/** N(0, std^2) with std = gain / sqrt(fan) (He et al., 2015). */
export function kaimingNormal_<T extends Tensor>(t: T, options: KaimingOptions = {}): T {
  const std = kaimingStd(t, options);
  return std === null ? t : normal_(t, 0, std);
}

function xavierStd(t: Tensor, gain: number): number {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  return gain * Math.sqrt(2.0 / (fanIn + fanOut));
}

/** U(-a, a) with a = gain * sqrt(6 / (fanIn + fanOut)) (Glorot & Bengio, 2010). */
export function xavierUniform_<T extends Tensor>(t: T, gain = 1.0): T {
  const a = Math.sqrt(3.0) * xavierStd(t, gain);
  return uniform_(t, -a, a);
}

/** N(0, std^2) with std = gain * sqrt(2 / (fanIn + fanOut)) (Glorot & Bengio, 2010). */
export function xavierNormal_<T extends Tensor>(t: T, gain = 1.0): T {
  return normal_(t, 0, xavierStd(t, gain));
}

/** The error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7): only picks trunc_normal_'s branch. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return Math.sign(x) * (1 - poly * Math.exp(-x * x));
}

/**
 * N(mean, std^2) truncated to [a, b] (absolute bounds), by torch 2.x's two samplers: redraw
 * out-of-range normals when the interval holds > 30% of the mass, else rejection sampling
 * from U(a, b). Same draws in the same order as PyTorch.
 */
export function truncNormal_<T extends Tensor>(t: T, mean = 0.0, std = 1.0, a = -2.0, b = 2.0): T {
  const cdf = (x: number) => (1 + erf(x / Math.sqrt(2))) / 2;
  const mass = cdf((b - mean) / std) - cdf((a - mean) / std);
  scope(() => noGrad(() => (mass > 0.3 ? redrawNormal(t, mean, std, a, b) : rejectUniform(t, mean, std, a, b))));
  return t;
}

function redrawNormal(t: Tensor, mean: number, std: number, a: number, b: number): void {
  // Bounds rounded to the tensor's dtype, so the mask agrees with the stored values.
  const [lo, hi] = [a, b].map((v) => makeTensor(v, { dtype: t.dtype }).item() as number) as [number, number];
  let result = t.normal_(mean, std);
  for (;;) {
    const mask = result.lt(lo).logicalOr(result.gt(hi));
    if (!mask.any().item()) break;
    result = where(mask, emptyLike(result).normal_(mean, std), result);
  }
  if (result !== t) t.copy_(result);
}

function rejectUniform(t: Tensor, mean: number, std: number, a: number, b: number): void {
  const mode = Math.max(a, Math.min(mean, b));
  const z = (mode - mean) / std;
  const logPeak = -0.5 * (z * z);
  // log density of U(a, b) candidates relative to the peak; accept where log(u) <= it.
  const logRatio = (c: Tensor) => c.sub(mean).div(std).pow(2).mul(-0.5).sub(logPeak);
  const acceptBuf = emptyLike(t);
  t.uniform_(a, b);
  let pending = acceptBuf.uniform_().log().gt(logRatio(t));
  if (!pending.any().item()) return;
  const candidates = emptyLike(t);
  let result: Tensor = t;
  for (;;) {
    candidates.uniform_(a, b);
    result = where(pending, candidates, result);
    pending = where(pending, acceptBuf.uniform_().log().gt(logRatio(candidates)), pending);
    if (!pending.any().item()) break;
  }
  t.copy_(result);
}
