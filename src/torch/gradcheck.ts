// Finite-difference gradient checking (torch.autograd.gradcheck): the Jacobian our autograd
// computes, one vector-Jacobian product per output element, against central differences.
import { grad, noGrad } from './autograd.js';
import { tensor } from './creation.js';
import { isFloatingDType } from './dtype.js';
import { scope } from './memory.js';
import type { Tensor } from './tensor.js';

export interface GradcheckOptions {
  /** Finite-difference step. */
  eps?: number;
  atol?: number;
  rtol?: number;
}

export type GradcheckFunction = (...inputs: Tensor[]) => Tensor | readonly Tensor[];

/** One output's values, flattened; null for outputs that are skipped (integer or bool). */
type Values = Float64Array | null;

function outputList(result: Tensor | readonly Tensor[]): readonly Tensor[] {
  return Array.isArray(result) ? result : [result as Tensor];
}

function flat(t: Tensor): Float64Array {
  return Float64Array.from(t.toArray() as ArrayLike<number>);
}

/** Evaluates `fn` without autograd and returns every output's values. */
function evaluate(fn: GradcheckFunction, inputs: readonly Tensor[]): Values[] {
  return noGrad(() => outputList(fn(...inputs)).map((o) => (isFloatingDType(o.dtype) ? flat(o) : null)));
}

/** A copy of `x` (not tracked by autograd) with element `k` moved by `delta`. */
function perturbed(x: Tensor, k: number, delta: number): Tensor {
  const data = flat(x);
  data[k]! += delta;
  return tensor(data).reshape(x.shape);
}

function unravel(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = index % shape[d]!;
    index = Math.floor(index / shape[d]!);
  }
  return out;
}

/** Output shapes, or null for outputs that are skipped (integer or bool). */
type Shapes = (readonly number[] | null)[];

/**
 * d output / d input for each input in `wrt` and each output: row-major [output element][input
 * element], one vector-Jacobian product per output element.
 */
function analyticalJacobians(fn: GradcheckFunction, inputs: readonly Tensor[], wrt: readonly Tensor[]): [Shapes, Values[][]] {
  return scope(() => {
    const outputs = outputList(fn(...inputs));
    const shapes = outputs.map((o) => (isFloatingDType(o.dtype) ? o.shape : null));
    const jac = wrt.map((x) => shapes.map((s) => (s === null ? null : new Float64Array(numel(s) * x.numel))));
    outputs.forEach((o, oi) => {
      // An output that does not require grad does not depend on the inputs: its rows stay 0.
      if (shapes[oi] === null || !o.requiresGrad) return;
      for (let j = 0; j < o.numel; j++) {
        scope(() => {
          const oneHot = new Float64Array(o.numel);
          oneHot[j] = 1;
          const seed = tensor(oneHot, { dtype: o.dtype }).reshape(o.shape);
          const grads = grad([o], wrt, { gradOutputs: [seed], retainGraph: true, allowUnused: true });
          grads.forEach((g, c) => {
            if (g !== null) jac[c]![oi]!.set(flat(g), j * wrt[c]!.numel);
          });
        });
      }
    });
    return [shapes, jac];
  });
}

/** The same Jacobians for input `i` by central differences. */
function numericalJacobians(fn: GradcheckFunction, inputs: readonly Tensor[], i: number, shapes: Shapes, eps: number): Values[] {
  const x = inputs[i]!;
  const n = x.numel;
  const jac = shapes.map((s) => (s === null ? null : new Float64Array(numel(s) * n)));
  for (let k = 0; k < n; k++) {
    const at = (delta: number) => scope(() => evaluate(fn, inputs.map((y, yi) => (yi === i ? perturbed(x, k, delta) : y))));
    const plus = at(eps);
    const minus = at(-eps);
    jac.forEach((J, oi) => {
      const p = plus[oi];
      const m = minus[oi];
      if (!J || !p || !m) return;
      for (let j = 0; j < p.length; j++) J[j * n + k] = (p[j]! - m[j]!) / (2 * eps);
    });
  }
  return jac;
}

/** The entry that exceeds `atol + rtol * |numerical|` the most (NaN counts as worst), or -1. */
function worstMismatch(analytical: Float64Array, numerical: Float64Array, atol: number, rtol: number): number {
  let worst = -1;
  let worstExcess = 0;
  for (let e = 0; e < numerical.length; e++) {
    const excess = Math.abs(analytical[e]! - numerical[e]!) - (atol + rtol * Math.abs(numerical[e]!));
    if (!(excess <= worstExcess)) {
      worst = e;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  return worst;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Checks the gradients of `fn` at `inputs`: for every input that requires grad (it must be
 * float64) and every floating-point output, the analytical Jacobian must match central finite
 * differences within `atol + rtol * |numerical|`. Returns true or throws an Error naming the
 * input, the output and the worst mismatching Jacobian entry.
 */
export function gradcheck(fn: GradcheckFunction, inputs: readonly Tensor[], options: GradcheckOptions = {}): true {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3 } = options;
  const checked = inputs.flatMap((x, i) => (x.requiresGrad ? [i] : []));
  if (checked.length === 0) throw new TypeError('gradcheck: no input requires grad');
  for (const i of checked) {
    const dtype = inputs[i]!.dtype;
    if (dtype !== 'float64') throw new TypeError(`gradcheck: input ${i} requires grad but is ${dtype}; finite differences need float64 inputs`);
  }
  const [shapes, analytical] = analyticalJacobians(fn, inputs, checked.map((i) => inputs[i]!));
  checked.forEach((i, c) => {
    const inShape = inputs[i]!.shape;
    const n = numel(inShape);
    numericalJacobians(fn, inputs, i, shapes, eps).forEach((num, oi) => {
      const ana = analytical[c]![oi];
      if (!num || !ana) return;
      const worst = worstMismatch(ana, num, atol, rtol);
      if (worst < 0) return;
      const outAt = unravel(Math.floor(worst / n), shapes[oi]!).join(', ');
      const inAt = unravel(worst % n, inShape).join(', ');
      throw new Error(
        `gradcheck: Jacobian mismatch for output ${oi} with respect to input ${i}: worst at d output[${outAt}] / d input[${inAt}]: ` +
          `analytical ${ana[worst]}, numerical ${num[worst]} (atol ${atol}, rtol ${rtol})`,
      );
    });
  });
  return true;
}
