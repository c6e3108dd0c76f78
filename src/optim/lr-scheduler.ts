// Learning-rate schedules, stepped once per optimizer step: torch.optim.lr_scheduler's
// recursive ("chainable") forms, computed in the same double-precision order so that LRs match
// PyTorch's, and Lightning Bolts' LinearWarmupCosineAnnealingLR (PRIOR's schedule).
import { z } from 'zod';

/** What a schedule needs of an optimizer: its parameter groups' learning rates. */
export interface LrGroups {
  paramGroups: { lr: number; initialLr?: number }[];
}

/** A scheduler's resumable state, with torch.optim.lr_scheduler's key names. */
export interface SchedulerStateDict {
  last_epoch: number;
  base_lrs: number[];
  _step_count: number;
  _last_lr: number[];
  [hyper: string]: number | number[];
}

const stateSchema = z
  .object({
    last_epoch: z.number().int().min(0),
    base_lrs: z.array(z.number()),
    _step_count: z.number().int().min(0),
    _last_lr: z.array(z.number()),
  })
  .passthrough();

export abstract class LRScheduler {
  readonly baseLrs: number[];
  /** The number of scheduler steps taken; 0 right after construction (PyTorch's last_epoch). */
  lastEpoch = -1;
  private stepCount = 0;
  private lastLr: number[] = [];

  /** Hyperparameters saved in the state dict (snake_case name -> value), checked on load. */
  protected abstract readonly hyper: Record<string, number>;

  constructor(protected readonly optimizer: LrGroups) {
    for (const g of optimizer.paramGroups) g.initialLr ??= g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
  }

  /** Applies the lr for step 0; subclasses call it last in their constructor (PyTorch's _initial_step). */
  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The lr of every group at `lastEpoch`, from the current lrs (recursive form). */
  protected abstract getLr(): number[];

  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    const lrs = this.getLr();
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]!));
    this.lastLr = [...lrs];
  }

  /** The lrs the last step set, one per parameter group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  protected groupLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): SchedulerStateDict {
    return { ...this.hyper, last_epoch: this.lastEpoch, base_lrs: [...this.baseLrs], _step_count: this.stepCount, _last_lr: [...this.lastLr] };
  }

  /** Resumes from {@link stateDict}; the schedule's hyperparameters must be the same. Does not
   *  touch the optimizer's lrs: those come back with the optimizer's own state dict. */
  loadStateDict(dict: SchedulerStateDict): void {
    const name = this.constructor.name;
    const parsed = stateSchema.safeParse(dict);
    if (!parsed.success) throw new Error(`${name}.loadStateDict: ${z.prettifyError(parsed.error)}`);
    const s = parsed.data;
    const n = this.baseLrs.length;
    if (s.base_lrs.length !== n || s._last_lr.length !== n) throw new Error(`${name}.loadStateDict: expected ${n} lrs (one per parameter group), got ${s.base_lrs.length}`);
    for (const [k, v] of Object.entries(this.hyper)) {
      if ((s as Record<string, unknown>)[k] !== v) throw new Error(`${name}.loadStateDict: ${k} is ${JSON.stringify((s as Record<string, unknown>)[k])} in the state dict but ${v} here`);
    }
    this.baseLrs.splice(0, n, ...s.base_lrs);
    this.lastEpoch = s.last_epoch;
    this.stepCount = s._step_count;
    this.lastLr = [...s._last_lr];
  }
}

/** lr = baseLr · lambda(step) (torch.optim.lr_scheduler.LambdaLR); the lambdas are not saved. */
export class LambdaLR extends LRScheduler {
  protected readonly hyper = {};
  private readonly lambdas: ((step: number) => number)[];

  constructor(optimizer: LrGroups, lrLambda: ((step: number) => number) | readonly ((step: number) => number)[]) {
    super(optimizer);
    const n = optimizer.paramGroups.length;
    if (typeof lrLambda !== 'function' && lrLambda.length !== n) throw new Error(`LambdaLR: expected ${n} lr lambdas (one per group), got ${lrLambda.length}`);
    this.lambdas = typeof lrLambda === 'function' ? Array.from({ length: n }, () => lrLambda) : [...lrLambda];
    this.initialStep();
  }

  protected getLr(): number[] {
    return this.baseLrs.map((b, i) => b * this.lambdas[i]!(this.lastEpoch));
  }
}

/** Multiplies the lr by gamma every stepSize steps (torch.optim.lr_scheduler.StepLR). */
export class StepLR extends LRScheduler {
  protected readonly hyper: { step_size: number; gamma: number };

  constructor(optimizer: LrGroups, stepSize: number, gamma = 0.1) {
    super(optimizer);
    if (!Number.isInteger(stepSize) || stepSize < 1) throw new RangeError(`StepLR: stepSize must be a positive integer, got ${stepSize}`);
    this.hyper = { step_size: stepSize, gamma };
    this.initialStep();
  }

  protected getLr(): number[] {
    const { step_size: stepSize, gamma } = this.hyper;
    if (this.lastEpoch === 0 || this.lastEpoch % stepSize !== 0) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * gamma);
  }
}

/** One cosine recursion step from `lr` at step k-1 to step k of a half period `T` (PyTorch's
 *  form); where the ratio's denominator vanishes (k = T + 1 mod 2T), the closed form's increment. */
function cosineStep(lr: number, baseLr: number, etaMin: number, k: number, T: number): number {
  if ((k - 1 - T) % (2 * T) === 0) return lr + ((baseLr - etaMin) * (1 - Math.cos(Math.PI / T))) / 2;
  return ((1 + Math.cos((Math.PI * k) / T)) / (1 + Math.cos((Math.PI * (k - 1)) / T))) * (lr - etaMin) + etaMin;
}

/** Cosine annealing from the base lr to etaMin over tMax steps (torch.optim.lr_scheduler.CosineAnnealingLR). */
export class CosineAnnealingLR extends LRScheduler {
  protected readonly hyper: { T_max: number; eta_min: number };

  constructor(optimizer: LrGroups, tMax: number, etaMin = 0) {
    super(optimizer);
    if (!(tMax > 0)) throw new RangeError(`CosineAnnealingLR: tMax must be positive, got ${tMax}`);
    this.hyper = { T_max: tMax, eta_min: etaMin };
    this.initialStep();
  }

  protected getLr(): number[] {
    const { T_max: T, eta_min: etaMin } = this.hyper;
    const k = this.lastEpoch;
    if (k === 0) return this.groupLrs();
    return this.groupLrs().map((lr, i) => cosineStep(lr, this.baseLrs[i]!, etaMin, k, T));
  }
}

/**
 * Lightning Bolts' LinearWarmupCosineAnnealingLR, the schedule PRIOR steps per iteration:
 * linear from warmupStartLr at step 0 to the base lr at step warmupEpochs - 1, then cosine
 * down to etaMin at step maxEpochs (periodic afterwards: the lr rises again past maxEpochs).
 * "Epochs" are scheduler steps; PRIOR passes iteration counts.
 */
export class LinearWarmupCosineAnnealingLR extends LRScheduler {
  protected readonly hyper: { warmup_epochs: number; max_epochs: number; warmup_start_lr: number; eta_min: number };

  constructor(optimizer: LrGroups, options: { warmupEpochs: number; maxEpochs: number; warmupStartLr?: number; etaMin?: number }) {
    super(optimizer);
    const { warmupEpochs, maxEpochs, warmupStartLr = 0, etaMin = 0 } = options;
    if (!Number.isInteger(warmupEpochs) || warmupEpochs < 0 || !Number.isInteger(maxEpochs) || maxEpochs <= warmupEpochs) {
      throw new RangeError(`LinearWarmupCosineAnnealingLR: need integers 0 <= warmupEpochs < maxEpochs, got ${warmupEpochs} and ${maxEpochs}`);
    }
    this.hyper = { warmup_epochs: warmupEpochs, max_epochs: maxEpochs, warmup_start_lr: warmupStartLr, eta_min: etaMin };
    this.initialStep();
  }

  protected getLr(): number[] {
    const { warmup_epochs: w, max_epochs: maxEpochs, warmup_start_lr: start, eta_min: etaMin } = this.hyper;
    const k = this.lastEpoch;
    if (k === 0) return this.baseLrs.map(() => start);
    const lrs = this.groupLrs();
    if (k < w) return lrs.map((lr, i) => lr + (this.baseLrs[i]! - start) / (w - 1));
    if (k === w) return [...this.baseLrs];
    return lrs.map((lr, i) => cosineStep(lr, this.baseLrs[i]!, etaMin, k - w, maxEpochs - w));
  }
}
