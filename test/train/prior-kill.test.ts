// Exact resume of the real PRIOR run (issue 7): a tiny run through stages 1-3 with dropout,
// Gumbel noise in the SPB, augmentation and a shuffled loader is SIGKILLed in
// the middle of a stage 2 epoch, two steps after its latest checkpoint, resumed, and must log
// bitwise the same losses, LRs and SPB temperatures as an uninterrupted run, and end with the
// same weights.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticDataset } from '../../src/data/synth/index.js';
import { listCheckpoints, loadCheckpoint } from '../../src/io/checkpoint.js';
import { STAGE_TERMS } from '../../src/models/prior/prior.js';
import * as torch from '../../src/torch/index.js';
import { metricValues, runTrainChild, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
const synth = join(tmp.dir, 'synth');
beforeAll(async () => {
  // 12 training cases, batch 4: 3 steps per epoch, 2 epochs per stage, steps 0-5 / 6-11 / 12-17.
  await generateSyntheticDataset({ out: synth, n: 12, size: 32, seed: 7, val: 0, test: 0 });
});

// The tiny preset (augmentation, imageDropout 0.5, BERT dropout, SPB noise 'always') shrunk to 32×32 images and
// 32 tokens. Loader workers would add a thread start per stage and change nothing: items are seeded by (epoch, index).
const set = (): string[] => [
  `data.dataset=${join(synth, 'train.json')}`,
  'data.batchSize=4',
  'data.imageSize=32',
  'model.overrides={"imageSize":32,"textMaxLength":32,"prototypes":16,"decoderLayers":1,"predictorHidden":32}',
  'data.workers=0',
  'threads=1',
  'device=cpu',
  'validation.everyEpochs=0',
  'checkpoint.everySteps=8',
  'stages.0.epochs=2',
  'stages.1.epochs=2',
  'stages.2.epochs=2',
];

const resultOf = (stdout: string): { status: string; steps: number; processSteps: number } =>
  JSON.parse(stdout.split('\n').find((l) => l.startsWith('result '))!.slice('result '.length)) as { status: string; steps: number; processSteps: number };

describe('PRIOR resume after SIGKILL', () => {
  it('continues bitwise identically to an uninterrupted run through stages 2 and 3', async () => {
    const straight = join(tmp.dir, 'straight');
    const killed = join(tmp.dir, 'killed');
    const [a, k] = await Promise.all([
      runTrainChild('prior-train', straight, 'fresh', { set: set() }),
      // The latest checkpoint is step 8 (stage 2's first epoch, after 2 of 3 batches); the child
      // logs steps 8 and 9 (the second epoch's first batch), stalls, and is killed.
      runTrainChild('prior-train', killed, 'fresh', { set: set(), env: { PRIOR_STALL_AFTER: '10' }, killAtLoggedStep: 9 }),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(resultOf(a.stdout)).toMatchObject({ status: 'completed', steps: 18 });
    expect(k.signal, k.stderr).toBe('SIGKILL');
    const ckpt = loadCheckpoint(join(killed, 'checkpoints'));
    torch.dispose([ckpt.model, ckpt.optimizer, [...ckpt.rng.values()]]);
    expect({ step: ckpt.step, stage: ckpt.stage, epoch: ckpt.epoch, pos: ckpt.loaderRng }).toMatchObject({
      step: 8,
      stage: 'stage2',
      epoch: 2,
      pos: { batch: 2, optimizerStage: 2, cursor: { epoch: 2, batch: 2 } },
    });
    expect(metricValues(killed).map((l) => l.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // two logged steps to drop and redo

    const r = await runTrainChild('prior-train', killed, 'resume', { set: set() });
    expect(r.code, r.stderr).toBe(0);
    expect(resultOf(r.stdout)).toMatchObject({ status: 'completed', steps: 18, processSteps: 18 - 8 });

    const want = metricValues(straight);
    const got = metricValues(killed);
    expect(want.map((l) => l.step)).toEqual(Array.from({ length: 18 }, (_, i) => i));
    expect(got.map((l) => l.step)).toEqual(want.map((l) => l.step)); // no duplicates, no gaps
    // Stages 2 and 3 log every term of spec §7.3 and the SPB temperature.
    for (const stage of [2, 3] as const) {
      const lines = want.filter((l) => l.stage === stage);
      expect(lines.length).toBe(6);
      for (const l of lines) {
        for (const term of [...STAGE_TERMS[stage], `stage${stage}_loss`, 'loss', 'lr']) expect(Number.isFinite(l[term]), `${term} at step ${String(l.step)}`).toBe(true);
        expect(l.spb_temp).toBe(0.9);
      }
    }
    expect(got).toEqual(want); // every field; numbers compared with Object.is: bitwise

    const last = (dir: string): Buffer => readFileSync(join(listCheckpoints(join(dir, 'checkpoints')).at(-1)!.path, 'model.safetensors'));
    expect(last(killed).equals(last(straight))).toBe(true);
    const prov = JSON.parse(readFileSync(join(killed, 'provenance.json'), 'utf8')) as { resumes: { fromStep: number }[] };
    expect(prov.resumes.map((x) => x.fromStep)).toEqual([8]);
  });
});
