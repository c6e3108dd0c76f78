// What each stage of spec §8 steps with: the iterations-per-epoch estimate I (B11), a fresh
// AdamW and its per-step linear warm-up + cosine schedule, and the SPB temperature's step and
// total (spec §5: step = global_step − stage-1 steps, total = stage-2+3 steps, both counted in I).
import type { Tensor } from '../torch/index.js';
import { AdamW } from '../optim/adam.js';
import { LinearWarmupCosineAnnealingLR } from '../optim/lr-scheduler.js';
import type { StageConfig, TrainConfig } from './config.js';

export type Stage = 1 | 2 | 3;
export const STAGES: readonly Stage[] = [1, 2, 3];

/** AdamW's constants in every stage (spec §8). */
export const ADAMW_BETAS = [0.9, 0.999] as const;
export const ADAMW_EPS = 1e-8;

/**
 * Steps per epoch the schedules count. 'faithful': I = ⌊N/(W·B)⌋ (at least 1), the original's
 * estimate, below the real count when N/(W·B) is not whole; 'actual': ⌈N/(W·B)⌉, the steps a
 * loader without drop_last really takes.
 */
export function scheduleStepsPerEpoch(datasetSize: number, batchSize: number, mode: TrainConfig['stepsPerEpoch'], worldSize = 1): number {
  if (!Number.isInteger(datasetSize) || datasetSize < 1) throw new RangeError(`scheduleStepsPerEpoch: datasetSize must be a positive integer, got ${datasetSize}`);
  const perStep = worldSize * batchSize;
  return mode === 'faithful' ? Math.max(1, Math.floor(datasetSize / perStep)) : Math.ceil(datasetSize / perStep);
}

/** One stage as planned before training: its epochs, batch size and the I its schedules use. */
export interface StagePlan {
  stage: Stage;
  config: StageConfig;
  batchSize: number;
  /** I of this stage (see {@link scheduleStepsPerEpoch}). */
  scheduleIters: number;
  /** The global epoch number of this stage's first epoch. */
  firstEpoch: number;
}

export function planStages(config: TrainConfig, datasetSize: number): StagePlan[] {
  let firstEpoch = 0;
  return STAGES.map((stage) => {
    const c = config.stages[stage - 1]!;
    const batchSize = c.batchSize ?? config.data.batchSize;
    const plan = { stage, config: c, batchSize, scheduleIters: scheduleStepsPerEpoch(datasetSize, batchSize, config.stepsPerEpoch), firstEpoch };
    firstEpoch += c.epochs;
    return plan;
  });
}

/** The closed form of spec §8: lr at step k of a stage (warm-up w = I·warmupEpochs, total S = I·epochs). */
export function warmupCosineLr(k: number, s: { peakLr: number; startLr: number; endLr: number; warmupSteps: number; totalSteps: number }): number {
  const { peakLr: peak, startLr: start, endLr: end, warmupSteps: w, totalSteps: S } = s;
  if (k < w) return w === 1 ? start : start + (k * (peak - start)) / (w - 1);
  return end + 0.5 * (peak - end) * (1 + Math.cos((Math.PI * (k - w)) / (S - w)));
}

export interface StageOptimizer {
  optimizer: AdamW;
  scheduler: LinearWarmupCosineAnnealingLR;
}

/**
 * A fresh AdamW over every parameter (weight decay on all, none excluded) and its schedule,
 * stepped once per optimizer step. Parameters without a gradient in a step are skipped by
 * the optimizer (neither updated nor decayed), as torch.optim does.
 */
export function stageOptimizer(params: Tensor[], plan: StagePlan): StageOptimizer {
  const c = plan.config;
  const optimizer = new AdamW(params, { lr: c.peakLr, betas: ADAMW_BETAS, eps: ADAMW_EPS, weightDecay: c.weightDecay });
  const scheduler = new LinearWarmupCosineAnnealingLR(optimizer, {
    warmupEpochs: plan.scheduleIters * c.warmupEpochs,
    maxEpochs: plan.scheduleIters * c.epochs,
    warmupStartLr: c.startLr,
    etaMin: c.endLr,
  });
  return { optimizer, scheduler };
}

/**
 * The (step, total) passed to the SPB's setTemperature before a step of stage 2 or 3: the
 * original's 20·I offset and 130·I total, generalised to the configured epochs and each
 * stage's I. `globalStep` counts the optimizer steps really taken since the start.
 */
export function spbTemperatureStep(globalStep: number, plans: readonly StagePlan[]): { step: number; total: number } {
  const [p1, p2, p3] = plans as [StagePlan, StagePlan, StagePlan];
  return {
    step: globalStep - p1.config.epochs * p1.scheduleIters,
    total: p2.config.epochs * p2.scheduleIters + p3.config.epochs * p3.scheduleIters,
  };
}
