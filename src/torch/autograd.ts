// Autograd beyond Tensor.backward: grad mode, autograd.grad, and custom functions whose
// forward and backward are TypeScript.
import type { Handle } from './handle.js';
import { h } from './handle.js';
import { wrap, wrapList } from './memory.js';
import { native } from './native.js';
import type { Tensor } from './tensor.js';

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

export function setGradEnabled(enabled: boolean): void {
  native.setGradEnabled(enabled);
}

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = native.isGradEnabled();
  native.setGradEnabled(enabled);
  try {
    const r = fn();
    if (r instanceof Promise) throw new TypeError('grad mode is thread-local and synchronous: the function must not be async');
    return r;
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Runs `fn` without recording operations for autograd (PyTorch's `torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with autograd recording on, e.g. inside a noGrad region. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

export interface GradOptions {
  gradOutputs?: readonly (Tensor | null)[];
  retainGraph?: boolean;
  createGraph?: boolean;
  allowUnused?: boolean;
}

/** Gradients of `outputs` with respect to `inputs`, without touching `.grad` (PyTorch's `torch.autograd.grad`). */
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs as Tensor];
  const ins = Array.isArray(inputs) ? inputs : [inputs as Tensor];
  // h() passes anything that is not a tensor through, for the binding to reject by name.
  const result = native.autogradGrad(
    outs.map(h) as Handle[],
    ins.map(h) as Handle[],
    options.gradOutputs?.map(h) as (Handle | null)[] | undefined,
    options.retainGraph,
    options.createGraph,
    options.allowUnused,
  );
  return wrapList(result);
}

/** State shared by a custom function's forward and backward. */
export class FunctionCtx {
  private saved: Tensor[] = [];
  /** Arbitrary non-tensor values the backward needs. */
  readonly data: Record<string, unknown> = {};
  saveForBackward(...tensors: Tensor[]): void {
    this.saved = tensors;
  }
  get savedTensors(): readonly Tensor[] {
    return this.saved;
  }
}

export interface FunctionDefinition<I extends Tensor[], O extends Tensor | Tensor[]> {
  /** Runs with grad mode off; must return new tensors (inputs are cloned if returned). */
  forward(ctx: FunctionCtx, ...inputs: I): O;
  /** Gets one gradient per output (null where none flowed) and returns one per input (null for none). */
  backward(ctx: FunctionCtx, ...grads: (Tensor | null)[]): Tensor | null | (Tensor | null)[];
}

/**
 * Defines a differentiable function from a TypeScript forward and backward (PyTorch's
 * `torch.autograd.Function`). The backward runs on the JS thread when libtorch reaches its
 * node; CPU graphs only (libtorch runs CUDA backward on its own device threads).
 */
export function defineFunction<I extends Tensor[], O extends Tensor | Tensor[]>(
  name: string,
  def: FunctionDefinition<I, O>,
): (...inputs: I) => O {
  return (...inputs: I): O => {
    const ctx = new FunctionCtx();
    const out = noGrad(() => def.forward(ctx, ...inputs));
    const outs = (Array.isArray(out) ? out : [out]) as Tensor[];
    const backward = (...grads: (Handle | null)[]): unknown => {
      const gs = grads.map((g) => (g === null ? null : wrap(g)));
      const r = def.backward(ctx, ...gs);
      return Array.isArray(r) ? r.map((t) => (t === null ? null : h(t))) : r === null ? null : h(r);
    };
    const wired = wrapList(native.attachFunction(name, inputs.map((t) => t._h), outs.map((t) => t._h), backward));
    // The forward's own handles are superseded by the wired ones (same storage); inputs stay.
    for (const o of outs) if (!inputs.includes(o)) o.dispose();
    return (Array.isArray(out) ? wired : wired[0]) as O;
  };
}
