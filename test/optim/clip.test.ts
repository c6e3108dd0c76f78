// Gradient clipping against torch.nn.utils.clip_grad_norm_ / clip_grad_value_ (foreach), and
// gradient accumulation over micro-batches.
import { describe, expect, it } from 'vitest';
import * as optim from '../../src/optim/index.js';
import * as torch from '../../src/torch/index.js';
import { decode, expectClose, loadFixture, type Encoded } from './fixtures.js';

interface ClipCase {
  kind: 'norm' | 'value';
  maxNorm?: number;
  normType?: number | 'inf';
  clipValue?: number;
  total?: number;
  grads: Encoded[];
}
const fixture = loadFixture<{ input: Encoded[]; cases: ClipCase[] }>('clip.json');

function paramsWithGrads(): torch.Tensor[] {
  return fixture.input.map((e) => {
    const p = torch.zeros(e.shape).requiresGrad_();
    p.grad = decode(e);
    return p;
  });
}

describe('clipGradNorm_ / clipGradValue_', () => {
  it.each(fixture.cases.map((c) => [`${c.kind} ${c.maxNorm ?? c.clipValue} ${c.normType ?? ''}`, c] as const))('%s matches PyTorch', (_, c) => {
    torch.scope(() => {
      const params = paramsWithGrads();
      if (c.kind === 'norm') {
        const normType = c.normType === 'inf' ? Infinity : c.normType!;
        const total = optim.clipGradNorm_(params, c.maxNorm!, normType);
        expect(total.shape).toEqual([]);
        expect(Math.abs((total.item() as number) - c.total!)).toBeLessThanOrEqual(1e-6 * c.total!);
      } else {
        optim.clipGradValue_(params, c.clipValue!);
      }
      params.forEach((p, i) => expectClose(p.grad!, c.grads[i]!, 1e-6, `grad ${i}`));
    });
  });

  it('returns 0 without gradients and can refuse a non-finite norm', () => {
    torch.scope(() => {
      const p = torch.ones(2).requiresGrad_();
      expect(optim.clipGradNorm_([p], 1).item()).toBe(0);
      p.grad = torch.tensor([Infinity, 1]);
      expect(() => optim.clipGradNorm_(p, 1, 2, { errorIfNonfinite: true })).toThrow(/non-finite/);
      expect(optim.clipGradNorm_(p, 1).item()).toBe(Infinity);
    });
  });
});

describe('accumulateGradients', () => {
  it('accumulates the gradient of the mean loss over the whole batch', () => {
    torch.scope(() => {
      torch.manualSeed(0);
      const w = torch.randn(3, 2).requiresGrad_();
      const x = torch.randn(8, 3);
      const y = torch.randn(8, 2);
      const lossOf = (xb: torch.Tensor, yb: torch.Tensor): torch.Tensor => torch.mseLoss(xb.matmul(w), yb);

      const full = lossOf(x, y);
      full.backward();
      const expected = w.grad!.clone();
      w.grad = null;

      const batches = [0, 2, 4, 6].map((i) => [x.narrow(0, i, 2), y.narrow(0, i, 2)] as const);
      const mean = optim.accumulateGradients(batches, ([xb, yb]) => lossOf(xb, yb));
      expect(mean).toBeCloseTo(full.item() as number, 6);
      expect(w.grad!.allclose(expected, 1e-6, 1e-7)).toBe(true);

      // A step on the accumulated gradient equals a step on the full batch's.
      const opt = new optim.SGD([w], { lr: 0.1 });
      const before = w.detach().clone();
      opt.step();
      expect(w.detach().allclose(before.sub(expected.mul(0.1)), 1e-6, 1e-7)).toBe(true);
      expect(() => optim.accumulateGradients([], () => full)).toThrow(/no micro-batches/);
    });
  });
});
