// Retrieval: both directions of both protocols on hand-made score matrices and embeddings whose
// answers are worked out by hand, then the whole path on a tiny random PRIOR over real X-rays
// (shapes, distinct report texts as candidates, seeded determinism).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDatasetFile } from '../../src/data/dataset-file.js';
import { classRetrievalBothWays, cosineScores, evaluateRetrieval, formatRetrieval, instanceRetrievalBothWays } from '../../src/eval/retrieval.js';
import { readZeroShotIndex } from '../../src/eval/zeroshot.js';
import type { Prior } from '../../src/models/prior/prior.js';
import * as torch from '../../src/torch/index.js';
import { CXR_ROOT, tempDir, tinyPrior, writeDataset, writeIndex } from './helpers.js';

describe('retrieval scoring (hand-checked)', () => {
  it('class protocol, both directions', () => {
    // images of classes [0, 1, 0]; texts of classes [0, 1]
    const scores = Float64Array.from([0.9, 0.1, 0.8, 0.3, 0.2, 0.7]);
    const r = classRetrievalBothWays({ scores, nImages: 3, nTexts: 2 }, [0, 1, 0], [0, 1], [1, 2]);
    // image->text top-1: text0 (hit), text0 (miss), text1 (miss); one relevant text each.
    expect(r.imageToText.precisionAtK[1]).toBeCloseTo(1 / 3, 12);
    expect(r.imageToText.recallAtK[1]).toBeCloseTo(1 / 3, 12);
    expect(r.imageToText.precisionAtK[2]).toBeCloseTo(0.5, 12);
    expect(r.imageToText.recallAtK[2]).toBeCloseTo(1, 12);
    // text0 ranks images 0,1,2 (2 relevant: 0 and 2); text1 ranks 2,1,0 (1 relevant: 1).
    expect(r.textToImage.precisionAtK[1]).toBeCloseTo(0.5, 12);
    expect(r.textToImage.recallAtK[1]).toBeCloseTo(0.25, 12);
    expect(r.textToImage.precisionAtK[2]).toBeCloseTo(0.5, 12);
    expect(r.textToImage.recallAtK[2]).toBeCloseTo(0.75, 12);
  });

  it('instance protocol on embeddings: a hit is the identical report text, duplicates all count', () => {
    // Image i's embedding points at its text; images 1 and 2 share text 'b'.
    const images = torch.tensor([[1, 0, 0], [0, 1, 0.1], [0, 1, -0.1], [0, 0.2, 1]]);
    const texts = torch.tensor([[2, 0, 0], [0, 3, 0], [0, 0, 1]]); // 'a', 'b', 'c' (norms do not matter)
    const s = cosineScores(images, texts);
    expect(s.nImages).toBe(4);
    expect(s.nTexts).toBe(3);
    expect(s.scores[0]).toBeCloseTo(1, 6);
    const r = instanceRetrievalBothWays(s, ['a', 'b', 'b', 'c'], ['a', 'b', 'c'], [1, 2]);
    expect(r.imageToText.precisionAtK[1]).toBe(1);
    expect(r.imageToText.recallAtK[1]).toBe(1);
    expect(r.imageToText.precisionAtK[2]).toBe(0.5);
    // text 'b' has two relevant images: both in its top 2, one in its top 1.
    expect(r.textToImage.precisionAtK[1]).toBe(1);
    expect(r.textToImage.recallAtK[1]).toBeCloseTo((1 + 0.5 + 1) / 3, 12);
    expect(r.textToImage.recallAtK[2]).toBeCloseTo(1, 12);
    expect(r.textToImage.precisionAtK[2]).toBeCloseTo((0.5 + 1 + 0.5) / 3, 12);
  });
});

describe('evaluateRetrieval on a tiny PRIOR', () => {
  const dir = tempDir();
    let model: Prior;
  beforeAll(() => {
    model = tinyPrior(2);
  });
  afterAll(() => model.dispose());

  it('class protocol: candidates are the class prompts; seeded runs repeat', async () => {
    const ds = readZeroShotIndex(writeIndex(dir, 6), CXR_ROOT);
    const a = await evaluateRetrieval(model, ds, { seed: 4, batchSize: 4, ks: [1, 5] });
    expect(a.protocol).toBe('class');
    expect([a.nImages, a.nTexts]).toEqual([6, 5]);
    expect(Object.keys(a.imageToText.precisionAtK)).toEqual(['1', '5']);
    // 5 candidates, one relevant each: P@5 = 1/5 for every image, R@5 = 1.
    expect(a.imageToText.precisionAtK[5]).toBeCloseTo(0.2, 12);
    expect(a.imageToText.recallAtK[5]).toBe(1);
    expect(await evaluateRetrieval(model, ds, { seed: 4, batchSize: 1, ks: [1, 5] })).toEqual(a);
    expect(formatRetrieval(a)).toMatch(/image->text/);
  });

  it('instance protocol: every image against the distinct report texts; records without a report are left out and counted', async () => {
    const sub = join(dir, 'paired');
    mkdirSync(sub);
    const same = 'Progressive infiltrate and consolidation. No effusion.';
    const file = writeDataset(
      sub,
      [
        [1, 'Infiltrate in the upper lobe of the left lung.', []],
        [2, same, []],
        [3, same, []],
        [4, 'Bilateral patchy opacities. Heart size is normal.', []],
        [5, '', []],
      ],
      [],
    );
    const live = torch.liveTensors();
    const r = await evaluateRetrieval(model, readDatasetFile(file), { seed: 1, batchSize: 3, ks: [1, 3] });
    expect(torch.liveTensors()).toBeLessThanOrEqual(live); // (the GC may free earlier garbage meanwhile)
    expect(r.protocol).toBe('instance');
    expect([r.nImages, r.nTexts, r.skippedBlankReports]).toEqual([4, 3, 1]);
    // With 3 candidates and one relevant each, top 3 holds every hit.
    expect(r.imageToText.recallAtK[3]).toBe(1);
    expect(r.textToImage.recallAtK[3]).toBeGreaterThan(0);
    expect(await evaluateRetrieval(model, readDatasetFile(file), { seed: 1, batchSize: 4, ks: [1, 3] })).toEqual(r);
  });
});
