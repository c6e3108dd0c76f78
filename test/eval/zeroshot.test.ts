// Zero-shot evaluation on a tiny randomly initialised PRIOR with real cxr-notes X-rays: index
// reading (missing images, strict mode, the real CheXpert 5x200 index), result shapes, the
// spec 9.4 probability (softmax + 0.5·softmax: rows sum to 1.5), seeded determinism, faithful vs
// intended, batch-size invariance, the multi-prompt reduction on a hand-computed case, and the
// builders' labelled dataset files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImageBatch } from '../../src/eval/encode.js';
import {
  CHEXPERT_5X200_CLASSES,
  type EncodedClasses,
  disposeClasses,
  encodeClasses,
  evaluateSyntheticZeroShot,
  evaluateZeroShot,
  readLabelledDataset,
  readPromptsFile,
  readZeroShotIndex,
  zeroShotClasses,
  zeroShotProbabilities,
} from '../../src/eval/zeroshot.js';
import type { ImageEmbeddings, Prior } from '../../src/models/prior/prior.js';
import * as torch from '../../src/torch/index.js';
import { CHEXPERT_INDEX, CXR_ROOT, cxr, tempDir, tinyPrior, writeDataset, writeIndex } from './helpers.js';

const dir = tempDir();
let model: Prior;
beforeAll(() => {
  model = tinyPrior(1);
});
afterAll(() => model.dispose());

describe('readZeroShotIndex', () => {
  it('lists and counts missing images, and fails on them only in strict mode', () => {
    const file = writeIndex(dir, 6, 2);
    const ds = readZeroShotIndex(file, CXR_ROOT);
    expect(ds.items.map((i) => i.id)).toEqual(['101', '102', '103', '104', '105', '106']);
    expect(ds.items.map((i) => i.label)).toEqual([1, 2, 3, 4, 0, 1]);
    expect(ds.items[0]!.imagePath).toBe(join(CXR_ROOT, cxr(1)));
    expect(ds.missing.map((m) => m.id)).toEqual(['901', '902']);
    expect(() => readZeroShotIndex(file, CXR_ROOT, { strict: true })).toThrow(/entry '901': image .*absent1\.jpg does not exist/);
  });

  it('reads the real CheXpert 5x200 index: 1000 entries, 200 per class (its images are not here)', () => {
    const ds = readZeroShotIndex(CHEXPERT_INDEX, '/nonexistent-chexpert-root');
    expect(ds.classNames).toEqual(['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion']);
    expect(ds.items).toHaveLength(0);
    expect(ds.missing).toHaveLength(1000);
    expect([0, 1, 2, 3, 4].map((c) => ds.missing.filter((m) => m.label === c).length)).toEqual([200, 200, 200, 200, 200]);
    expect(ds.missing[0]!.imagePath).toMatch(/^\/nonexistent-chexpert-root\/train\/patient\d+\/study\d+\/view1_frontal\.jpg$/);
  });

  it('names the entry of a label that is not one-hot or has the wrong length', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ a: { image_path: cxr(1), label: [1, 1, 0, 0, 0] } }));
    expect(() => readZeroShotIndex(bad, CXR_ROOT)).toThrow(/entry 'a' label \[1, 1, 0, 0, 0\] is not one-hot/);
    writeFileSync(bad, JSON.stringify({ b: { image_path: cxr(1), label: [1, 0] } }));
    expect(() => readZeroShotIndex(bad, CXR_ROOT)).toThrow(/entry 'b' has 2 labels, but there are 5 classes/);
    writeFileSync(bad, JSON.stringify({ c: { label: [1, 0, 0, 0, 0] } }));
    expect(() => readZeroShotIndex(bad, CXR_ROOT)).toThrow(/entry 'c', field 'image_path'/);
  });

  it('prompt files: one or several prompts per class, every class present', () => {
    const f = join(dir, 'prompts.json');
    const names = ['A', 'B'];
    writeFileSync(f, JSON.stringify({ A: 'a is seen', B: ['b one', 'b two'] }));
    expect(readPromptsFile(f, names)).toEqual({ A: ['a is seen'], B: ['b one', 'b two'] });
    expect(zeroShotClasses(names, readPromptsFile(f, names))[1]).toEqual({ name: 'B', prompts: ['b one', 'b two'] });
    expect(zeroShotClasses(['Pleural Effusion'])).toEqual([{ name: 'Pleural Effusion', prompts: ['Pleural Effusion is observed'] }]);
    writeFileSync(f, JSON.stringify({ A: 'x' }));
    expect(() => readPromptsFile(f, names)).toThrow(/no prompts for 'B'/);
  });
});

describe('evaluateZeroShot', () => {
  it('returns typed, consistent results; probabilities are softmax + 0.5 softmax (rows sum to 1.5)', async () => {
    const ds = readZeroShotIndex(writeIndex(dir, 8, 1), CXR_ROOT);
    const r = await evaluateZeroShot(model, ds, { batchSize: 4, seed: 3 });
    expect(r.n).toBe(8);
    expect(r.missing).toHaveLength(1);
    expect(r.classes.map((c) => c.name)).toEqual([...CHEXPERT_5X200_CLASSES]);
    expect(r.perClass).toHaveLength(5);
    expect(r.confusion.flat().reduce((a, b) => a + b, 0)).toBe(8);
    expect(r.perClass.map((p) => p.support)).toEqual([1, 2, 2, 2, 1]);
    for (const p of r.predictions) {
      expect(p.probabilities).toHaveLength(5);
      expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1.5, 5);
      expect(p.predicted).toBe(p.probabilities.indexOf(Math.max(...p.probabilities)));
    }
    expect(r.accuracy).toBeCloseTo(r.predictions.filter((p) => p.label === p.predicted).length / 8, 12);
    expect(r.report).toContain('Pleural Effusion');
    expect(r.report).toContain('macro avg');
  });

  it('is deterministic for a seed; the faithful SPB noise depends on it, the intended variant does not', async () => {
    const ds = readZeroShotIndex(writeIndex(dir, 4), CXR_ROOT);
    const probs = async (variant: 'faithful' | 'intended', seed: number): Promise<number[][]> =>
      (await evaluateZeroShot(model, ds, { variant, seed, batchSize: 4 })).predictions.map((p) => p.probabilities);
    const a = await probs('faithful', 7);
    expect(await probs('faithful', 7)).toEqual(a);
    expect(await probs('faithful', 8)).not.toEqual(a);
    const i7 = await probs('intended', 7);
    expect(await probs('intended', 8)).toEqual(i7);
    expect(i7).not.toEqual(a);
  });

  it('gives the same results for batch size 1 and 4, and leaves no tensor behind', async () => {
    const ds = readZeroShotIndex(writeIndex(dir, 5), CXR_ROOT);
    const live = torch.liveTensors();
    const one = await evaluateZeroShot(model, ds, { batchSize: 1, seed: 2 });
    expect(torch.liveTensors()).toBeLessThanOrEqual(live); // (the GC may free earlier garbage meanwhile)
    const four = await evaluateZeroShot(model, ds, { batchSize: 4, seed: 2 });
    expect(four.predictions.map((p) => p.predicted)).toEqual(one.predictions.map((p) => p.predicted));
    one.predictions.forEach((p, i) => p.probabilities.forEach((v, c) => expect(four.predictions[i]!.probabilities[c]).toBeCloseTo(v, 5)));
  });

  it('under bf16 autocast stays close to fp32', async () => {
    const ds = readZeroShotIndex(writeIndex(dir, 3), CXR_ROOT);
    const full = await evaluateZeroShot(model, ds, { seed: 1, variant: 'intended' });
    const half = await evaluateZeroShot(model, ds, { seed: 1, variant: 'intended', precision: 'bf16' });
    expect(half.precision).toBe('bf16');
    half.predictions.forEach((p, i) => {
      expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1.5, 2);
      p.probabilities.forEach((v, c) => expect(Math.abs(v - full.predictions[i]!.probabilities[c]!)).toBeLessThan(0.05));
    });
    expect(half.predictions.map((p) => p.probabilities)).not.toEqual(full.predictions.map((p) => p.probabilities));
  });

  it('with one prompt per class equals Prior.zeroShotScores', async () => {
    const images = await loadImageBatch(model, [join(CXR_ROOT, cxr(1)), join(CXR_ROOT, cxr(2))]);
    for (const variant of ['faithful', 'intended'] as const) {
      torch.manualSeed(5);
      const encoded = encodeClasses(model, zeroShotClasses([...CHEXPERT_5X200_CLASSES]), variant);
      const ours = torch.noGrad(() => zeroShotProbabilities(model, model.encodeImage(images), encoded, variant));
      const theirs = model.zeroShotScores(images, encoded.classes, { variant });
      expect(Array.from(ours.toArray() as Float32Array)).toEqual(Array.from(theirs.toArray() as Float32Array));
      disposeClasses(encoded);
    }
    images.dispose();
  });

  it('several prompts: max of the global logits, mean of the local scores per class (hand-computed case)', () => {
    // Stub model: logit_scale 2; the local cross-attention returns fixed weights.
    const imageAttention = torch.tensor([[[0.2, 0.6, 0.5], [0.4, 0.2, 0.5]]]); // [1, N=2, P=3]
    const sentenceAttention = torch.tensor([[[0.1, 0.3], [0.8, 0.8], [0.3, 0.3]]]); // [1, P=3, N=2]
    const stub = { logitScale: torch.tensor(2), localCrossAttention: { call: () => ({ imageAttention, sentenceAttention }) } } as unknown as Prior;
    const image: ImageEmbeddings = { global: torch.tensor([[1, 0]]), local: torch.zeros(1, 2, 2) };
    const encoded: EncodedClasses = {
      classes: { sentences: torch.zeros(3, 2), prototypes: torch.zeros(3, 2), global: torch.tensor([[1, 0], [0, 1], [1, 1]]) },
      promptClass: [0, 0, 1],
      nClasses: 2,
    };
    const softmax2 = (a: number, b: number): [number, number] => [1 / (1 + Math.exp(b - a)), 1 / (1 + Math.exp(a - b))];
    // cosines 1, 0, 1/sqrt2 -> class 0: max(1, 0), class 1: 1/sqrt2; local per prompt 0.5(mean A2 + mean A1) = 0.25, 0.6, 0.4.
    const local = softmax2((0.25 + 0.6) / 2, 0.4);
    for (const [variant, scale] of [['faithful', 2], ['intended', Math.exp(2)]] as const) {
      const g = softmax2(scale * 1, scale * Math.SQRT1_2);
      const p = Array.from(zeroShotProbabilities(stub, image, encoded, variant).toArray() as Float32Array);
      expect(p[0]).toBeCloseTo(g[0] + 0.5 * local[0], 5);
      expect(p[1]).toBeCloseTo(g[1] + 0.5 * local[1], 5);
    }
  });

  it('works on a labelled dataset file of the builders; multi-label records are skipped and counted', async () => {
    const sub = join(dir, 'labelled');
    mkdirSync(sub);
    const file = writeDataset(
      sub,
      [
        [1, 'Infiltrate in the left upper lobe.', ['Consolidation']],
        [4, 'Progressive infiltrate.', ['Edema']],
        [5, 'Normal heart size. No effusion.', ['Cardiomegaly', 'Edema']],
        [8, 'Bilateral opacities.', ['Atelectasis']],
      ],
      ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema'],
    );
    const ds = readLabelledDataset(file);
    expect(ds.items.map((i) => [i.id, i.label])).toEqual([['r1', 2], ['r4', 3], ['r8', 0]]);
    expect(ds.skipped).toEqual([{ id: 'r5', reason: 'multi-label (2 labels)' }]);
    const r = await evaluateZeroShot(model, ds, { batchSize: 2 });
    expect(r.n).toBe(3);
    expect(r.skipped).toHaveLength(1);
    expect(r.confusion).toHaveLength(4);
  });

  it('evaluateSyntheticZeroShot finds the zeroshot_5x*.json of a synth folder (images relative to it)', async () => {
    const synth = join(dir, 'synth');
    mkdirSync(join(synth, 'images'), { recursive: true });
    const { copyFileSync } = await import('node:fs');
    for (let i = 1; i <= 5; i++) copyFileSync(join(CXR_ROOT, cxr(i)), join(synth, cxr(i)));
    const hot = (k: number): number[] => [0, 1, 2, 3, 4].map((j) => (j === k ? 1 : 0));
    writeFileSync(join(synth, 'zeroshot_5x1.json'), JSON.stringify(Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`s${i}`, { image_path: cxr(i), label: hot(i - 1) }]))));
    const r = await evaluateSyntheticZeroShot(model, synth, { batchSize: 5 });
    expect(r.n).toBe(5);
    expect(r.perClass.map((p) => p.support)).toEqual([1, 1, 1, 1, 1]);
    await expect(evaluateSyntheticZeroShot(model, join(synth, 'images'))).rejects.toThrow(/no zeroshot_5x\*\.json/);
  });
});
