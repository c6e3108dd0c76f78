// The per-stage schedule of spec §8: the LR table of spec §14 (I = 100, stage 1: 20 epochs, 1
// warm-up), the iteration estimate (B11), the SPB temperature's step and total (spec §5's
// 20·I and 130·I), and AdamW leaving parameters without a gradient untouched.
import { describe, expect, it } from 'vitest';
import * as torch from '../../src/torch/index.js';
import { resolveTrainConfig } from '../../src/train/config.js';
import { planStages, scheduleStepsPerEpoch, spbTemperatureStep, stageOptimizer, warmupCosineLr } from '../../src/train/schedule.js';

const paper = resolveTrainConfig({ preset: 'paper' });

describe('LR schedule', () => {
  it("follows spec §14's table, stepped once per optimizer step", () => {
    // N = 9800 at batch 98 gives I = 100.
    const plan = planStages(paper, 9800)[0]!;
    expect(plan.scheduleIters).toBe(100);
    const w = torch.zeros([2], { requiresGrad: true });
    const { optimizer, scheduler } = stageOptimizer([w], plan);
    const lrs: number[] = [];
    for (let k = 0; k <= 2001; k++) {
      lrs.push(optimizer.paramGroups[0]!.lr);
      scheduler.step();
    }
    const close = (got: number, want: number): void => expect(Math.abs(got - want)).toBeLessThan(1e-12);
    close(lrs[0]!, 1e-7);
    close(lrs[99]!, 1e-5);
    close(lrs[100]!, 1e-5);
    close(lrs[1050]!, 5e-6);
    close(lrs[2000]!, 0);
    expect(lrs[2001]!).toBeGreaterThan(0); // past the minimum the cosine rises again (B11)
    expect(lrs[2001]!).toBeLessThan(1e-10);
    // Warm-up is linear from start to peak; the cosine is monotone in between.
    close(lrs[50]!, 1e-7 + (50 * (1e-5 - 1e-7)) / 99);
    for (let k = 101; k <= 2000; k++) expect(lrs[k]!).toBeLessThanOrEqual(lrs[k - 1]!);
    // The recursive form stays on the closed form of spec §8 everywhere.
    for (let k = 0; k <= 2001; k++) close(lrs[k]!, warmupCosineLr(k, { peakLr: 1e-5, startLr: 1e-7, endLr: 0, warmupSteps: 100, totalSteps: 2000 }));
  });

  it('a fresh AdamW per stage with betas 0.9/0.999, eps 1e-8 and the stage weight decay', () => {
    const [p1, , p3] = planStages(paper, 9800);
    const w = torch.zeros([2], { requiresGrad: true });
    const o3 = stageOptimizer([w], p3!).optimizer;
    expect(o3.paramGroups[0]).toMatchObject({ betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-6, lr: 1e-8, initialLr: 5e-6 });
    expect(stageOptimizer([w], p1!).optimizer).not.toBe(o3);
  });
});

describe('AdamW skips parameters without a gradient (modules unused in a stage stay frozen)', () => {
  it('neither updates nor decays them', () => {
    const plan = planStages(resolveTrainConfig({ set: ['stages.0.weightDecay=0.5'] }), 37)[0]!;
    const used = torch.ones([3], { requiresGrad: true });
    const unused = torch.ones([3], { requiresGrad: true });
    const { optimizer, scheduler } = stageOptimizer([used, unused], plan);
    for (let k = 0; k < 3; k++) {
      optimizer.zeroGrad();
      torch.scope(() => used.mul(2).sum().backward());
      optimizer.step();
      scheduler.step();
    }
    expect(Array.from(unused.toArray() as Float32Array)).toEqual([1, 1, 1]);
    expect(optimizer.state.has(unused)).toBe(false);
    expect((used.toArray() as Float32Array)[0]).toBeLessThan(1);
  });
});

describe('steps per epoch and the SPB temperature step', () => {
  it("'faithful' counts ⌊N/B⌋ (at least 1), 'actual' ⌈N/B⌉", () => {
    expect(scheduleStepsPerEpoch(1000, 98, 'faithful')).toBe(10);
    expect(scheduleStepsPerEpoch(1000, 98, 'actual')).toBe(11);
    expect(scheduleStepsPerEpoch(980, 98, 'actual')).toBe(10);
    expect(scheduleStepsPerEpoch(5, 8, 'faithful')).toBe(1);
    expect(scheduleStepsPerEpoch(1000, 98, 'faithful', 6)).toBe(1);
    expect(() => scheduleStepsPerEpoch(0, 8, 'faithful')).toThrow(/datasetSize/);
  });

  it("is global_step − 20·I over 130·I for the paper's stages (spec §5)", () => {
    const plans = planStages(paper, 9800);
    expect(plans.map((p) => p.firstEpoch)).toEqual([0, 20, 50]);
    expect(spbTemperatureStep(2000, plans)).toEqual({ step: 0, total: 13000 });
    expect(spbTemperatureStep(2345, plans)).toEqual({ step: 345, total: 13000 });
  });

  it('generalises to other epochs and per-stage batch sizes', () => {
    const c = resolveTrainConfig({ set: ['data.batchSize=8', 'stages.0.epochs=3', 'stages.1.epochs=4', 'stages.2.epochs=5', 'stages.2.batchSize=4', 'stepsPerEpoch=actual'] });
    const plans = planStages(c, 37);
    expect(plans.map((p) => [p.batchSize, p.scheduleIters])).toEqual([
      [8, 5],
      [8, 5],
      [4, 10],
    ]);
    expect(spbTemperatureStep(15, plans)).toEqual({ step: 0, total: 4 * 5 + 5 * 10 });
  });
});
