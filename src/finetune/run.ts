// The fine-tuning loop shared by the three tasks, on the pre-training trainer (a one-stage run):
// a train fraction sampled deterministically, the untrained model scored on validation first, the
// trainer's steps / checkpoints / progress / metrics.jsonl, validation by the task's metric each
// epoch with the best checkpoint and early stopping, then the best model scored on validation
// and test, the task's baselines, metrics.json and figures.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Json } from '../io/checkpoint.js';
import { latestCheckpoint, loadCheckpoint } from '../io/checkpoint.js';
import * as torch from '../torch/index.js';

import type { TrainConfig } from '../train/config.js';
import { RUN_FILES } from '../train/run-dir.js';
import { Trainer, type TrainResult } from '../train/trainer.js';
import type { ProgressStream } from '../util/progress.js';
import { type FinetuneBatch, ItemStore, type LoadedItem, batchSource, disposeFinetuneBatch, sampleFraction } from './data.js';
import type { FinetuneTask, TaskMetrics } from './task.js';

export interface FinetuneSettings {
  runDir: string;
  /** Share of the training split used (0.01, 0.1, 1 in the papers). */
  fraction: number;
  /** Linear probing (frozen encoder in eval mode) or full fine-tuning. */
  mode: 'linear' | 'full';
  imageSize: number;
  batchSize: number;
  epochs: number;
  lr: number;
  weightDecay: number;
  /** Validations without improvement before stopping (0: never). */
  patience: number;
  seed: number;
  device: 'auto' | 'cpu' | 'cuda';
  /** Keep decoded images in memory (default: when all splits fit in about 2 GiB). */
  cache?: boolean;
  /** Figures for this many validation / test cases (segmentation, detection). */
  figureCases?: number;
}

export interface SplitResult {
  n: number;
  metrics: Record<string, number>;
  details?: Json;
  baselines?: Record<string, number>;
}

export interface FinetuneResult {
  task: string;
  encoder: string;
  mode: 'linear' | 'full';
  fraction: number;
  classes: string[];
  sizes: { train: number; trainUsed: number; val: number; test: number };
  untrained: SplitResult;
  val: SplitResult;
  test: SplitResult | null;
  bestStep: number | null;
  training: Pick<TrainResult, 'status' | 'steps'>;
  figures: string[];
  /** The settings and anything the caller adds (CLI options): the run's config.json. */
  config: Json;
}

const finite = (values: Record<string, number>): Record<string, number | null> => Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Number.isFinite(v) ? v : null]));

/** The trainer's config for a one-stage run (stages 2 and 3 empty). */
function trainConfigFor(s: FinetuneSettings, trainPath: string): TrainConfig {
  const stage = { epochs: s.epochs, warmupEpochs: 1, peakLr: s.lr, startLr: s.lr / 10, endLr: 0, weightDecay: s.weightDecay };
  const none = { ...stage, epochs: 0 };
  return {
    model: { preset: 'tiny', overrides: {} }, // unused: the trainer reads stages, precision, device, seed, checkpoint, validation
    data: { dataset: trainPath, batchSize: s.batchSize, imageSize: s.imageSize, workers: 0, textJoin: 'faithful', augment: false },
    stages: [stage, none, none],
    precision: 'fp32',
    device: s.device,
    seed: s.seed,
    threads: null,
    checkpoint: { everySteps: 0, keepLast: 1 },
    validation: { everyEpochs: 1 },
    stepsPerEpoch: 'faithful',
    spbTemperature: 'fixed',
  };
}

export interface FinetuneRunOptions<S extends { id: string; image: string }, T, P> {
  task: FinetuneTask<S, T, P>;
  encoderDescription: string;
  train: readonly S[];
  val: readonly S[];
  test?: readonly S[];
  settings: FinetuneSettings;
  /** Extra fields for config.json (the CLI's options). */
  config?: Record<string, Json>;
  progress?: ProgressStream | null;
  log?(line: string): void;
  /** SIGINT/SIGTERM finish the step and save (the CLI); default false. */
  handleSignals?: boolean;
}

export async function runFinetune<S extends { id: string; image: string }, T, P>(o: FinetuneRunOptions<S, T, P>): Promise<FinetuneResult> {
  const { task, settings: s } = o;
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (!Number.isInteger(s.epochs) || s.epochs < 2) throw new RangeError(`fine-tuning needs at least 2 epochs (1 of warm-up), got ${s.epochs}`);
  if (o.train.length < 2 || o.val.length === 0) throw new RangeError(`fine-tuning needs at least 2 training and 1 validation samples, got ${o.train.length} and ${o.val.length}`);
  const device: 'cpu' | 'cuda' = s.device === 'auto' ? (torch.cuda.isAvailable() ? 'cuda' : 'cpu') : s.device;
  const model = task.model;
  if (device !== 'cpu') model.to(device);
  model.freezeEncoder(s.mode === 'linear');

  // Decoded planes stay in memory unless they would pass ~2 GiB (CheXpert-size sets are re-read each epoch).
  const planes = o.train.length + o.val.length + (o.test?.length ?? 0);
  const cache = s.cache ?? planes * s.imageSize * s.imageSize * 4 < 2 ** 31;
  const store = (samples: readonly S[]): ItemStore<S, T> => new ItemStore(samples, s.imageSize, (sample, img) => task.targetOf(sample, img), cache);
  const trainStore = store(o.train);
  const valStore = store(o.val);
  const testStore = o.test && o.test.length > 0 ? store(o.test) : null;
  const trainUsed = sampleFraction(o.train.length, s.fraction, s.seed, task.stratum ? (i) => task.stratum!(o.train[i]!) : undefined);
  if (trainUsed.length < 2) throw new RangeError(`fraction ${s.fraction} of ${o.train.length} training samples leaves ${trainUsed.length}; need at least 2`);
  const batchSize = Math.min(s.batchSize, trainUsed.length);
  log(`${task.name}: ${o.encoderDescription}, ${s.mode}, fraction ${s.fraction}: ${trainUsed.length} of ${o.train.length} training, ${o.val.length} validation, ${o.test?.length ?? 0} test samples`);

  const all = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  const evaluate = async (st: ItemStore<S, T>): Promise<{ preds: P[]; items: LoadedItem<T>[] }> => {
    const preds: P[] = [];
    const items: LoadedItem<T>[] = [];
    const wasTraining = model.training;
    model.train(false);
    try {
      for await (const batch of batchSource(st, all(st.length), { batchSize, seed: s.seed, train: false, device }).epoch(0)) {
        try {
          torch.scope(() => torch.noGrad(() => preds.push(...task.predict(model.call(batch.image), batch.items))));
          items.push(...batch.items);
        } finally {
          disposeFinetuneBatch(batch);
        }
      }
    } finally {
      model.train(wasTraining);
    }
    return { preds, items };
  };
  const score = async (st: ItemStore<S, T>): Promise<TaskMetrics & { preds: P[]; items: LoadedItem<T>[] }> => {
    const { preds, items } = await evaluate(st);
    return { ...task.metrics(preds, items), preds, items };
  };

  const untrained = await score(valStore);
  log(`untrained ${task.scoreName} (validation): ${untrained.score.toFixed(4)}`);

  const config = { task: task.name, encoder: o.encoderDescription, classes: [...task.classes], ...s, ...(o.config ?? {}) } as unknown as Json;
  const trainer = new Trainer<FinetuneBatch<T>>({
    config: trainConfigFor(s, s.runDir),
    savedConfig: config,
    runDir: s.runDir,
    model: {
      stageStep: (batch) => task.loss(model.call(batch.image), batch.items),
      parameters: () => model.trainableParameters(),
      stateDict: () => model.stateDict(),
      loadStateDict: (state) => model.loadStateDict(state),
      train: (mode) => model.train(mode),
    },
    trainSource: () => batchSource(trainStore, trainUsed, { batchSize, seed: s.seed, train: true, device }),
    validate: async () => {
      const m = await score(valStore);
      return { score: m.score, values: m.values };
    },
    earlyStoppingPatience: s.patience,
    disposeBatch: disposeFinetuneBatch,
    datasetSize: trainUsed.length,
    device,
    progress: o.progress === undefined ? process.stderr : o.progress,
    log,
    handleSignals: o.handleSignals ?? false,
  });
  const result = await trainer.run();

  const bestDir = join(s.runDir, RUN_FILES.checkpoints, 'best');
  let bestStep: number | null = null;
  if (existsSync(bestDir) && latestCheckpoint(bestDir) !== null) {
    const best = loadCheckpoint(bestDir, { device });
    try {
      model.loadStateDict(best.model);
      bestStep = best.step;
    } finally {
      torch.dispose([...best.model.values(), ...best.rng.values()]);
      torch.dispose(best.optimizer);
      torch.dispose(best.scheduler);
    }
  }
  const val = await score(valStore);
  const test = testStore ? await score(testStore) : null;
  const trainItems = await Promise.all(trainUsed.map((i) => trainStore.get(i)));
  const figures: string[] = [];
  if (task.figures) {
    figures.push(...(await task.figures(s.runDir, 'val', val.preds, val.items)));
    if (test) figures.push(...(await task.figures(s.runDir, 'test', test.preds, test.items)));
  }
  const split = (m: TaskMetrics & { items: LoadedItem<T>[] }): SplitResult => ({
    n: m.items.length,
    metrics: m.values,
    ...(m.details === undefined ? {} : { details: m.details }),
    ...(task.baselines ? { baselines: task.baselines(trainItems, m.items) } : {}),
  });
  const out: FinetuneResult = {
    task: task.name,
    encoder: o.encoderDescription,
    mode: s.mode,
    fraction: s.fraction,
    classes: [...task.classes],
    sizes: { train: o.train.length, trainUsed: trainUsed.length, val: o.val.length, test: o.test?.length ?? 0 },
    untrained: { n: untrained.items.length, metrics: untrained.values },
    val: split(val),
    test: test ? split(test) : null,
    bestStep,
    training: { status: result.status, steps: result.steps },
    figures,
    config,
  };
  const json = JSON.stringify(
    out,
    (k, v: unknown) => (k === 'metrics' || k === 'baselines' ? finite(v as Record<string, number>) : typeof v === 'number' && !Number.isFinite(v) ? null : v),
    2,
  );
  writeFileSync(join(s.runDir, 'metrics.json'), `${json}\n`);
  log(`${task.name}: validation ${task.scoreName} ${val.score.toFixed(4)} (untrained ${untrained.score.toFixed(4)})${test ? `, test ${test.score.toFixed(4)}` : ''}; ${join(s.runDir, 'metrics.json')}`);
  return out;
}

