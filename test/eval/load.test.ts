// Loading a trained PRIOR for evaluation from the trainer's run layout (run dir, checkpoints dir,
// step dir, a step dir moved away from its run), strictly; and dataset embeddings written as
// safetensors with their ids.
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDatasetFile } from '../../src/data/dataset-file.js';
import { disposeEmbeddings, embedDataset, writeEmbeddings } from '../../src/eval/embed.js';
import { loadPriorForEval, randomPriorForEval } from '../../src/eval/load.js';
import * as safetensors from '../../src/io/safetensors.js';
import type { Prior } from '../../src/models/prior/prior.js';
import * as torch from '../../src/torch/index.js';
import { tempDir, tinyPrior, writeDataset, writeRun } from './helpers.js';

const dir = tempDir();
let model: Prior;
beforeAll(() => {
  model = tinyPrior(4);
});
afterAll(() => model.dispose());

function sameWeights(a: Prior, b: Prior): boolean {
  const sa = a.stateDict();
  const sb = b.stateDict();
  if (sa.size !== sb.size) return false;
  for (const [k, t] of sa) if (!torch.equal(t, sb.get(k)!)) return false;
  return true;
}

describe('loadPriorForEval', () => {
  it('loads the run directory, its checkpoints folder, a step directory, and a step directory moved elsewhere', () => {
    const run = writeRun(dir, model);
    const step = join(run, 'checkpoints', 'step-000007');
    const moved = join(dir, 'moved', 'step-000007');
    mkdirSync(join(dir, 'moved'));
    cpSync(step, moved, { recursive: true });
    for (const path of [run, join(run, 'checkpoints'), step, moved]) {
      const loaded = loadPriorForEval(path);
      expect(loaded.step).toBe(7);
      expect(loaded.source).toMatch(/step-000007$/);
      expect(loaded.config.imageSize).toBe(64);
      expect(loaded.model.training).toBe(false);
      expect(sameWeights(loaded.model, model)).toBe(true);
      loaded.model.dispose();
    }
  });

  it('is strict: a missing key is an error naming it', () => {
    const sub = join(dir, 'broken');
    mkdirSync(sub);
    const run = writeRun(sub, model, { dropKey: 'local_cross_attention.query1.weight' });
    expect(() => loadPriorForEval(run)).toThrow(/does not fit the configured model.*\n?.*local_cross_attention\.query1\.weight/s);
    expect(() => loadPriorForEval(join(dir, 'nothing-here'))).toThrow(/does not exist/);
  });

  it('a random preset is seeded', () => {
    const a = randomPriorForEval('tiny', { seed: 4 });
    expect(sameWeights(a.model, model)).toBe(true);
    expect(a.source).toBe('random:tiny:4');
    a.model.dispose();
  });
});

describe('embedDataset', () => {
  it('embeds images and reports with ids, batch-size independent, and writes safetensors with the ids', async () => {
    const sub = join(dir, 'embed');
    mkdirSync(sub);
    const file = writeDataset(
      sub,
      [
        [1, 'Infiltrate in the left upper lobe.', []],
        [2, 'Heart size is normal. No effusion. Lungs are clear.', []],
        [3, 'Bilateral opacities. No pneumothorax.', []],
      ],
      [],
    );
    const ds = readDatasetFile(file);
    const live = torch.liveTensors();
    const e = await embedDataset(model, ds, { batchSize: 2, variant: 'intended' });
    expect(torch.liveTensors()).toBeLessThanOrEqual(live + 5); // the five returned tensors (the GC may free earlier garbage)
    expect(e.imageIds).toEqual(['r1/0', 'r2/0', 'r3/0']);
    expect(e.textIds).toEqual(['r1', 'r2', 'r3']);
    expect(e.imageGlobal.shape).toEqual([3, 128]);
    expect(e.imageLocal.shape).toEqual([3, 4, 128]);
    expect(e.textGlobal.shape).toEqual([3, 128]);
    expect(e.textLocal.shape).toEqual([3, 3, 128]);
    expect(Array.from(e.textMask.toArray() as Uint8Array, Number)).toEqual([1, 0, 0, 1, 1, 1, 1, 1, 0]);
    const one = await embedDataset(model, ds, { batchSize: 1, variant: 'intended' });
    expect(torch.allclose(one.textGlobal, e.textGlobal, 1e-5, 1e-5)).toBe(true);
    expect(torch.allclose(one.imageLocal, e.imageLocal, 1e-5, 1e-5)).toBe(true);
    disposeEmbeddings(one);
    const out = join(sub, 'emb.safetensors');
    writeEmbeddings(out, e, { model: 'random' });
    const back = safetensors.load(out);
    expect(JSON.parse(back.metadata.image_ids!)).toEqual(e.imageIds);
    expect(JSON.parse(back.metadata.text_ids!)).toEqual(e.textIds);
    expect(back.metadata.variant).toBe('intended');
    expect(torch.equal(back.tensors.get('text_global')!, e.textGlobal)).toBe(true);
    expect(back.tensors.get('text_mask')!.dtype).toBe('bool');
    disposeEmbeddings(e);
  });
});
