// SGD, Adam, AdamW and LARS against 20-step trajectories from torch.optim (and Lightning Bolts'
// LARS, as written in scripts/gen_fixtures_optim.py), in the foreach and fused modes.
import { describe, expect, it } from 'vitest';
import * as optim from '../../src/optim/index.js';
import * as torch from '../../src/torch/index.js';
import { decode, expectClose, gradOf, loadFixture, type Encoded } from './fixtures.js';

interface Case {
  name: string;
  optimizer: 'sgd' | 'adam' | 'adamw' | 'lars';
  options: Record<string, number | boolean | number[]>;
  groups: ({ params: number[] } & Record<string, number>)[];
  grad_every: number[];
  params: Encoded[];
  targets: Encoded[];
  weights: Encoded[];
  trajectory: Encoded[][];
  state: Record<string, Record<string, Encoded>>;
  param_groups: Record<string, unknown>[];
}

const { cases } = loadFixture<{ cases: Case[] }>('optimizers.json');
const RTOL = 1e-6;

const camel = (s: string): string => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
function camelKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [camel(k), v]));
}

type AnyOptimizer = optim.SGD | optim.Adam | optim.AdamW | optim.LARS;

function build(c: Case, mode: optim.OptimizerMode) {
  const params = c.params.map((e) => torch.keep(decode(e).requiresGrad_()));
  const targets = c.targets.map(decode);
  const weights = c.weights.map(decode);
  const groups = c.groups.map(({ params: idx, ...rest }) => ({ ...camelKeys(rest), params: idx.map((i) => params[i]!) }));
  const options = camelKeys(c.options);
  const make = (): AnyOptimizer => {
    switch (c.optimizer) {
      case 'sgd':
        return new optim.SGD(groups, { ...options, mode });
      case 'adam':
        return new optim.Adam(groups, { ...options, mode } as optim.AdamOptions);
      case 'adamw':
        return new optim.AdamW(groups, { ...options, mode } as optim.AdamOptions);
      case 'lars':
        return new optim.LARS(groups, options);
    }
  };
  const setGrads = (step: number): void =>
    torch.noGrad(() =>
      params.forEach((p, i) => {
        p.grad = step % c.grad_every[i]! === 0 ? gradOf(p, targets[i]!, weights[i]!) : null;
      }),
    );
  return { params, opt: make(), setGrads };
}

describe.each(['foreach', 'fused'] as const)('%s mode', (mode) => {
  const supported = cases.filter((c) => mode === 'foreach' || c.optimizer !== 'lars');
  it.each(supported.map((c) => [c.name, c] as const))('%s: 20 steps match PyTorch', (_, c) => {
    torch.scope(() => {
      const { params, opt, setGrads } = build(c, mode);
      for (let step = 0; step < c.trajectory.length; step++) {
        torch.scope(() => {
          setGrads(step);
          opt.step();
        });
        params.forEach((p, i) => expectClose(p, c.trajectory[step]![i]!, RTOL, `step ${step} param ${i}`));
      }
      // The state dict has PyTorch's layout and values. The fused kernels round the momentum
      // buffers slightly differently from the multi-tensor path the goldens come from (torch's
      // own fused SGD differs from them by ~1e-6 as well), so their state gets 1e-5.
      const stateRtol = mode === 'fused' ? 1e-5 : RTOL;
      const sd = opt.stateDict();
      expect(Object.keys(sd.state).sort()).toEqual(Object.keys(c.state).sort());
      for (const [idx, entries] of Object.entries(c.state)) {
        expect(Object.keys(sd.state[idx]!).sort()).toEqual(Object.keys(entries).sort());
        for (const [k, e] of Object.entries(entries)) expectClose(sd.state[idx]![k]!, e, stateRtol, `state[${idx}].${k}`);
      }
      // Every key both have agrees (torch adds foreach/fused/maximize...; Bolts' LARS keeps
      // trust_coefficient and eps outside the groups).
      sd.param_groups.forEach((g, gi) => {
        const theirs = c.param_groups[gi]!;
        const shared = Object.keys(g).filter((k) => k in theirs);
        expect(shared).toEqual(expect.arrayContaining(['lr', 'weight_decay', 'params']));
        for (const k of shared) expect(g[k], `param_groups[${gi}].${k}`).toEqual(theirs[k]);
      });
    });
  });
});

describe('stateDict / loadStateDict', () => {
  const c = cases.find((x) => x.name === 'adamw amsgrad betas')!;

  it('resumes mid-trajectory in a fresh optimizer and lands on the same parameters', () => {
    torch.scope(() => {
      const first = build(c, 'foreach');
      for (let step = 0; step < 10; step++) torch.scope(() => (first.setGrads(step), first.opt.step()));
      const saved = first.opt.stateDict();
      const second = build(c, 'foreach');
      torch.noGrad(() => second.params.forEach((p, i) => p.copy_(first.params[i]!)));
      second.opt.loadStateDict(saved);
      for (let step = 10; step < 20; step++) torch.scope(() => (second.setGrads(step), second.opt.step()));
      second.params.forEach((p, i) => expectClose(p, c.trajectory[19]![i]!, RTOL, `param ${i}`));
    });
  });

  it('loads into fused mode (step counts moved to the parameter device)', () => {
    torch.scope(() => {
      const first = build(c, 'foreach');
      for (let step = 0; step < 10; step++) torch.scope(() => (first.setGrads(step), first.opt.step()));
      const second = build(c, 'fused');
      torch.noGrad(() => second.params.forEach((p, i) => p.copy_(first.params[i]!)));
      second.opt.loadStateDict(first.opt.stateDict());
      for (let step = 10; step < 20; step++) torch.scope(() => (second.setGrads(step), second.opt.step()));
      second.params.forEach((p, i) => expectClose(p, c.trajectory[19]![i]!, RTOL, `param ${i}`));
    });
  });

  it('rejects state dicts that do not fit, naming what is wrong', () => {
    torch.scope(() => {
      const { opt } = build(c, 'foreach');
      const { opt: other } = build(cases.find((x) => x.name === 'adamw param groups')!, 'foreach');
      expect(() => opt.loadStateDict(other.stateDict())).toThrow(/2 parameter groups, the optimizer 1/);
      const sd = opt.stateDict();
      expect(() => opt.loadStateDict({ ...sd, param_groups: [{ ...sd.param_groups[0], betas: 0.9 }] })).toThrow(/param_groups\[0\]\.betas/);
      expect(() => opt.loadStateDict({ ...sd, state: { 0: { exp_avg: torch.zeros(5) } } })).toThrow(/state\[0\]\.exp_avg has shape \[5\]/);
      expect(() => opt.loadStateDict({ ...sd, state: { x: {} } })).toThrow(/state\.x/);
    });
  });
});

describe('optimizer API', () => {
  it('zeroGrad drops gradients or zeroes them in place', () => {
    torch.scope(() => {
      const p = torch.keep(torch.ones(3).requiresGrad_());
      const opt = new optim.SGD([p], { lr: 0.1 });
      p.grad = torch.ones(3);
      opt.zeroGrad(false);
      expect(p.grad?.toNested()).toEqual([0, 0, 0]);
      opt.zeroGrad();
      expect(p.grad).toBeNull();
    });
  });

  it('skips parameters without a gradient and leaves their state empty', () => {
    torch.scope(() => {
      const [a, b] = [torch.keep(torch.ones(2).requiresGrad_()), torch.keep(torch.ones(2).requiresGrad_())];
      const opt = new optim.AdamW([a, b], { lr: 0.1 });
      a.grad = torch.ones(2);
      opt.step();
      expect(b.toNested()).toEqual([1, 1]);
      expect(opt.state.has(b)).toBe(false);
      expect(Object.keys(opt.stateDict().state)).toEqual(['0']);
    });
  });

  it('rejects bad parameters and hyperparameters', () => {
    torch.scope(() => {
      const p = torch.ones(2).requiresGrad_();
      expect(() => new optim.SGD([p.mul(2)])).toThrow(/non-leaf/);
      expect(() => new optim.SGD([{ params: [p] }, { params: [p] }])).toThrow(/more than one parameter group/);
      expect(() => new optim.SGD([p], { lr: -1 })).toThrow(/learning rate/);
      expect(() => new optim.SGD([p], { nesterov: true })).toThrow(/nesterov/);
      expect(() => new optim.AdamW([p], { betas: [1, 0.5] })).toThrow(/betas/);
      expect(() => new optim.SGD([{ params: [p], lrr: 1 } as optim.ParamGroupInput<optim.SgdHyper>])).toThrow(/unknown parameter group option 'lrr'/);
      expect(() => new optim.SGD([])).toThrow(/empty parameter list/);
    });
  });

  it('excludeFromWeightDecay splits biases and BN weights into a weightDecay-0 group', () => {
    torch.scope(() => {
      const [w, b, bn, frozen] = [0, 1, 2, 3].map(() => torch.ones(1).requiresGrad_());
      const groups = optim.excludeFromWeightDecay(
        [
          ['fc.weight', w!],
          ['fc.bias', b!],
          ['bn1.weight', bn!],
          ['frozen', frozen!.requiresGrad_(false)],
        ],
        1e-6,
      );
      expect(groups[0].params).toEqual([w]);
      expect(groups[0].weightDecay).toBe(1e-6);
      expect(groups[1].params).toEqual([b, bn]);
      expect(groups[1].weightDecay).toBe(0);
    });
  });
});
