// The three-stage training loop of spec §8: stage 1 → 2 → 3, each with a fresh AdamW and its
// warm-up + cosine schedule stepped per step; autocast / GradScaler per precision; every loss
// term logged per step; checkpoints at stage starts, every N steps, at the end and on
// SIGINT/SIGTERM; optional validation with a best checkpoint; and exact resume (model,
// optimizer, schedule, scaler, torch RNG, loader position, counters, metric log).
//
// The trainer knows the model and the data only through StageModel and BatchSource, so a toy
// model tests it and the PRIOR model and loader plug in unchanged.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Checkpoint, type Json, type StateTree, captureRngStates, latestCheckpoint, loadCheckpoint, restoreRngStates, saveCheckpoint } from '../io/checkpoint.js';
import { GradScaler, type GradScalerStateDict, autocast } from '../optim/amp.js';
import type { OptimizerStateDict } from '../optim/optimizer.js';
import type { SchedulerStateDict } from '../optim/lr-scheduler.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { Progress, type ProgressStream } from '../util/progress.js';
import type { SpbTemperatureStrategy, TrainConfig } from './config.js';
import { METRIC_META_KEYS, RUN_FILES, appendJsonLine, ensureRunDir, makeProvenance, readJsonLines, runPath, truncateJsonLines, writeJson, type MetricLine, type RunProvenance } from './run-dir.js';
import { type Stage, type StageOptimizer, type StagePlan, planStages, spbTemperatureStep, stageOptimizer } from './schedule.js';

/** What the trainer needs of a model: PRIOR's stage steps, its parameters and state, train/eval. */
export interface StageModel<B> {
  stageStep(batch: B, stage: Stage): { loss: Tensor; terms: Record<string, Tensor> };
  parameters(): Tensor[];
  stateDict(): Map<string, Tensor>;
  loadStateDict(state: Map<string, Tensor>): unknown;
  train(mode?: boolean): unknown;
  /** PRIOR's SPB: its temperature is set before every step of stages 2 and 3 (spec §5). */
  readonly sentenceBank?: { setTemperature(step: number, total: number, strategy: SpbTemperatureStrategy): unknown; readonly temperature: number } | null;
}

/** Where a source's epoch stands after the batches it yielded (PretrainLoader's LoaderCursor). */
export interface SourceCursor {
  epoch: number;
  item: number;
  batch: number;
}

/** Batches of one epoch at a time, resumable mid-epoch (PretrainLoader's shape). */
export interface BatchSource<B> {
  /** Batches per epoch when nothing is skipped (an epoch may yield fewer). */
  readonly batchesPerEpoch: number;
  /** An epoch's batches, from its start, after `startBatch` batches, or after a saved cursor. */
  epoch(epoch: number, options?: { startBatch?: number; from?: SourceCursor }): AsyncIterableIterator<B>;
  /** The position after the last batch yielded: saved with each checkpoint for an exact resume when items were skipped. */
  cursor?(): SourceCursor;
  close?(): Promise<void>;
}

export interface TrainerOptions<B> {
  config: TrainConfig;
  runDir: string;
  model: StageModel<B>;
  /** The training batches of a stage (its batch size is plan.batchSize). Closed when the stage ends. */
  trainSource(plan: StagePlan): BatchSource<B>;
  /** Validation batches of a stage; validation runs only with this and validation.everyEpochs > 0. */
  valSource?(plan: StagePlan): BatchSource<B>;
  /** Releases a batch after its step (PriorBatch: disposeBatch). */
  disposeBatch(batch: B): void;
  /** N, the training set size: the schedules' steps per epoch come from it (spec §8, B11). */
  datasetSize: number;
  /** Where the model lives: the autocast device type and the GradScaler's device (default: the config's, 'auto' = CUDA when available). */
  device?: 'cpu' | 'cuda';
  /** The progress line's stream (default process.stderr); null turns it off. */
  progress?: ProgressStream | null;
  /** Status lines (stage starts, checkpoints, validation, summary); default: stderr. */
  log?(line: string): void;
  /** Install SIGINT/SIGTERM handlers that finish the step, save and stop (default true). */
  handleSignals?: boolean;
  /**
   * Validation by a metric instead of the mean loss (fine-tuning: AUROC, Dice, AP): called in eval
   * mode without gradients; `score` is maximised for the best checkpoint, `values` are logged.
   */
  validate?(plan: StagePlan): Promise<{ score: number; values: Record<string, number> }>;
  /** Stop the stage after this many validations without a better best (0 or absent: never). */
  earlyStoppingPatience?: number;
  /** What config.json holds when it is not `config` itself (a fine-tuning run's own options); resume compares with it. */
  savedConfig?: Json;
}

export type TrainStatus = 'completed' | 'interrupted';

export interface TrainResult {
  status: TrainStatus;
  /** The signal that stopped the run, if one did. */
  signal: 'SIGINT' | 'SIGTERM' | null;
  /** 0, or 128 + the signal number (130 for SIGINT, 143 for SIGTERM). */
  exitCode: number;
  /** Optimizer steps taken over the whole run (including before a resume). */
  steps: number;
  /** The checkpoint saved last, if any. */
  lastCheckpoint: string | null;
  /** Time blocked on the batch source as a share of step time (this process's steps). */
  dataWaitShare: number;
}

/** A loss term (or the total) became inf/NaN: training stops; the last checkpoint stays the good one. */
export class NonFiniteLossError extends Error {
  constructor(
    readonly term: string,
    readonly step: number,
    readonly stage: Stage,
    readonly value: number,
  ) {
    super(`non-finite loss: '${term}' is ${value} at step ${step} (stage ${stage}); training stopped, the last checkpoint is the last good state`);
    this.name = 'NonFiniteLossError';
  }
}

/** Where the run stands: the next batch to train on, and the counters. Saved in each checkpoint. */
interface TrainPosition {
  stage: Stage;
  /** Global epoch number (0 at the start of stage 1). */
  epoch: number;
  /** Batches of `epoch` already trained on. */
  batch: number;
  /** Optimizer steps taken since the start. */
  step: number;
  /** The stage whose optimizer the checkpoint holds (null before the first step). */
  optimizerStage: Stage | null;
  /** The source's cursor after `batch` batches of `epoch`, when the source has one. */
  cursor: SourceCursor | null;
  best: { stage: Stage; loss: number; step: number } | null;
  /** Validations since the best one (early stopping). */
  sinceBest?: number;
}

const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
const STATE_VERSION = 1;

/** Short names for the progress line: 'stage2_local_image_loss' -> 'limg'. */
const SHORT: Record<string, string> = {
  loss: 'loss',
  global_alignment: 'glob',
  local_image: 'limg',
  local_text: 'ltxt',
  proto: 'proto',
  rec_image: 'rec',
  spg: 'spg',
  kl: 'kl',
  gpa: 'gpa',
};
export function shortTermName(name: string): string {
  const base = name.replace(/^stage\d_/, '').replace(/_loss_?$/, '');
  return SHORT[base] ?? base;
}

export class Trainer<B> {
  readonly plans: StagePlan[];
  private readonly opts: TrainerOptions<B>;
  private readonly device: 'cpu' | 'cuda';
  private readonly log: (line: string) => void;
  private stopSignal: 'SIGINT' | 'SIGTERM' | null = null;
  private lastSavedStep = -1;
  private lastCheckpoint: string | null = null;
  private waitMs = 0;
  private stepMs = 0;

  constructor(options: TrainerOptions<B>) {
    this.opts = options;
    this.plans = planStages(options.config, options.datasetSize);
    const wanted = options.device ?? options.config.device;
    this.device = wanted === 'auto' ? (torch.cuda.isAvailable() ? 'cuda' : 'cpu') : wanted;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /** A fresh run in an empty (or new) run directory. */
  async run(): Promise<TrainResult> {
    const { runDir, config } = this.opts;
    if (existsSync(runPath(runDir, 'metrics')) || latestCheckpoint(runPath(runDir, 'checkpoints')) !== null) {
      throw new Error(`run directory '${runDir}' already holds a run (metrics or checkpoints); resume it with --resume or choose another --out`);
    }
    ensureRunDir(runDir);
    writeJson(runPath(runDir, 'config'), this.opts.savedConfig ?? config);
    writeJson(runPath(runDir, 'provenance'), makeProvenance(config.seed));
    torch.manualSeed(config.seed);
    return this.loop({ stage: 1, epoch: 0, batch: 0, step: 0, optimizerStage: null, cursor: null, best: null }, null);
  }

  /**
   * Continues the run in runDir from its latest checkpoint, exactly: the config must equal the
   * saved config.json; metric lines after the checkpoint are dropped (they are retrained).
   * Without any checkpoint, the run restarts from step 0.
   */
  async resume(): Promise<TrainResult> {
    const { runDir, config } = this.opts;
    const savedConfig = JSON.parse(readFileSync(runPath(runDir, 'config'), 'utf8')) as unknown;
    if (JSON.stringify(savedConfig) !== JSON.stringify(this.opts.savedConfig ?? config)) {
      throw new Error(`resume '${runDir}': the config differs from its config.json; resume with the saved config`);
    }
    ensureRunDir(runDir);
    const dir = runPath(runDir, 'checkpoints');
    const ckpt = latestCheckpoint(dir) === null ? null : loadCheckpoint(dir);
    const fromStep = ckpt?.step ?? 0;
    truncateJsonLines(runPath(runDir, 'metrics'), fromStep);
    truncateJsonLines(runPath(runDir, 'validation'), fromStep);
    const provenance = JSON.parse(readFileSync(runPath(runDir, 'provenance'), 'utf8')) as RunProvenance;
    provenance.resumes = [...(provenance.resumes ?? []), { at: new Date().toISOString(), fromStep }];
    writeJson(runPath(runDir, 'provenance'), provenance);
    if (ckpt === null) {
      this.log(`resume: no checkpoint in ${dir}; starting from step 0`);
      torch.manualSeed(config.seed);
      return this.loop({ stage: 1, epoch: 0, batch: 0, step: 0, optimizerStage: null, cursor: null, best: null }, null);
    }
    let position: TrainPosition;
    try {
      position = parsePosition(ckpt);
      this.opts.model.loadStateDict(ckpt.model);
      restoreRngStates(ckpt.rng);
    } catch (e) {
      torch.dispose([ckpt.optimizer, ckpt.scheduler]);
      throw e;
    } finally {
      // The model holds its own copy now; the optimizer state waits for its stage (see loop).
      torch.dispose([ckpt.model, [...ckpt.rng.values()]]);
    }
    this.lastSavedStep = ckpt.step;
    this.lastCheckpoint = ckpt.path;
    this.log(`resume: ${ckpt.path} (step ${ckpt.step}, stage ${position.stage}, epoch ${position.epoch}, batch ${position.batch})`);
    return this.loop(position, ckpt);
  }

  private async loop(pos: TrainPosition, ckpt: Checkpoint | null): Promise<TrainResult> {
    const { model, config } = this.opts;
    const onSignal = (sig: 'SIGINT' | 'SIGTERM') => (): void => {
      if (this.stopSignal !== null) process.exit(SIGNAL_EXIT[sig]); // a second signal: stop now, unsaved
      this.stopSignal = sig;
      this.log(`${sig}: finishing the current step, then saving a checkpoint`);
    };
    const handlers = { SIGINT: onSignal('SIGINT'), SIGTERM: onSignal('SIGTERM') };
    if (this.opts.handleSignals !== false) for (const [sig, h] of Object.entries(handlers)) process.on(sig, h);
    model.train(true);
    try {
      for (const plan of this.plans) {
        if (plan.stage < pos.stage || plan.config.epochs === 0) continue;
        if (plan.stage > pos.stage) Object.assign(pos, { stage: plan.stage, epoch: plan.firstEpoch, batch: 0, cursor: null });
        const resumeOptimizer = ckpt !== null && pos.optimizerStage === plan.stage && (pos.epoch > plan.firstEpoch || pos.batch > 0) ? ckpt : null;
        // The checkpoint's optimizer state is loaded (copied) when the stage starts, or not at all.
        const onStageReady = (): void => {
          if (ckpt !== null) torch.dispose([ckpt.optimizer, ckpt.scheduler]);
          ckpt = null;
        };
        const stopped = await this.runStage(plan, pos, resumeOptimizer, onStageReady);
        if (stopped) return this.result('interrupted', pos);
      }
      if (this.lastSavedStep !== pos.step) this.save(runPath(this.opts.runDir, 'checkpoints'), pos, null, { keepLast: config.checkpoint.keepLast });
      const share = this.dataWaitShare();
      this.log(`done: ${pos.step} steps; data wait ${(share * 100).toFixed(1)}% of step time; checkpoint ${this.lastCheckpoint}`);
      try {
        const { writeLossPlot } = await import('./loss-plot.js');
        this.log(`plot: ${await writeLossPlot(this.opts.runDir)}`);
      } catch (e) {
        this.log(`plot: not written (${(e as Error).message})`);
      }
      return this.result('completed', pos);
    } finally {
      if (ckpt !== null) torch.dispose([ckpt.optimizer, ckpt.scheduler]);
      for (const [sig, h] of Object.entries(handlers)) process.off(sig, h);
    }
  }

  /** Trains one stage from `pos`; returns true when a signal stopped it (after saving). */
  private async runStage(plan: StagePlan, pos: TrainPosition, resumeFrom: Checkpoint | null, onStageReady: () => void): Promise<boolean> {
    const { model, config, runDir } = this.opts;
    const ckptDir = runPath(runDir, 'checkpoints');
    if (plan.stage > 1 && pos.epoch === plan.firstEpoch && pos.batch === 0) {
      // The original's stage2_start / stage3_start: the model as the previous stage left it.
      this.save(join(ckptDir, `stage${plan.stage}_start`), pos, null, { keepLast: 1, periodic: false });
    }
    const stageOpt = stageOptimizer(model.parameters(), plan);
    const scaler = config.precision === 'fp16' ? new GradScaler({ device: this.device }) : null;
    if (resumeFrom !== null) loadOptimizerState(resumeFrom, stageOpt, scaler);
    onStageReady();
    pos.optimizerStage = plan.stage;
    const source = this.opts.trainSource(plan);
    const batchesPerEpoch = source.batchesPerEpoch;
    if (config.stepsPerEpoch === 'actual' && batchesPerEpoch !== plan.scheduleIters) {
      throw new Error(`stage ${plan.stage}: the source yields ${batchesPerEpoch} batches per epoch, the schedule expects ${plan.scheduleIters} (stepsPerEpoch 'actual' = ⌈N/B⌉ with N ${this.opts.datasetSize}, B ${plan.batchSize})`);
    }
    const lastEpoch = plan.firstEpoch + plan.config.epochs;
    const stageSteps = plan.config.epochs * batchesPerEpoch;
    const progress = this.opts.progress === null ? null : new Progress({ total: stageSteps, unit: 'steps', stream: this.opts.progress ?? process.stderr });
    this.log(`stage ${plan.stage}: epochs ${plan.firstEpoch}-${lastEpoch - 1}, ${batchesPerEpoch} batches/epoch (schedule I = ${plan.scheduleIters}), batch ${plan.batchSize}, ${config.precision} on ${this.device}`);
    try {
      for (; pos.epoch < lastEpoch; pos.epoch++, pos.batch = 0, pos.cursor = null) {
        if (pos.batch < batchesPerEpoch) {
          // A saved cursor of this epoch resumes exactly even after skipped items; else skip whole batches.
          const from = pos.cursor !== null && pos.cursor.epoch === pos.epoch && pos.cursor.batch === pos.batch ? pos.cursor : null;
          const it = source.epoch(pos.epoch, from ? { from } : { startBatch: pos.batch });
          try {
            for (;;) {
              const t0 = performance.now();
              const next = await it.next();
              const waited = performance.now() - t0;
              if (next.done) break;
              const line = this.step(plan, pos, stageOpt, scaler, next.value);
              const total = performance.now() - t0;
              this.waitMs += waited;
              this.stepMs += total;
              appendJsonLine(runPath(runDir, 'metrics'), { ...line, step_ms: round3(total), data_ms: round3(waited) });
              pos.step += 1;
              pos.batch += 1;
              pos.cursor = source.cursor?.() ?? null;
              progress?.update((pos.epoch - plan.firstEpoch) * batchesPerEpoch + pos.batch, this.progressFields(plan, pos, line));
              const every = config.checkpoint.everySteps;
              if ((every > 0 && pos.step % every === 0) || this.stopSignal !== null) {
                this.save(ckptDir, pos, { stageOpt, scaler }, { keepLast: config.checkpoint.keepLast });
              }
              if (this.stopSignal !== null) return true;
            }
          } finally {
            await it.return?.();
          }
          if (pos.batch < batchesPerEpoch) this.log(`stage ${plan.stage} epoch ${pos.epoch}: the source gave ${pos.batch} of ${batchesPerEpoch} batches (items skipped)`);
        }
        const every = config.validation.everyEpochs;
        if (every > 0 && (this.opts.valSource || this.opts.validate) && (pos.epoch + 1 - plan.firstEpoch) % every === 0) {
          await this.validate(plan, pos, { stageOpt, scaler });
          const patience = this.opts.earlyStoppingPatience ?? 0;
          if (patience > 0 && (pos.sinceBest ?? 0) >= patience) {
            this.log(`early stopping: ${patience} validations without improvement (best at step ${pos.best?.step})`);
            pos.epoch += 1;
            pos.batch = 0;
            pos.cursor = null;
            break;
          }
        }
      }
      progress?.finish();
      return false;
    } finally {
      await source.close?.();
    }
  }

  /** One optimizer step; returns its metric line (without timings). Throws on a non-finite term. */
  private step(plan: StagePlan, pos: TrainPosition, { optimizer, scheduler }: StageOptimizer, scaler: GradScaler | null, batch: B): Omit<MetricLine, 'step_ms' | 'data_ms'> {
    const { model, config } = this.opts;
    const stage = plan.stage;
    try {
      let spbTemp: number | null = null;
      const bank = model.sentenceBank;
      if (stage > 1 && bank) {
        const { step, total } = spbTemperatureStep(pos.step, this.plans);
        bank.setTemperature(step, total, config.spbTemperature);
        spbTemp = bank.temperature;
      }
      const lr = optimizer.paramGroups[0]!.lr;
      // The scale this step's loss is multiplied by (update() below may change it).
      const gradScale = scaler?.getScale();
      optimizer.zeroGrad();
      const values = torch.scope(() => {
        // The forward's own scope ends before backward: only the loss leaves it, so the activation
        // handles are released and libtorch frees each saved tensor as backward consumes it, as
        // PyTorch does (peak memory is then the graph's, not graph + every intermediate).
        const { loss, values } = torch.scope(() => {
          const { loss, terms } = this.withPrecision(() => model.stageStep(batch, stage));
          const values: Record<string, number> = { loss: loss.item() as number };
          for (const [name, t] of Object.entries(terms)) {
            if (METRIC_META_KEYS.has(name) && name !== 'loss') throw new Error(`stageStep: the term name '${name}' clashes with a metrics field`);
            values[name] = t.item() as number;
          }
          for (const [name, v] of Object.entries(values)) if (!Number.isFinite(v)) throw new NonFiniteLossError(name === 'loss' ? `stage${stage} total loss` : name, pos.step, stage, v);
          return { loss, values };
        });
        (scaler ? scaler.scale(loss) : loss).backward();
        if (scaler) {
          scaler.step(optimizer);
          scaler.update();
        } else optimizer.step();
        return values;
      });
      scheduler.step();
      const line: Omit<MetricLine, 'step_ms' | 'data_ms'> = { stage, epoch: pos.epoch, step: pos.step, batch: pos.batch, lr, spb_temp: spbTemp, ...values };
      if (gradScale !== undefined) line.grad_scale = gradScale;
      return line;
    } finally {
      this.opts.disposeBatch(batch);
    }
  }

  private withPrecision<T>(fn: () => T): T {
    const p = this.opts.config.precision;
    if (p === 'fp32') return fn();
    return autocast({ deviceType: this.device, dtype: p === 'bf16' ? 'bfloat16' : 'float16' }, fn);
  }

  /** Mean stage loss (and terms) over the validation source, in eval mode, without gradients. The torch RNG is restored after, so validation does not shift training's random stream. */
  private async validate(plan: StagePlan, pos: TrainPosition, opt: { stageOpt: StageOptimizer; scaler: GradScaler | null }): Promise<void> {
    const { model, runDir } = this.opts;
    if (this.opts.validate) return this.validateByMetric(plan, pos, opt);
    const source = this.opts.valSource!(plan);
    const rng = captureRngStates();
    model.train(false);
    const sums: Record<string, number> = {};
    let batches = 0;
    try {
      for await (const batch of source.epoch(0)) {
        try {
          torch.scope(() =>
            torch.noGrad(() => {
              const { loss, terms } = this.withPrecision(() => model.stageStep(batch, plan.stage));
              sums.loss = (sums.loss ?? 0) + (loss.item() as number);
              for (const [k, t] of Object.entries(terms)) sums[k] = (sums[k] ?? 0) + (t.item() as number);
            }),
          );
        } finally {
          this.opts.disposeBatch(batch);
        }
        batches += 1;
      }
    } finally {
      model.train(true);
      restoreRngStates(rng);
      torch.dispose([...rng.values()]);
      await source.close?.();
    }
    if (batches === 0) throw new Error(`validation (stage ${plan.stage}): the validation source yielded no batches`);
    const means = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / batches]));
    appendJsonLine(runPath(runDir, 'validation'), { stage: plan.stage, epoch: pos.epoch, step: pos.step, batches, ...means });
    const loss = means.loss!;
    this.log(`validation stage ${plan.stage} epoch ${pos.epoch}: loss ${loss.toPrecision(5)} over ${batches} batches`);
    // Loss weights differ between stages, so the best is kept within the current stage.
    if (Number.isFinite(loss) && (pos.best === null || pos.best.stage !== plan.stage || loss < pos.best.loss)) {
      pos.best = { stage: plan.stage, loss, step: pos.step };
      this.save(join(runPath(runDir, 'checkpoints'), 'best'), pos, opt, { keepLast: 1, periodic: false });
    }
  }

  /** validate() with the caller's metric (higher is better), kept as `loss` = -score in the position. */
  private async validateByMetric(plan: StagePlan, pos: TrainPosition, opt: { stageOpt: StageOptimizer; scaler: GradScaler | null }): Promise<void> {
    const { model, runDir } = this.opts;
    const rng = captureRngStates();
    model.train(false);
    let result: { score: number; values: Record<string, number> };
    try {
      result = await this.opts.validate!(plan);
    } finally {
      model.train(true);
      restoreRngStates(rng);
      torch.dispose([...rng.values()]);
    }
    appendJsonLine(runPath(runDir, 'validation'), { stage: plan.stage, epoch: pos.epoch, step: pos.step, score: result.score, ...result.values });
    this.log(`validation stage ${plan.stage} epoch ${pos.epoch}: score ${result.score.toPrecision(5)}`);
    if (Number.isFinite(result.score) && (pos.best === null || pos.best.stage !== plan.stage || -result.score < pos.best.loss)) {
      pos.best = { stage: plan.stage, loss: -result.score, step: pos.step };
      pos.sinceBest = 0;
      this.save(join(runPath(runDir, 'checkpoints'), 'best'), pos, opt, { keepLast: 1, periodic: false });
    } else pos.sinceBest = (pos.sinceBest ?? 0) + 1;
  }

  private save(dir: string, pos: TrainPosition, opt: { stageOpt: StageOptimizer; scaler: GradScaler | null } | null, { keepLast, periodic = true }: { keepLast: number; periodic?: boolean }): void {
    const state: Record<string, Json> = { version: STATE_VERSION, ...(structuredClone(pos) as unknown as Record<string, Json>) };
    if (opt === null) state.optimizerStage = null;
    const path = torch.scope(() =>
      saveCheckpoint(
        dir,
        {
          step: pos.step,
          epoch: pos.epoch,
          stage: `stage${pos.stage}`,
          model: this.opts.model.stateDict(),
          optimizer: opt ? (opt.stageOpt.optimizer.stateDict() as StateTree) : null,
          scheduler: opt ? { lr: opt.stageOpt.scheduler.stateDict() as StateTree, scaler: opt.scaler ? { ...opt.scaler.stateDict() } : null } : null,
          loaderRng: state,
          config: this.opts.config as unknown as Json,
        },
        { keepLast },
      ),
    );
    if (periodic) {
      this.lastSavedStep = pos.step;
      this.lastCheckpoint = path;
    }
    this.log(`checkpoint: ${path}`);
  }

  private progressFields(plan: StagePlan, pos: TrainPosition, line: Record<string, unknown>): Record<string, string> {
    const fields: Record<string, string> = { stage: `${plan.stage}/3`, epoch: `${pos.epoch + 1}/${this.plans[2]!.firstEpoch + this.plans[2]!.config.epochs}` };
    for (const [k, v] of Object.entries(line)) {
      if (typeof v !== 'number' || (METRIC_META_KEYS.has(k) && k !== 'loss') || k === `stage${plan.stage}_loss`) continue;
      fields[shortTermName(k)] = v.toPrecision(4);
    }
    return fields;
  }

  private dataWaitShare(): number {
    return this.stepMs > 0 ? this.waitMs / this.stepMs : 0;
  }

  private result(status: TrainStatus, pos: TrainPosition): TrainResult {
    const signal = status === 'interrupted' ? this.stopSignal : null;
    return { status, signal, exitCode: signal ? SIGNAL_EXIT[signal] : 0, steps: pos.step, lastCheckpoint: this.lastCheckpoint, dataWaitShare: this.dataWaitShare() };
  }
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

function parsePosition(ckpt: Checkpoint): TrainPosition {
  const s = ckpt.loaderRng as Record<string, unknown> | null;
  const ok =
    s !== null &&
    typeof s === 'object' &&
    s.version === STATE_VERSION &&
    [1, 2, 3].includes(s.stage as number) &&
    Number.isInteger(s.epoch) &&
    Number.isInteger(s.batch) &&
    s.step === ckpt.step &&
    (s.optimizerStage === null || [1, 2, 3].includes(s.optimizerStage as number));
  if (!ok) throw new Error(`checkpoint '${ckpt.path}': no training position of this trainer (version ${STATE_VERSION}) in its state`);
  const { stage, epoch, batch, step, optimizerStage, cursor, best, sinceBest } = s as unknown as TrainPosition;
  const validCursor = cursor !== null && typeof cursor === 'object' && [cursor.epoch, cursor.item, cursor.batch].every((v) => Number.isSafeInteger(v) && v >= 0);
  return { stage, epoch, batch, step, optimizerStage, cursor: validCursor ? cursor : null, best: best ?? null, sinceBest: Number.isSafeInteger(sinceBest) ? sinceBest : 0 };
}

function loadOptimizerState(ckpt: Checkpoint, { optimizer, scheduler }: StageOptimizer, scaler: GradScaler | null): void {
  const sched = ckpt.scheduler as { lr: SchedulerStateDict; scaler: GradScalerStateDict | null } | null;
  if (ckpt.optimizer === null || sched === null) throw new Error(`checkpoint '${ckpt.path}': no optimizer state to resume the stage with`);
  optimizer.loadStateDict(ckpt.optimizer as unknown as OptimizerStateDict);
  scheduler.loadStateDict(sched.lr);
  if (scaler) {
    if (sched.scaler === null) throw new Error(`checkpoint '${ckpt.path}': no GradScaler state, but the run uses fp16`);
    scaler.loadStateDict(sched.scaler);
  }
}

