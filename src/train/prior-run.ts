// Wires the trainer to PRIOR: the model from the config's preset and overrides, the dataset
// files, and one PretrainLoader per stage (its batch size), batches moved to the device.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PriorBatch } from '../data/batch.js';
import { disposeBatch } from '../data/batch.js';
import { type DatasetFile, readDatasetFile } from '../data/dataset-file.js';
import { PretrainLoader } from '../data/loader.js';
import { BertTokenizer, DEFAULT_VOCAB_PATH } from '../data/tokenizer.js';
import { Prior } from '../models/prior/prior.js';
import * as torch from '../torch/index.js';
import { DEFAULT_SYNTH_DIR, type TrainConfig, modelConfig } from './config.js';
import type { StagePlan } from './schedule.js';
import type { BatchSource, TrainerOptions } from './trainer.js';

export type Device = 'cpu' | 'cuda';

export function resolveDevice(config: TrainConfig): Device {
  if (config.device === 'cuda' && !torch.cuda.isAvailable()) throw new Error("device 'cuda' was requested but libtorch sees no CUDA device");
  return config.device === 'auto' ? (torch.cuda.isAvailable() ? 'cuda' : 'cpu') : config.device;
}

/** A batch's tensors on `device` (the CPU batch is released). */
export function priorBatchTo(batch: PriorBatch, device: Device): PriorBatch {
  if (device === 'cpu') return batch;
  const moved: PriorBatch = {
    image: batch.image.to(device),
    inputIds: batch.inputIds.to(device),
    attentionMask: batch.attentionMask.to(device),
    sentenceIndex: batch.sentenceIndex.to(device),
    keys: batch.keys,
    indices: batch.indices,
  };
  if (batch.label) moved.label = batch.label.to(device);
  disposeBatch(batch);
  return moved;
}

/** `source` with every batch passed through `map` (its cursor and close kept). */
export function mapSource<A, B>(source: BatchSource<A>, map: (a: A) => B): BatchSource<B> {
  const mapped: BatchSource<B> = {
    batchesPerEpoch: source.batchesPerEpoch,
    async *epoch(epoch, options) {
      for await (const batch of source.epoch(epoch, options)) yield map(batch);
    },
    close: () => source.close?.() ?? Promise.resolve(),
  };
  if (source.cursor) mapped.cursor = () => source.cursor!();
  return mapped;
}

/** Is `file` the default synthetic dataset (so `prior train` may generate it when missing)? */
export function isDefaultSynthPath(file: string): boolean {
  return resolve(file).startsWith(`${resolve(DEFAULT_SYNTH_DIR)}/`);
}

export interface PriorRun {
  model: Prior;
  options: Omit<TrainerOptions<PriorBatch>, 'runDir' | 'progress' | 'log' | 'handleSignals'>;
}

/**
 * The PRIOR model (seeded with config.seed before its initialisation) and the trainer's data
 * options for `config`. Reads the dataset files now, so a bad file is reported before training.
 */
export function preparePriorRun(config: TrainConfig): PriorRun {
  const device = resolveDevice(config);
  if (config.threads !== null) torch.setNumThreads(config.threads);
  const read = (file: string): DatasetFile => {
    if (!existsSync(file)) throw new Error(`dataset file '${file}' does not exist${isDefaultSynthPath(file) ? ' (run `prior data synth` first)' : ''}`);
    return readDatasetFile(file, config.data.imageRoot === undefined ? {} : { imageRoot: config.data.imageRoot });
  };
  const train = read(config.data.dataset);
  const val = config.data.val !== undefined && config.validation.everyEpochs > 0 ? read(config.data.val) : null;
  const mc = modelConfig(config);
  const vocabPath = config.data.vocab ?? DEFAULT_VOCAB_PATH;
  const vocabSize = BertTokenizer.fromVocabFile(vocabPath).vocab.size;
  if (vocabSize !== mc.text.vocab_size) {
    throw new Error(`data.vocab '${vocabPath}' has ${vocabSize} word pieces but the model's text encoder expects ${mc.text.vocab_size} (set data.vocab to its vocab.txt)`);
  }
  torch.manualSeed(config.seed);
  const model = new Prior(mc);
  if (device !== 'cpu') model.to(device);
  const loader = (dataset: DatasetFile, plan: StagePlan, isTrain: boolean): BatchSource<PriorBatch> =>
    mapSource(
      new PretrainLoader(dataset, {
        batchSize: plan.batchSize,
        imageSize: [config.data.imageSize, config.data.imageSize],
        maxLength: mc.textMaxLength,
        augment: isTrain && config.data.augment,
        shuffle: isTrain,
        seed: config.seed,
        workers: config.data.workers,
        textJoin: config.data.textJoin === 'faithful' ? 'none' : 'space',
        vocabPath,
      }),
      (b) => priorBatchTo(b, device),
    );
  return {
    model,
    options: {
      config,
      model,
      device,
      datasetSize: train.records.length,
      trainSource: (plan) => loader(train, plan, true),
      ...(val ? { valSource: (plan: StagePlan) => loader(val, plan, false) } : {}),
      disposeBatch,
    },
  };
}
