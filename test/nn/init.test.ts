// nn.init against PyTorch (test/fixtures/nn/init.json): after the same seed, each initialiser
// must draw exactly PyTorch's values; gains and fans follow torch.nn.init.
import { describe, expect, it } from 'vitest';
import { nn } from '../../src/index.js';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { EXACT, decode, loadFixture, mismatch } from './fixtures.js';
import type { Encoded, EncodedTensor } from './fixtures.js';

interface InitCase {
  id: string;
  seed: number;
  shape: number[];
  name: keyof typeof nn.init;
  args: Encoded[];
  expected: EncodedTensor;
}

const { cases, gains } = loadFixture<{ cases: InitCase[]; gains: Record<string, number> }>('init');

describe('nn.init vs PyTorch', () => {
  for (const c of cases) {
    it(c.id, () => {
      torch.scope(() => {
        torch.manualSeed(c.seed);
        const t = torch.empty(...c.shape);
        const fn = nn.init[c.name] as (t: Tensor, ...args: unknown[]) => Tensor;
        expect(fn(t, ...(decode(c.args) as unknown[]))).toBe(t);
        expect(mismatch(t, c.expected, EXACT, c.id)).toBeNull();
      });
    });
  }

  it('calculateGain matches torch.nn.init.calculate_gain', () => {
    const ours: Record<string, number> = {
      linear: nn.init.calculateGain('linear'),
      conv2d: nn.init.calculateGain('conv2d'),
      sigmoid: nn.init.calculateGain('sigmoid'),
      tanh: nn.init.calculateGain('tanh'),
      relu: nn.init.calculateGain('relu'),
      leaky_relu: nn.init.calculateGain('leaky_relu'),
      selu: nn.init.calculateGain('selu'),
      'leaky_relu_0.2': nn.init.calculateGain('leaky_relu', 0.2),
      leaky_relu_sqrt5: nn.init.calculateGain('leaky_relu', Math.sqrt(5)),
    };
    expect(ours).toEqual(gains);
  });

  it('initialises in place without recording autograd history, even on leaves that require grad', () => {
    torch.scope(() => {
      const w = torch.empty(3, 4, { requiresGrad: true });
      nn.init.kaimingNormal_(w);
      expect(w.isLeaf).toBe(true);
      expect(w.gradFn).toBeNull();
    });
  });

  it('fan in and fan out need two dimensions', () => {
    torch.scope(() => {
      expect(nn.init.calculateFanInAndFanOut(torch.empty(6, 4, 3, 3))).toEqual([36, 54]);
      expect(() => nn.init.xavierUniform_(torch.empty(5))).toThrow(/at least 2 dimensions, got shape \[5\]/);
    });
  });
});
