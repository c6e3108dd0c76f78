// The trainer with the real PRIOR model and PretrainLoader on a few generated synthetic cases
// (a shrunken tiny preset: 32×32 images, 32 tokens): every stage logs the terms of spec §7.3,
// checkpoints load strictly into a fresh model, and a run interrupted in stage 2 (SIGINT) and
// resumed with a freshly built model and loaders logs bitwise the same values as a straight run.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticDataset } from '../../src/data/synth/index.js';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import { Prior, STAGE_TERMS } from '../../src/models/prior/prior.js';
import * as torch from '../../src/torch/index.js';
import { modelConfig, resolveTrainConfig } from '../../src/train/config.js';
import { preparePriorRun } from '../../src/train/prior-run.js';
import { readMetrics } from '../../src/train/run-dir.js';
import { Trainer } from '../../src/train/trainer.js';
import { metricValues, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
const synth = join(tmp.dir, 'synth');
beforeAll(async () => {
  await generateSyntheticDataset({ out: synth, n: 9, size: 64, seed: 7, val: 0.1, test: 0.1 });
});

const config = (): ReturnType<typeof resolveTrainConfig> =>
  resolveTrainConfig({
    set: [
      `data.dataset=${join(synth, 'train.json')}`,
      'data.batchSize=4',
      'data.imageSize=32',
      'model.overrides={"imageSize":32,"textMaxLength":32,"prototypes":16,"decoderLayers":1,"predictorHidden":32}',
      'validation.everyEpochs=0',
      'checkpoint.everySteps=0',
      'device=cpu',
      'data.workers=0',
      'threads=null',
      'stages.0.epochs=2',
      'stages.1.epochs=2',
      'stages.2.epochs=2',
    ],
  });

async function train(runDir: string, stopAfter?: number, resume = false) {
  const { options } = preparePriorRun(config());
  let steps = 0;
  const trainer = new Trainer({
    ...options,
    runDir,
    progress: null,
    log: () => {},
    disposeBatch: (b) => {
      options.disposeBatch(b);
      if (++steps === stopAfter) process.emit('SIGINT');
    },
  });
  return resume ? trainer.resume() : trainer.run();
}

describe('PRIOR through the trainer', () => {
  const straight = join(tmp.dir, 'straight');

  it('runs stages 1-3 and logs the terms of spec §7.3', async () => {
    const result = await train(straight);
    expect(result).toMatchObject({ status: 'completed', steps: 12 }); // 7 train items, batch 4: 2 steps × 2 epochs × 3 stages
    const lines = readMetrics(straight);
    for (const stage of [1, 2, 3] as const) {
      const line = lines.find((l) => l.stage === stage)!;
      const terms = Object.keys(line).filter((k) => /^stage\d_/.test(k));
      expect(terms.sort()).toEqual([...STAGE_TERMS[stage], `stage${stage}_loss`].sort());
      expect(line.spb_temp).toBe(stage === 1 ? null : 0.9);
    }
    expect(lines.every((l) => Number.isFinite(l.loss))).toBe(true);
    const ckpt = loadCheckpoint(join(straight, 'checkpoints'));
    const fresh = new Prior(modelConfig(config()));
    expect(fresh.loadStateDict(ckpt.model)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    torch.dispose([ckpt.model, ckpt.optimizer]);
  });

  it('refuses a vocabulary that does not fit the text encoder', () => {
    const c = config();
    expect(() => preparePriorRun({ ...c, model: { ...c.model, overrides: { ...c.model.overrides, text: { vocab_size: 1000 } } } })).toThrow(
      /has 30522 word pieces but the model's text encoder expects 1000 \(set data\.vocab/,
    );
  });

  it('resumes exactly after an interruption in stage 2', async () => {
    const interrupted = join(tmp.dir, 'interrupted');
    const first = await train(interrupted, 5);
    expect(first).toMatchObject({ status: 'interrupted', exitCode: 130, steps: 5 });
    // Stage 2's first epoch after one batch; the loader's cursor is saved for an exact restart.
    expect(loadCheckpoint(join(interrupted, 'checkpoints'))).toMatchObject({ step: 5, stage: 'stage2', epoch: 2, loaderRng: { batch: 1, cursor: { epoch: 2, item: 4, batch: 1 } } });
    const second = await train(interrupted, undefined, true);
    expect(second).toMatchObject({ status: 'completed', steps: 12 });
    expect(metricValues(interrupted)).toEqual(metricValues(straight));
  });
});
