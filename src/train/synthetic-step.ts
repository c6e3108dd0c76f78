// One PRIOR training step on a synthetic batch, as the Trainer takes it (zero grads, stageStep
// under the precision's autocast, every term read as a number, backward, AdamW step, schedule
// step), for the benchmark (bench/prior.ts) and `prior profile --prior-stage`. The batch is
// built by arithmetic only, so bench/prior_baseline.py builds the same one.
import type { PriorBatch } from '../data/batch.js';
import type { PriorConfig, PriorStage } from '../models/prior/index.js';
import { Prior } from '../models/prior/index.js';
import { autocast } from '../optim/amp.js';
import * as torch from '../torch/index.js';
import { TRAIN_PRESETS } from './config.js';
import { type StageOptimizer, scheduleStepsPerEpoch, stageOptimizer } from './schedule.js';

const CLS = 101;
const SEP = 102;
const FIRST_WORD_ID = 1000;
/** Sentences per report: 6 + b mod 4, i.e. 6 to 9, as IU/MIMIC reports mostly have. */
const MIN_SENTENCES = 6;
/** Share of the token budget the sentences fill (the rest is [PAD]). */
const FILL = 0.8;

export interface SyntheticText {
  inputIds: number[][];
  attentionMask: number[][];
  sentenceIndex: number[][];
}

/**
 * Token rows of `batchSize` reports of `length` tokens: [CLS], sentences 1..n of 3 lengths
 * around an even share of 80% of the room, [SEP], [PAD]s; sentence ids -1 off the sentences.
 * bench/prior_baseline.py's synthetic_text is the same arithmetic.
 */
export function syntheticText(batchSize: number, length: number, vocabSize: number): SyntheticText {
  const inputIds: number[][] = [];
  const attentionMask: number[][] = [];
  const sentenceIndex: number[][] = [];
  for (let b = 0; b < batchSize; b++) {
    const sentences = MIN_SENTENCES + (b % 4);
    const base = Math.max(2, Math.floor(((length - 2) * FILL) / sentences));
    const ids = [CLS];
    const index = [-1];
    for (let j = 1; j <= sentences; j++) {
      const n = base + ((b + j) % 3) - 1;
      for (let t = 0; t < n && ids.length < length - 1; t++) {
        ids.push(FIRST_WORD_ID + ((b * 131 + ids.length * 17 + j * 7) % (vocabSize - FIRST_WORD_ID)));
        index.push(j);
      }
    }
    ids.push(SEP);
    index.push(-1);
    const used = ids.length;
    while (ids.length < length) {
      ids.push(0);
      index.push(-1);
    }
    inputIds.push(ids);
    attentionMask.push(ids.map((_, i) => (i < used ? 1 : 0)));
    sentenceIndex.push(index);
  }
  return { inputIds, attentionMask, sentenceIndex };
}

/** A batch of the config's shapes: images from torch.manualSeed(seed) randn, text from syntheticText. */
export function syntheticBatch(config: PriorConfig, batchSize: number, seed = 0): PriorBatch {
  const text = syntheticText(batchSize, config.textMaxLength, config.text.vocab_size);
  torch.manualSeed(seed);
  const long = (rows: number[][]) => torch.keep(torch.tensor(rows, { dtype: 'int64' })) as torch.Tensor<'int64'>;
  return {
    image: torch.keep(torch.randn(batchSize, config.inChannels, config.imageSize, config.imageSize)) as torch.Tensor<'float32'>,
    inputIds: long(text.inputIds),
    attentionMask: long(text.attentionMask),
    sentenceIndex: long(text.sentenceIndex),
    keys: Array.from({ length: batchSize }, (_, i) => `synthetic-${i}`),
    indices: Array.from({ length: batchSize }, (_, i) => i),
  };
}

export type StepPrecision = 'fp32' | 'bf16';

export interface SyntheticStep {
  model: Prior;
  batch: PriorBatch;
  /** One training step; returns the stage loss. */
  step(): number;
}

/**
 * A PRIOR model in train mode with the `paper` train preset's AdamW and schedule of `stage`
 * (a 1000-step stage), ready to take steps on one synthetic batch on the CPU.
 */
export function syntheticStep(config: PriorConfig, { stage, batchSize, precision, seed = 0 }: { stage: PriorStage; batchSize: number; precision: StepPrecision; seed?: number }): SyntheticStep {
  torch.manualSeed(seed);
  const model = new Prior(config);
  model.train(true);
  const stageConfig = TRAIN_PRESETS.paper.stages[stage - 1]!;
  const datasetSize = 1000 * batchSize;
  const { optimizer, scheduler }: StageOptimizer = stageOptimizer(model.parameters(), {
    stage,
    config: stageConfig,
    batchSize,
    scheduleIters: scheduleStepsPerEpoch(datasetSize, batchSize, 'faithful'),
    firstEpoch: 0,
  });
  const batch = syntheticBatch(config, batchSize, seed);
  const forward = () => model.stageStep(batch, stage);
  return {
    model,
    batch,
    step() {
      optimizer.zeroGrad();
      // Named ranges for the profiler (`prior profile --prior-stage`); no cost when it is off.
      const loss = torch.scope(() => {
        // As the Trainer: the forward's scope ends before backward, keeping only the loss.
        const loss = torch.scope(() => {
          const { loss, terms } = torch.recordFunction('prior/forward', () => (precision === 'bf16' ? autocast({ deviceType: 'cpu', dtype: 'bfloat16' }, forward) : forward()));
          // The Trainer logs every term: each is read back as a number.
          for (const t of Object.values(terms)) t.item();
          return loss;
        });
        const value = loss.item() as number;
        torch.recordFunction('prior/backward', () => loss.backward());
        torch.recordFunction('optim/adamw_step', () => optimizer.step());
        return value;
      });
      scheduler.step();
      return loss;
    },
  };
}
