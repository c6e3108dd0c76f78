// Detection fine-tuning on the real lung boxes of cxr-notes (boxes.json, COCO): a short run of
// the YOLO-style head on a ResNet-18 must beat the untrained head's AP (IoU 0.40:0.05:0.75); the
// per-class mean box is reported beside it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { readCoco } from '../../src/data/downstream/coco.js';
import { holdOut } from '../../src/finetune/data.js';
import { DetectTask, anchorsFor, relativeBoxShapes } from '../../src/finetune/detect.js';
import { loadEncoder } from '../../src/finetune/encoder.js';
import { runFinetune } from '../../src/finetune/run.js';

const dir = mkdtempSync(join(tmpdir(), 'ft-detect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prior finetune detect (cxr-notes lung boxes)', () => {
  it('a short fine-tune beats the untrained head', async () => {
    const data = readCoco('../shared/data/cxr-notes/boxes.json');
    expect(data.classes).toEqual(['right_lung', 'left_lung']);
    const [trainIdx, valIdx] = holdOut(data.samples.length, 0.1, 5);
    const train = trainIdx.map((i) => data.samples[i]!);
    const size = 64;
    const anchors = anchorsFor(relativeBoxShapes(train), size);
    const { encoder, description } = loadEncoder({ kind: 'random', depth: 18, seed: 1 });
    const task = new DetectTask(encoder, data.classes, size, anchors, 3);
    const runDir = join(dir, 'run');
    const result = await runFinetune({
      task,
      encoderDescription: description,
      train,
      val: valIdx.map((i) => data.samples[i]!),
      settings: { runDir, fraction: 0.3, mode: 'full', imageSize: size, batchSize: 16, epochs: 6, lr: 3e-3, weightDecay: 0, patience: 0, seed: 0, device: 'cpu' },
      progress: null,
      log: () => {},
    });
    const ap = result.val.metrics.ap!;
    const untrained = result.untrained.metrics.ap!;
    const meanBox = result.val.baselines!.ap_mean_box!;
    console.log('detection', JSON.stringify({ ap, untrained, meanBox, val: result.val.metrics, steps: result.training.steps, sizes: result.sizes, anchors }));
    expect(ap).toBeGreaterThan(untrained);
    expect((await sharp(join(runDir, 'predictions-val.png')).metadata()).format).toBe('png');
  }, 120_000);
});
