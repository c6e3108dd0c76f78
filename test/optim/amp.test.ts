// Mixed precision: autocast scopes on the CPU (bfloat16 and float16 matmuls against PyTorch's
// autocast results) and GradScaler against torch.amp.GradScaler('cpu').
import { describe, expect, it } from 'vitest';
import * as optim from '../../src/optim/index.js';
import * as torch from '../../src/torch/index.js';
import { decode, expectClose, gradOf, loadFixture, type Encoded } from './fixtures.js';

interface AmpFixture {
  autocast: { x: Encoded; w: Encoded } & Record<'bfloat16' | 'float16', { dtype: string; y: Encoded }>;
  scaler: {
    options: { initScale: number; growthFactor: number; backoffFactor: number; growthInterval: number };
    bad_steps: Record<string, 'inf' | 'nan'>;
    steps: { scale: number; params: Encoded[] }[];
    state_dict: optim.GradScalerStateDict;
  };
}
const fx = loadFixture<AmpFixture>('amp.json');
const problem = loadFixture<{ cases: { params: Encoded[]; targets: Encoded[]; weights: Encoded[] }[] }>('optimizers.json').cases[0]!;

describe('autocast', () => {
  it.each(['bfloat16', 'float16'] as const)('runs a CPU matmul in %s, as PyTorch', (dtype) => {
    torch.scope(() => {
      const [x, w] = [decode(fx.autocast.x), decode(fx.autocast.w)];
      const y = optim.autocast({ deviceType: 'cpu', dtype }, () => x.matmul(w));
      expect(y.dtype).toBe(fx.autocast[dtype].dtype);
      expectClose(y.float(), fx.autocast[dtype].y, 0, 'y');
      expect(x.matmul(w).dtype).toBe('float32');
    });
  });

  it('nests, restores the outer state on exit and on throw', () => {
    torch.scope(() => {
      const x = torch.ones(2, 2);
      expect(optim.isAutocastEnabled('cpu')).toBe(false);
      optim.autocast({ deviceType: 'cpu' }, () => {
        expect(optim.isAutocastEnabled('cpu')).toBe(true);
        optim.autocast({ deviceType: 'cpu', enabled: false }, () => expect(x.matmul(x).dtype).toBe('float32'));
        expect(x.matmul(x).dtype).toBe('bfloat16');
        expect(() => optim.autocast({ deviceType: 'cpu', dtype: 'float16' }, () => {
          throw new Error('boom');
        })).toThrow('boom');
        expect(x.matmul(x).dtype).toBe('bfloat16');
      });
      expect(optim.isAutocastEnabled('cpu')).toBe(false);
      expect(() => optim.autocast({ deviceType: 'cpu', dtype: 'float64' as 'float16' }, () => 0)).toThrow(/dtype must be/);
      expect(() => optim.autocast({ deviceType: 'cpu' }, async () => 0)).toThrow(/Promise/);
      expect(optim.isAutocastEnabled('cpu')).toBe(false);
    });
  });

  it('carries into async ops started inside the scope, and not into later ones', async () => {
    const x = torch.ones(8, 8);
    // The scope itself stays synchronous: it starts the op, and the op carries the state.
    let inside: Promise<torch.Tensor> | undefined;
    optim.autocast({ deviceType: 'cpu', dtype: 'bfloat16' }, () => {
      inside = torch.matmulAsync(x, x);
    });
    expect(optim.isAutocastEnabled('cpu')).toBe(false);
    const outside = torch.matmulAsync(x, x);
    expect((await inside!).dtype).toBe('bfloat16');
    expect((await outside).dtype).toBe('float32');
    // the worker thread's own state was restored: a later async op there is float32 again
    expect((await torch.matmulAsync(x, x)).dtype).toBe('float32');
  });

  it.runIf(!torch.cuda.isAvailable())('refuses CUDA without a GPU', () => {
    expect(() => optim.autocast({ deviceType: 'cuda' }, () => 0)).toThrow(/CUDA is not available/);
  });
});

describe('GradScaler', () => {
  it('scales, unscales, skips inf/NaN steps and updates the scale as torch.amp.GradScaler', () => {
    torch.scope(() => {
      const params = problem.params.map((e) => torch.keep(decode(e).requiresGrad_()));
      const [targets, weights] = [problem.targets.map(decode), problem.weights.map(decode)];
      const opt = new optim.SGD(params, { lr: 0.05, momentum: 0.9 });
      const scaler = new optim.GradScaler({ device: 'cpu', ...fx.scaler.options });
      fx.scaler.steps.forEach((want, step) => {
        torch.scope(() => {
          torch.noGrad(() => {
            params.forEach((p, i) => (p.grad = scaler.scale(gradOf(p, targets[i]!, weights[i]!))));
            const injected = fx.scaler.bad_steps[String(step)];
            if (injected) params[1]!.grad!.get(0).fill_(injected === 'inf' ? Infinity : NaN);
          });
          expect(scaler.step(opt)).toBe(!isBadStep(step));
          scaler.update();
        });
        expect(scaler.getScale()).toBe(want.scale);
        params.forEach((p, i) => expectClose(p, want.params[i]!, 1e-6, `step ${step} param ${i}`));
      });
      expect(scaler.stateDict()).toEqual(fx.scaler.state_dict);

      const resumed = new optim.GradScaler({ device: 'cpu' });
      resumed.loadStateDict(scaler.stateDict());
      expect(resumed.stateDict()).toEqual(fx.scaler.state_dict);
    });
  });

  it('guards the call order and bad input', () => {
    torch.scope(() => {
      const p = torch.ones(2).requiresGrad_();
      const opt = new optim.SGD([p], { lr: 0.1 });
      const scaler = new optim.GradScaler({ device: 'cpu', initScale: 4 });
      expect(() => scaler.update()).toThrow(/no inf checks/);
      p.grad = scaler.scale(torch.ones(2));
      scaler.unscale_(opt);
      expect(p.grad!.toNested()).toEqual([1, 1]);
      expect(() => scaler.unscale_(opt)).toThrow(/already called/);
      scaler.step(opt);
      expect(() => scaler.step(opt)).toThrow(/already called/);
      scaler.update(8);
      expect(scaler.getScale()).toBe(8);
      expect(() => new optim.GradScaler({ backoffFactor: 2 })).toThrow(/backoff_factor/);
      expect(() => scaler.loadStateDict({ ...scaler.stateDict(), growth_interval: 0.5 })).toThrow(/growth_interval/);
      const off = new optim.GradScaler({ enabled: false });
      const loss = torch.ones(1);
      expect(off.scale(loss)).toBe(loss);
      expect(off.getScale()).toBe(1);
    });
  });
});

function isBadStep(step: number): boolean {
  return fx.scaler.bad_steps[String(step)] !== undefined;
}
