// Autograd behaviour: backward, autograd.grad, hooks, grad mode, leaf/graph metadata and
// custom functions. Expected gradients are closed-form derivatives (d/dx x^2 = 2x, ...).
import { describe, expect, it } from 'vitest';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';

const leaf = (values: number[]) => torch.tensor(new Float64Array(values), { requiresGrad: true });
const f64 = (values: number[]) => torch.tensor(new Float64Array(values));

describe('Tensor.backward', () => {
  it('needs no gradient for a scalar output', () => {
    const x = leaf([1, -2, 3]);
    x.mul(x).sum().backward();
    expect(x.grad!.toNested()).toEqual([2, -4, 6]);
  });

  it('requires a gradient for a non-scalar output, and uses it', () => {
    const x = leaf([1, 2]);
    expect(() => x.mul(3).backward()).toThrow(/implicitly created only for scalar outputs; pass a gradient for float64\[2\]/);
    x.mul(3).backward(f64([1, 10]));
    expect(x.grad!.toNested()).toEqual([3, 30]);
    expect(() => x.mul(3).backward(f64([1, 2, 3]))).toThrow(/got \[3\] but expected shape compatible with \[2\]/);
  });

  it('rejects a tensor that does not require grad', () => {
    expect(() => f64([1]).backward()).toThrow(/does not require grad/);
  });

  it('frees the graph unless retainGraph is set', () => {
    const x = leaf([1, 2]);
    const y = x.mul(x).sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expect(x.grad!.toNested()).toEqual([4, 8]); // 2x, twice
    expect(() => y.backward()).toThrow(/backward through the graph a second time/);
  });

  it('accumulates into .grad until it is reset to null', () => {
    const x = leaf([1, 2]);
    x.mul(2).sum().backward();
    x.mul(x).sum().backward();
    expect(x.grad!.toNested()).toEqual([2 + 2, 2 + 4]);
    x.grad = null;
    expect(x.grad).toBeNull();
    x.mul(5).sum().backward();
    expect(x.grad!.toNested()).toEqual([5, 5]);
  });

  it('accepts an assigned .grad of the same shape and rejects another shape', () => {
    const x = leaf([1, 2]);
    x.grad = f64([10, 20]);
    x.sum().backward();
    expect(x.grad.toNested()).toEqual([11, 21]);
    expect(() => {
      x.grad = f64([1, 2, 3]);
    }).toThrow(/assigned grad float64\[3\] must match the tensor float64\[2\]/);
  });

  it('accumulates only into the given inputs', () => {
    const x = leaf([2]);
    const z = leaf([3]);
    x.mul(z).sum().backward(undefined, { inputs: [x] });
    expect(x.grad!.toNested()).toEqual([3]);
    expect(z.grad).toBeNull();
  });

  it('throws a clear error for a disposed tensor', () => {
    const x = leaf([1, 2]);
    const y = x.mul(2).sum();
    y.dispose();
    expect(() => y.backward()).toThrow(/backward: argument 'self' must be a live Tensor \(it was disposed\)/);
    const g = f64([1, 1]);
    g.dispose();
    expect(() => x.mul(2).backward(g)).toThrow(/argument 'gradient' must be a live Tensor/);
  });
});

describe('torch.autograd.grad', () => {
  it('returns gradients without touching .grad', () => {
    const x = leaf([1, 2]);
    const [g] = torch.autograd.grad(x.mul(x).sum(), x);
    expect(g!.toNested()).toEqual([2, 4]);
    expect(g!.requiresGrad).toBe(false);
    expect(x.grad).toBeNull();
  });

  it('takes gradOutputs for non-scalar outputs', () => {
    const x = leaf([1, 2]);
    const [g] = torch.autograd.grad([x.mul(x)], [x], { gradOutputs: [f64([1, 10])] });
    expect(g!.toNested()).toEqual([2, 40]);
  });

  it('differentiates twice with createGraph (x^3: 3x^2, then 6x)', () => {
    const x = leaf([1, -2, 0.5]);
    const [first] = torch.autograd.grad(x.pow(3).sum(), x, { createGraph: true });
    expect(first!.toNested()).toEqual([3, 12, 0.75]);
    expect(first!.requiresGrad).toBe(true);
    const [second] = torch.autograd.grad(first!.sum(), x);
    expect(second!.toNested()).toEqual([6, -12, 3]);
  });

  it('needs allowUnused for an input the output does not depend on', () => {
    const x = leaf([1]);
    const unused = leaf([2]);
    expect(() => torch.autograd.grad(x.mul(2).sum(), [x, unused])).toThrow(/element 1\s*of the differentiated Tensors appears to not have been used/);
    const [gx, gu] = torch.autograd.grad(x.mul(2).sum(), [x, unused], { allowUnused: true });
    expect(gx!.toNested()).toEqual([2]);
    expect(gu).toBeNull();
  });
});

describe('hooks and retainGrad', () => {
  it('lets a hook observe and replace a gradient until it is removed', () => {
    const x = leaf([1, 2]);
    const seen: unknown[] = [];
    const handle = x.registerHook((g) => {
      seen.push(g.toNested());
      return g.mul(10);
    });
    x.mul(3).sum().backward();
    expect(seen).toEqual([[3, 3]]);
    expect(x.grad!.toNested()).toEqual([30, 30]);
    handle.remove();
    x.grad = null;
    x.mul(3).sum().backward();
    expect(seen).toHaveLength(1);
    expect(x.grad!.toNested()).toEqual([3, 3]);
  });

  it('propagates a replaced gradient of a non-leaf to the leaves', () => {
    const x = leaf([1, 2]);
    const y = x.mul(2);
    y.registerHook((g) => g.mul(f64([0, 1])));
    y.sum().backward();
    expect(x.grad!.toNested()).toEqual([0, 2]);
  });

  it('reports a hook that changes the gradient shape, and one on a tensor without grad', () => {
    const x = leaf([1, 2]);
    x.registerHook(() => f64([1, 2, 3]));
    expect(() => x.mul(2).sum().backward()).toThrow(/hook '0' has changed the size of value/);
    expect(() => f64([1]).registerHook(() => undefined)).toThrow(/cannot register a hook on a tensor that does not require grad/);
  });

  it('keeps .grad of a non-leaf only with retainGrad', () => {
    const x = leaf([1, 2]);
    const y = x.mul(2).retainGrad();
    const z = x.mul(2);
    y.mul(y).add(z).sum().backward();
    expect(y.grad!.toNested()).toEqual([4, 8]); // 2y
    expect(z.grad).toBeNull(); // libtorch warns about reading .grad of a non-leaf, as PyTorch does
    expect(x.grad!.toNested()).toEqual([8 + 2, 16 + 2]);
  });
});

describe('grad mode and graph metadata', () => {
  it('records nothing under noGrad, and again under a nested enableGrad', () => {
    const x = leaf([1]);
    const [off, on, offAgain] = torch.noGrad(() => {
      expect(torch.isGradEnabled()).toBe(false);
      return [x.mul(x), torch.enableGrad(() => x.mul(x)), torch.enableGrad(() => torch.noGrad(() => x.mul(x)))];
    });
    expect(torch.isGradEnabled()).toBe(true);
    expect([off!.requiresGrad, on!.requiresGrad, offAgain!.requiresGrad]).toEqual([false, true, false]);
    expect(off!.gradFn).toBeNull();
    expect(on!.gradFn).toBe('MulBackward0');
  });

  it('restores grad mode when the function throws, and rejects async functions', () => {
    expect(() =>
      torch.noGrad(() => {
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(torch.isGradEnabled()).toBe(true);
    expect(() => torch.noGrad((async () => 1) as unknown as () => number)).toThrow(/must not be async/);
    expect(torch.isGradEnabled()).toBe(true);
  });

  it('names leaves and graph nodes', () => {
    const x = leaf([1, 2]);
    const plain = f64([1, 2]);
    expect([x.isLeaf, x.gradFn, x.requiresGrad]).toEqual([true, null, true]);
    expect([plain.isLeaf, plain.gradFn, plain.requiresGrad]).toEqual([true, null, false]);
    const y = x.add(plain);
    expect([y.isLeaf, y.gradFn]).toEqual([false, 'AddBackward0']);
    expect(y.mul(plain).gradFn).toBe('MulBackward0');
    expect(y.sum([0]).gradFn).toBe('SumBackward1');
  });

  it('detaches from the graph, keeping the values', () => {
    const y = leaf([1, 2]).mul(f64([3, 3]));
    const d = y.detach();
    expect([d.requiresGrad, d.isLeaf, d.gradFn]).toEqual([false, true, null]);
    expect(d.toNested()).toEqual([3, 6]);
    expect(y.gradFn).toBe('MulBackward0');
  });

  it('toggles requiresGrad on leaves only', () => {
    const x = f64([1]);
    expect(x.requiresGrad_().requiresGrad).toBe(true);
    expect(x.requiresGrad_(false).requiresGrad).toBe(false);
    expect(() => leaf([1]).mul(2).requiresGrad_(false)).toThrow(/only change requires_grad flags of leaf variables/);
  });
});

describe('defineFunction', () => {
  const square = torch.defineFunction('Square', {
    forward: (ctx, a: Tensor) => {
      ctx.saveForBackward(a);
      return a.mul(a);
    },
    backward: (ctx, g) => g!.mul(ctx.savedTensors[0]!).mul(2),
  });
  // d(ab)/da = b; the gradient for b is deliberately left out (null).
  const mulOnlyA = torch.defineFunction('MulOnlyA', {
    forward: (ctx, a: Tensor, b: Tensor) => {
      ctx.saveForBackward(b);
      return a.mul(b);
    },
    backward: (ctx, g) => [g!.mul(ctx.savedTensors[0]!), null],
  });
  const sinCos = torch.defineFunction('SinCos', {
    forward: (ctx, a: Tensor) => {
      ctx.saveForBackward(a);
      return [a.sin(), a.cos()];
    },
    // Either output gradient is null when that output was not used.
    backward: (ctx, gSin, gCos) => {
      const a = ctx.savedTensors[0]!;
      let g = torch.zerosLike(a);
      if (gSin) g = g.add(gSin.mul(a.cos()));
      if (gCos) g = g.sub(gCos.mul(a.sin()));
      return g;
    },
  });

  it('runs a one-input function forward and backward', () => {
    const x = leaf([1, -3]);
    const y = square(x);
    expect(y.gradFn).toBe('SquareBackward');
    expect(y.toNested()).toEqual([1, 9]);
    y.sum().backward();
    expect(x.grad!.toNested()).toEqual([2, -6]);
  });

  it('passes gradcheck, also for two inputs and for two outputs', () => {
    expect(torch.gradcheck(square, [leaf([0.5, -1.5])])).toBe(true);
    expect(torch.gradcheck((a, b) => sinCos(a.mul(b)), [leaf([0.3, 1.2]), leaf([-0.7, 2])])).toBe(true);
    expect(torch.gradcheck((x) => sinCos(x)[1]!, [leaf([0.3, 1.2])])).toBe(true);
  });

  it('leaves inputs with a null gradient without one', () => {
    const a = leaf([1, 2]);
    const b = leaf([3, 4]);
    mulOnlyA(a, b).sum().backward();
    expect(a.grad!.toNested()).toEqual([3, 4]);
    expect(b.grad).toBeNull();
    const noGradAtAll = torch.defineFunction('NoGradient', { forward: (_ctx, t: Tensor) => t.mul(2), backward: () => null });
    const c = leaf([1]);
    noGradAtAll(c).sum().backward();
    expect(c.grad).toBeNull();
  });

  it('records nothing when no input requires grad or under noGrad', () => {
    const x = leaf([1, 2]);
    expect(mulOnlyA(f64([1]), f64([2])).requiresGrad).toBe(false);
    const y = torch.noGrad(() => square(x));
    expect([y.requiresGrad, y.gradFn]).toEqual([false, null]);
    expect(y.toNested()).toEqual([1, 4]);
  });

  it('gives a new tensor when the forward returns its input unchanged', () => {
    const identity = torch.defineFunction('Identity', { forward: (_ctx, t: Tensor) => t, backward: (_ctx, g) => g });
    const x = leaf([1, 2]);
    const y = identity(x);
    expect(y).not.toBe(x);
    expect([y.gradFn, x.gradFn, x.isLeaf]).toEqual(['IdentityBackward', null, true]);
    y.mul(f64([3, 4])).sum().backward();
    expect(x.grad!.toNested()).toEqual([3, 4]);
  });

  it('reports a backward that returns the wrong number, shape or kind of gradients', () => {
    const a = leaf([1, 2]);
    const b = leaf([3, 4]);
    const wrongCount = torch.defineFunction('WrongCount', { forward: (_ctx, s: Tensor, t: Tensor) => s.mul(t), backward: (_ctx, g) => [g] });
    expect(() => wrongCount(a, b).sum().backward()).toThrow(/WrongCount: backward returned 1 gradients for 2 inputs/);
    const single = torch.defineFunction('Single', { forward: (_ctx, s: Tensor, t: Tensor) => s.mul(t), backward: (_ctx, g) => g });
    expect(() => single(a, b).sum().backward()).toThrow(/Single: backward must return an array with one gradient .* per input \(2\)/);
    const wrongShape = torch.defineFunction('WrongShape', { forward: (_ctx, s: Tensor) => s.mul(2), backward: () => f64([1, 2, 3]) });
    expect(() => wrongShape(a).sum().backward()).toThrow(/WrongShapeBackward returned an invalid gradient at index 0 - got \[3\] but expected shape compatible with \[2\]/);
    const notATensor = torch.defineFunction('NotATensor', { forward: (_ctx, s: Tensor) => s.mul(2), backward: () => [7 as unknown as Tensor] });
    expect(() => notATensor(a).sum().backward()).toThrow(/NotATensor: backward result 0 must be a Tensor or null/);
  });

  it('rethrows an error thrown by the backward, and keeps working', () => {
    const failing = torch.defineFunction('Failing', {
      forward: (_ctx, s: Tensor) => s.mul(2),
      backward: () => {
        throw new RangeError('backward failed on purpose');
      },
    });
    const x = leaf([1]);
    expect(() => failing(x).sum().backward()).toThrow(/backward failed on purpose/);
    square(x).sum().backward();
    expect(x.grad!.toNested()).toEqual([2]);
  });
});
