// LR schedules against torch.optim.lr_scheduler (and Bolts' LinearWarmupCosineAnnealingLR as
// written in scripts/gen_fixtures_optim.py), plus resuming from a state dict.
import { describe, expect, it } from 'vitest';
import * as optim from '../../src/optim/index.js';
import * as torch from '../../src/torch/index.js';
import { loadFixture } from './fixtures.js';

interface Case {
  name: string;
  kind: 'step' | 'cosine' | 'lambda' | 'warmupCosine';
  args: Record<string, number>;
  lrs: number[][];
}

const { cases } = loadFixture<{ cases: Case[] }>('schedulers.json');
// The recursive forms repeat PyTorch's double arithmetic; only Math.cos may differ in the last bit.
const RTOL = 1e-12;

function groupsFrom(lrs: number[]): optim.LrGroups {
  return { paramGroups: lrs.map((lr) => ({ lr })) };
}

function make(c: Case, opt: optim.LrGroups): optim.LRScheduler {
  const a = c.args;
  switch (c.kind) {
    case 'step':
      return new optim.StepLR(opt, a.stepSize!, a.gamma);
    case 'cosine':
      return new optim.CosineAnnealingLR(opt, a.tMax!, a.etaMin);
    case 'lambda':
      return new optim.LambdaLR(opt, (e) => 1 / (1 + e));
    case 'warmupCosine':
      return new optim.LinearWarmupCosineAnnealingLR(opt, { warmupEpochs: a.warmupEpochs!, maxEpochs: a.maxEpochs!, warmupStartLr: a.warmupStartLr, etaMin: a.etaMin });
  }
}

function expectLrs(got: number[], want: number[], what: string): void {
  got.forEach((lr, i) => expect(Math.abs(lr - want[i]!), `${what} group ${i}: ${lr} vs ${want[i]}`).toBeLessThanOrEqual(RTOL * Math.abs(want[i]!) + 1e-300));
}

describe.each(cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
  it('matches PyTorch at every step', () => {
    const opt = groupsFrom(c.lrs[0]!.map((_, i) => (c.kind === 'warmupCosine' ? [5e-6, 1e-5] : [0.1, 0.05])[i]!));
    const sched = make(c, opt);
    c.lrs.forEach((want, k) => {
      if (k > 0) sched.step();
      expectLrs(sched.getLastLr(), want, `step ${k}`);
      expectLrs(opt.paramGroups.map((g) => g.lr), want, `step ${k} (optimizer)`);
    });
  });

  it('resumes from a state dict', () => {
    const base = c.kind === 'warmupCosine' ? [5e-6, 1e-5] : [0.1, 0.05];
    const opt = groupsFrom(base);
    const sched = make(c, opt);
    for (let k = 0; k < 9; k++) sched.step();
    const saved = JSON.parse(JSON.stringify(sched.stateDict())) as optim.SchedulerStateDict;
    // A fresh optimizer restored to the saved lrs (as its own state dict would) and a fresh schedule.
    const opt2 = groupsFrom(base);
    const sched2 = make(c, opt2);
    opt2.paramGroups.forEach((g, i) => (g.lr = opt.paramGroups[i]!.lr));
    sched2.loadStateDict(saved);
    for (let k = 10; k < c.lrs.length; k++) {
      sched2.step();
      expectLrs(sched2.getLastLr(), c.lrs[k]!, `step ${k}`);
    }
  });
});

describe('LinearWarmupCosineAnnealingLR', () => {
  it("follows the closed form of PRIOR's spec (section 8) up to float error", () => {
    const [peak, start, w, S] = [5e-6, 1e-8, 5, 25];
    const opt = groupsFrom([peak]);
    const sched = new optim.LinearWarmupCosineAnnealingLR(opt, { warmupEpochs: w, maxEpochs: S, warmupStartLr: start });
    for (let k = 0; k < 30; k++) {
      if (k > 0) sched.step();
      const want = k < w ? start + (k * (peak - start)) / (w - 1) : 0.5 * peak * (1 + Math.cos((Math.PI * (k - w)) / (S - w)));
      expect(Math.abs(opt.paramGroups[0]!.lr - want)).toBeLessThan(1e-9 * peak);
    }
  });

  it('sets initialLr and rejects a bad state dict or bad arguments', () => {
    const opt = groupsFrom([0.1]);
    const sched = new optim.LinearWarmupCosineAnnealingLR(opt, { warmupEpochs: 2, maxEpochs: 10 });
    expect(opt.paramGroups[0]!.initialLr).toBe(0.1);
    expect(() => sched.loadStateDict({ ...sched.stateDict(), max_epochs: 11 })).toThrow(/max_epochs is 11 in the state dict but 10 here/);
    expect(() => sched.loadStateDict({ ...sched.stateDict(), base_lrs: [0.1, 0.2] })).toThrow(/expected 1 lrs/);
    expect(() => new optim.LinearWarmupCosineAnnealingLR(opt, { warmupEpochs: 5, maxEpochs: 5 })).toThrow(/warmupEpochs < maxEpochs/);
    expect(() => new optim.StepLR(opt, 0)).toThrow(/positive integer/);
  });

  it('drives a real optimizer', () => {
    const opt = new optim.AdamW([torch.zeros(2).requiresGrad_()], { lr: 1e-5, weightDecay: 1e-6 });
    const sched = new optim.LinearWarmupCosineAnnealingLR(opt, { warmupEpochs: 3, maxEpochs: 10, warmupStartLr: 1e-7 });
    expect(opt.paramGroups[0]!.lr).toBe(1e-7);
    sched.step();
    expect(opt.stateDict().param_groups[0]!.initial_lr).toBe(1e-5);
  });
});
