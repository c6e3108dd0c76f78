// Segmentation fine-tuning on the real lung masks of cxr-seg: a short run of the U-Net on a
// ResNet-18 must beat both the mean training mask and the untrained model on validation Dice.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCsvRecords } from '../../src/data/csv.js';
import { readImageMaskFolder } from '../../src/data/downstream/image-mask-folder.js';
import { holdOut } from '../../src/finetune/data.js';
import { loadEncoder } from '../../src/finetune/encoder.js';
import { runFinetune } from '../../src/finetune/run.js';
import { SegmentTask } from '../../src/finetune/segment.js';

const SEG = '../shared/data/cxr-seg';
const dir = mkdtempSync(join(tmpdir(), 'ft-segment-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prior finetune segment (cxr-seg lung masks)', () => {
  it('a short fine-tune beats the mean training mask and the untrained decoder', async () => {
    expect(existsSync(join(SEG, 'metadata.csv')), `${SEG}/metadata.csv is missing`).toBe(true);
    const { rows } = parseCsvRecords(readFileSync(join(SEG, 'metadata.csv'), 'utf8'), 'metadata.csv');
    const samples = readImageMaskFolder(SEG);
    expect(samples.map((s) => s.id)).toEqual(rows.map((r) => r.id));
    const [trainIdx, valIdx] = holdOut(samples.length, 0.2, 3);
    const size = 64;
    const { encoder, description } = loadEncoder({ kind: 'random', depth: 18, seed: 1 });
    const task = new SegmentTask(encoder, size, 3);
    const runDir = join(dir, 'run');
    const result = await runFinetune({
      task,
      encoderDescription: description,
      train: trainIdx.map((i) => samples[i]!),
      val: valIdx.map((i) => samples[i]!),
      settings: { runDir, fraction: 1, mode: 'full', imageSize: size, batchSize: 8, epochs: 6, lr: 3e-3, weightDecay: 0, patience: 0, seed: 0, device: 'cpu' },
      progress: null,
      log: () => {},
    });
    const dice = result.val.metrics.dice!;
    const meanMask = result.val.baselines!.dice_mean_training_mask!;
    const untrained = result.untrained.metrics.dice!;
    console.log('segmentation', JSON.stringify({ dice, meanMask, untrained, steps: result.training.steps, val: result.sizes.val }));
    expect(dice).toBeGreaterThan(meanMask);
    expect(dice).toBeGreaterThan(untrained);
    expect((await sharp(join(runDir, 'predictions-val.png')).metadata()).width).toBe(3 * 256 + 2 * 4);
  }, 120_000);
});
