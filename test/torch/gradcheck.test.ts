// Finite-difference tests: gradcheck itself, every differentiable op in opTable (a new op in
// ops.def without a sample in op-samples.ts fails here), in-place variants, and the composites
// in functional.ts.
import { describe, expect, it } from 'vitest';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { makeInputs, type OpSample, opSamples, positive } from './op-samples.js';

const samplesOf = (s: OpSample | readonly OpSample[]): readonly OpSample[] => (Array.isArray(s) ? s : [s as OpSample]);

/** Gradchecks every sample, disposing what it made; errors say which sample failed. */
function check(label: string, samples: readonly OpSample[], variant: (s: OpSample) => OpSample['fn'] = (s) => s.fn): void {
  samples.forEach((s, n) => {
    torch.scope(() => {
      const inputs = makeInputs(s.inputs);
      try {
        torch.gradcheck(variant(s), inputs, s.options);
      } catch (e) {
        throw new Error(`${label} sample ${n}: ${(e as Error).message}`);
      }
    });
  });
}

describe('gradcheck', () => {
  const x = () => torch.tensor(new Float64Array([0.3, -1.2, 2.5]), { requiresGrad: true });
  const scaleBy = (factor: number) =>
    torch.defineFunction('ScaleBy', {
      forward: (_ctx, a: Tensor) => a.mul(2),
      backward: (_ctx, g) => g!.mul(factor),
    });

  it('accepts correct gradients of single and multiple outputs', () => {
    expect(torch.gradcheck((a) => a.sin().mul(a), [x()])).toBe(true);
    expect(torch.gradcheck((a, b) => [a.mul(b), a.add(b).exp()], [x(), x()])).toBe(true);
    expect(torch.gradcheck(scaleBy(2), [x()])).toBe(true);
  });

  it('names the input, output and worst entry of a wrong Jacobian', () => {
    const wrong = scaleBy(3);
    const frozen = torch.tensor(new Float64Array([1, 2, 3]));
    // Input 1 is checked, input 0 does not require grad; output 1 is the wrong one.
    expect(() => torch.gradcheck((c, a) => [a.add(c), wrong(a)], [frozen, x()])).toThrow(
      /output 1 with respect to input 1: worst at d output\[(\d)\] \/ d input\[\1\]: analytical 3, numerical (1\.9{6}|2\.0{6}|2 )/,
    );
  });

  it('catches a gradient that is wrong at a single position', () => {
    const masked = torch.defineFunction('Square', {
      forward: (ctx, a: Tensor) => {
        ctx.saveForBackward(a);
        return a.mul(a);
      },
      // Drops the gradient of element [1, 0] only.
      backward: (ctx, g) => g!.mul(ctx.savedTensors[0]!).mul(2).mul(torch.tensor(new Float64Array([1, 1, 0, 1])).reshape(2, 2)),
    });
    const a = torch.tensor(new Float64Array([0.5, 1, 1.5, 2])).reshape(2, 2).requiresGrad_();
    expect(() => torch.gradcheck(masked, [a])).toThrow(/d output\[1, 0\] \/ d input\[1, 0\]: analytical 0, numerical (2\.9{6}|3\.0{6}|3 )/);
  });

  it('skips integer outputs and outputs that do not depend on the inputs', () => {
    const constant = torch.tensor(new Float64Array([4, 5]));
    expect(torch.gradcheck((a) => [a.argmax(), a.exp(), constant], [x()])).toBe(true);
  });

  it('requires float64 inputs and at least one input that requires grad', () => {
    const f32 = torch.tensor([1, 2], { requiresGrad: true });
    expect(() => torch.gradcheck((a) => a.exp(), [f32])).toThrow(/input 0 requires grad but is float32/);
    expect(() => torch.gradcheck((a) => a.exp(), [torch.tensor(new Float64Array([1]))])).toThrow(/no input requires grad/);
  });

  it('leaves no tensors behind', () => {
    const a = x();
    const before = torch.liveTensors();
    torch.gradcheck((t) => t.tanh().sum(), [a]);
    expect(torch.liveTensors()).toBe(before);
  });
});

describe('gradcheck of every differentiable op in opTable', () => {
  const differentiable = torch.opTable.filter((op) => op.differentiable);

  it('has no samples for ops that are unknown or not differentiable', () => {
    const names = new Set(differentiable.map((op) => op.name));
    expect(Object.keys(opSamples).filter((name) => !names.has(name))).toEqual([]);
  });

  it.each(differentiable.map((op) => [op.name, op] as const))('%s', (name) => {
    const sample = opSamples[name];
    if (!sample) throw new Error(`differentiable op '${name}' has no gradcheck sample: add one to test/torch/op-samples.ts`);
    check(name, samplesOf(sample));
  });

  it.each(differentiable.filter((op) => op.inplace).map((op) => [op.name] as const))('%s_ on a non-leaf clone', (name) => {
    const withInplace = samplesOf(opSamples[name] ?? []).filter((s) => s.inplace);
    if (withInplace.length === 0) throw new Error(`in-place op '${name}_' has no sample with an \`inplace\` variant in test/torch/op-samples.ts`);
    check(`${name}_`, withInplace, (s) => (self, ...rest) => {
      // In place on a leaf that requires grad is an error; on a non-leaf clone it is recorded.
      const target = self.clone();
      const out = s.inplace!(target, ...rest);
      expect(out).toBe(target);
      return out;
    });
  });
});

describe('gradcheck of the composites in functional.ts', () => {
  const boolMask = torch.tensor([[true, false, true], [true, true, false]]);
  const composites: Record<string, OpSample[]> = {
    normalize: [
      { inputs: [[2, 3]], fn: (x) => torch.normalize(x) },
      { inputs: [[2, 3]], fn: (x) => torch.normalize(x, { p: 3, dim: 0 }) },
    ],
    interpolate: [
      { inputs: [[1, 1, 2, 3]], fn: (x) => torch.interpolate(x, { size: [3, 4] }) },
      { inputs: [[1, 1, 3, 3]], fn: (x) => torch.interpolate(x, { scaleFactor: 1.5, mode: 'bilinear' }) },
      { inputs: [[1, 1, 3, 3]], fn: (x) => torch.interpolate(x, { size: 4, mode: 'bilinear', alignCorners: true }) },
      { inputs: [[1, 1, 3, 3]], fn: (x) => torch.interpolate(x, { scaleFactor: [2, 1.5], mode: 'bicubic' }) },
      { inputs: [[1, 1, 5, 5]], fn: (x) => torch.interpolate(x, { size: [2, 3], mode: 'bicubic', antialias: true }) },
    ],
    klDiv: [
      { inputs: [[3, 2], positive(3, 2)], fn: (x, t) => torch.klDiv(x.logSoftmax(1), t, { reduction: 'batchmean' }) },
      { inputs: [[3, 2], [3, 2]], fn: (x, t) => torch.klDiv(x, t, { reduction: 'mean', logTarget: true }) },
    ],
    scaledDotProductAttention: [
      { inputs: [[2, 2, 3], [2, 3, 3], [2, 3, 2]], fn: (q, k, v) => torch.scaledDotProductAttention(q, k, v) },
      { inputs: [[2, 2, 3], [2, 3, 3], [2, 3, 2]], fn: (q, k, v) => torch.scaledDotProductAttention(q, k, v, { attnMask: boolMask, scale: 0.7 }) },
      // Float (additive) mask, differentiable too.
      { inputs: [[2, 2, 3], [2, 3, 3], [2, 3, 2], [2, 3]], fn: (q, k, v, m) => torch.scaledDotProductAttention(q, k, v, { attnMask: m }) },
      { inputs: [[1, 3, 2], [1, 3, 2], [1, 3, 2]], fn: (q, k, v) => torch.scaledDotProductAttention(q, k, v, { isCausal: true }) },
    ],
    multiHeadAttention: [
      {
        // [L=2, N=2, E=4] queries, S=3 keys, 2 heads; padding hides key 2 of batch 1, the
        // attention mask hides key 0 from query 1. Both outputs (values and weights) are checked.
        inputs: [[2, 2, 4], [3, 2, 4], [3, 2, 4], [12, 4], [12], [4, 4], [4]],
        fn: (q, k, v, inW, inB, outW, outB) => {
          const [out, weights] = torch.multiHeadAttention(
            q,
            k,
            v,
            2,
            { inProjWeight: inW, inProjBias: inB, outProjWeight: outW, outProjBias: outB },
            {
              keyPaddingMask: torch.tensor([[false, false, false], [false, false, true]]),
              attnMask: torch.tensor([[false, false, false], [true, false, false]]),
            },
          );
          return [out, weights!];
        },
      },
      {
        inputs: [[2, 3, 4], [2, 3, 4], [12, 4], [4, 4]],
        fn: (q, kv, inW, outW) => {
          const [out, weights] = torch.multiHeadAttention(q, kv, kv, 2, { inProjWeight: inW, outProjWeight: outW }, {
            batchFirst: true,
            isCausal: true,
            averageAttnWeights: false,
          });
          return [out, weights!];
        },
      },
    ],
  };

  it.each(Object.entries(composites))('%s', (name, samples) => {
    check(name, samples);
  });
});
