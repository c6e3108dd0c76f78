// The Prior module's stage steps and zero-shot scoring against the PyTorch reference
// (scripts/prior_reference/model.py via scripts/gen_fixtures_prior_model.py): the tiny preset on a
// ragged batch (18 sentences over the 16 cap, a one-sentence report, an empty sentence id), in
// eval mode with the SPB noise off (spbNoise 'train'). Weights are not stored: both sides fill
// every state entry from one seeded stream in state dict order (the order prior-keys.test.ts checks).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { PriorBatch } from '../../../src/data/batch.js';
import type { Module } from '../../../src/nn/index.js';
import { Prior, STAGE_TERMS, priorConfig } from '../../../src/models/prior/index.js';
import type { PriorStage } from '../../../src/models/prior/index.js';
import * as torch from '../../../src/torch/index.js';
import type { Tensor } from '../../../src/torch/index.js';

interface StageGolden {
  terms: Record<string, number>;
  loss: number;
  grads: Record<string, [number, number] | null>;
  noGrad: string[];
}

interface Fixture {
  weightSeed: number;
  imageSeed: number;
  imageShape: number[];
  inputIds: number[][];
  attentionMask: number[][];
  sentenceIndex: number[][];
  stages: Record<'1' | '2' | '3' | '3-intended', StageGolden>;
  zeroShot: {
    inputIds: number[][];
    attentionMask: number[][];
    sentences: number[][];
    prototypes: number[][];
    global_: number[][];
    probabilities: number[][];
  };
}

const FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'models', 'prior-stages.json');
const fx = JSON.parse(readFileSync(FILE, 'utf8')) as Fixture;

/** The script's fill_seeded: one seeded stream over the floating entries in key order; 0-d entries keep their init. */
function fillSeeded(m: Module, seed: number): void {
  torch.manualSeed(seed);
  torch.noGrad(() => {
    for (const [key, t] of m.stateDict()) {
      if (!torch.isFloatingDType(t.dtype) || t.dim() === 0) continue;
      let n = torch.randn(...t.shape);
      if (t.dim() >= 2) n = n.mul(1 / Math.sqrt(t.numel / t.size(0)));
      else if (key.endsWith('running_var')) n = n.abs().mul(0.1).add(1);
      else if (key.endsWith('.weight')) n = n.mul(0.1).add(1);
      else n = n.mul(0.1);
      t.copy_(n);
    }
  });
}

function makeBatch(): PriorBatch {
  torch.manualSeed(fx.imageSeed);
  const image = torch.randn(...fx.imageShape);
  const long = (rows: number[][]): Tensor<'int64'> => torch.tensor(rows, { dtype: 'int64' });
  return {
    image,
    inputIds: long(fx.inputIds),
    attentionMask: long(fx.attentionMask),
    sentenceIndex: long(fx.sentenceIndex),
    keys: ['a', 'b', 'c'],
    indices: [0, 1, 2],
  };
}

const relClose = (actual: number, expected: number, rtol: number, atol = 1e-6): boolean => Math.abs(actual - expected) <= atol + rtol * Math.abs(expected);

function expectTensorClose(actual: Tensor, expected: number[][], what: string, atol: number): void {
  const want = torch.tensor(expected, { dtype: 'float32' });
  expect(actual.shape, `${what} shape`).toEqual(want.shape);
  const err = actual.sub(want).abs().max().item();
  expect(err, `${what}: max error`).toBeLessThan(atol);
}

const config = priorConfig('tiny', { spbNoise: 'train' });
const model = new Prior(config);
fillSeeded(model, fx.weightSeed);
model.eval();
const batch = makeBatch();

interface StageRun {
  terms: Record<string, number>;
  loss: number;
  lossIsTerm: boolean;
  noGrad: string[];
  grads: Map<string, [number, number] | null>;
}

/** One stage's forward and backward, its numbers read out at once (the describe bodies all run before any test). */
function runStage(stage: PriorStage): StageRun {
  model.zeroGrad();
  const out = model.stageStep(batch, stage);
  out.loss.backward();
  const params = model.namedParameters();
  const grads = new Map<string, [number, number] | null>();
  for (const [key, p] of params) {
    const g = p.grad;
    grads.set(key, g === null ? null : [g.double().sum().item(), g.double().abs().sum().item()]);
  }
  return {
    terms: Object.fromEntries(Object.entries(out.terms).map(([k, t]) => [k, t.item() as number])),
    loss: out.loss.item() as number,
    lossIsTerm: out.terms[`stage${stage}_loss`] === out.loss,
    noGrad: params.filter(([, p]) => p.grad === null).map(([k]) => k),
    grads,
  };
}

describe.each([1, 2, 3] as const)('Prior.stageStep(stage %i) vs the PyTorch reference (eval, no SPB noise)', (stage: PriorStage) => {
  const golden = fx.stages[String(stage) as '1' | '2' | '3'];
  const run = runStage(stage);
  const { terms, loss } = run;

  it('logs exactly the spec §7.3 terms plus stageN_loss', () => {
    expect(Object.keys(terms).sort()).toEqual([...STAGE_TERMS[stage], `stage${stage}_loss`].sort());
    expect(Object.keys(golden.terms).sort()).toEqual([...STAGE_TERMS[stage]].sort());
    expect(run.lossIsTerm).toBe(true);
  });

  it('matches every term and the total', () => {
    for (const [name, want] of Object.entries(golden.terms)) {
      const got = terms[name]!;
      expect(relClose(got, want, 1e-4), `${name}: ${got} vs ${want}`).toBe(true);
    }
    expect(relClose(loss, golden.loss, 1e-4), `loss ${loss} vs ${golden.loss}`).toBe(true);
  });

  it('is the spec §7.3 weighted sum of its terms', () => {
    const t = (name: string): number => terms[`stage${stage}_${name}`]!;
    const expected =
      stage === 1
        ? t('global_alignment_loss') + t('local_image_loss') + t('local_text_loss')
        : stage === 2
          ? t('global_alignment_loss') + t('local_image_loss') + t('local_text_loss') + 10 * t('proto_loss_')
          : 10 * t('global_alignment_loss') + t('local_image_loss') + t('local_text_loss') + t('rec_image_loss') + t('spg_loss') + t('kl_loss') + t('gpa_loss') + 10 * t('proto_loss_');
    expect(loss).toBeCloseTo(expected, 4);
  });

  it('leaves exactly the reference’s unused parameters without gradient', () => {
    expect([...run.noGrad].sort()).toEqual([...golden.noGrad].sort());
    // Never used: global_text_projection (B9), the text pooler, the decoder's word table.
    for (const k of ['global_text_projection.weight', 'text_encoder.encoder.pooler.dense.weight', 'sentence_decoder.embeddings.word_embeddings.weight']) {
      expect(run.noGrad).toContain(k);
    }
    if (stage < 3) expect(run.noGrad).toContain('image_decoder.output_head.0.weight');
    if (stage === 1) expect(run.noGrad).toContain('sentence_bank.embed.weight');
  });

  it('has the reference gradients', () => {
    for (const [key, want] of Object.entries(golden.grads)) {
      const got = run.grads.get(key);
      expect(got, key).not.toBeUndefined();
      if (want === null) {
        expect(got, key).toBeNull();
        continue;
      }
      expect(got, key).not.toBeNull();
      const [sum, absSum] = got!;
      expect(relClose(absSum, want[1], 2e-3, 1e-7), `${key} |grad| sum ${absSum} vs ${want[1]}`).toBe(true);
      expect(Math.abs(sum - want[0]) <= 2e-3 * want[1] + 1e-7, `${key} grad sum ${sum} vs ${want[0]}`).toBe(true);
    }
  });
});

describe('oddity flags through the whole model', () => {
  it("stage 3 with spgPairing 'intended' matches the reference's G[argsort(col)] run", () => {
    const intended = new Prior(priorConfig('tiny', { spbNoise: 'train', spgPairing: 'intended' }));
    fillSeeded(intended, fx.weightSeed);
    intended.eval();
    const { loss, terms } = intended.stageStep(batch, 3);
    const golden = fx.stages['3-intended'];
    for (const [name, want] of Object.entries(golden.terms)) {
      const got = terms[name]!.item() as number;
      expect(relClose(got, want, 1e-4), `${name}: ${got} vs ${want}`).toBe(true);
    }
    expect(relClose(loss.item() as number, golden.loss, 1e-4)).toBe(true);
    // The pairing changes the KL and GPA terms (they read the matched rows).
    expect(Math.abs(golden.terms.stage3_gpa_loss! - fx.stages['3'].terms.stage3_gpa_loss!)).toBeGreaterThan(1e-3);
    intended.dispose();
  });

  it('the intended layouts and a bidirectional decoder give finite, different stage-3 losses', () => {
    const intended = new Prior(priorConfig('tiny', { spbNoise: 'train', localLayout: 'spatial', decoderMapLayout: 'spatial', decoderAttention: 'bidirectional' }));
    fillSeeded(intended, fx.weightSeed);
    intended.eval();
    const { terms } = intended.stageStep(batch, 3);
    for (const [name, t] of Object.entries(terms)) expect(Number.isFinite(t.item()), name).toBe(true);
    // Spatial tokens change every image-side term; the decoder attention changes the SPG loss.
    const faithful = fx.stages['3'].terms;
    expect(Math.abs((terms.stage3_rec_image_loss!.item() as number) - faithful.stage3_rec_image_loss!)).toBeGreaterThan(1e-6);
    expect(Math.abs((terms.stage3_spg_loss!.item() as number) - faithful.stage3_spg_loss!)).toBeGreaterThan(1e-6);
    intended.dispose();
  });
});

describe('Prior.stageStep in train mode (faithful Gumbel noise, dropout, batch-statistics BN)', () => {
  const m = new Prior(priorConfig('tiny')).train();

  it.each([1, 2, 3] as const)('stage %i: finite terms, a backward pass, gradients on what it uses', (stage) => {
    m.zeroGrad();
    torch.manualSeed(5);
    const { loss, terms } = m.stageStep(batch, stage);
    for (const [name, t] of Object.entries(terms)) expect(Number.isFinite(t.item()), name).toBe(true);
    loss.backward();
    const params = new Map(m.namedParameters());
    expect(params.get('logit_scale')!.grad).not.toBeNull();
    expect(params.get('image_encoder.encoder.conv1.weight')!.grad).not.toBeNull();
    expect(params.get('sentence_bank.embed.weight')!.grad === null).toBe(stage === 1);
    expect(params.get('prototype_queries')!.grad === null).toBe(stage !== 3);
    expect(params.get('image_decoder.blocks.0.conv1.0.weight')!.grad === null).toBe(stage !== 3);
    expect(params.get('global_text_projection.weight')!.grad).toBeNull();
  });

  it('sets the SPB temperature per the configured schedule (fixed: 0.9 throughout)', () => {
    expect(model.setSpbTemperature(500, 1000)).toBe(0.9);
    expect(model.sentenceBank.temperature).toBe(0.9);
  });

  it('rejects an unknown stage', () => {
    expect(() => model.stageStep(batch, 4 as PriorStage)).toThrow(/stage must be 1, 2 or 3/);
  });
});

describe('zero-shot (spec §9.3, §9.4)', () => {
  const ids = torch.tensor(fx.zeroShot.inputIds, { dtype: 'int64' });
  const mask = torch.tensor(fx.zeroShot.attentionMask, { dtype: 'int64' });

  it('encodes the prompts as the reference: tokens [1:-1] with [SEP], SPB, sentence pool', () => {
    const classes = model.encodePrompts(ids, mask);
    expectTensorClose(classes.sentences, fx.zeroShot.sentences, 'u_c', 1e-5);
    expectTensorClose(classes.prototypes, fx.zeroShot.prototypes, 'q_c', 1e-5);
    expectTensorClose(classes.global, fx.zeroShot.global_, 'g_c', 1e-5);
  });

  it('scores a batch of images as the reference scores them one at a time', () => {
    const classes = model.encodePrompts(ids, mask);
    const probs = model.zeroShotScores(batch.image, classes);
    // The probabilities sit near 1/C + 0.5/C = 0.3; their spread is ~1e-3, so compare at 1e-6.
    expectTensorClose(probs, fx.zeroShot.probabilities, 'probabilities', 1e-6);
    const one = model.zeroShotScores(batch.image.narrow(0, 1, 1), classes);
    expect(one.sub(probs.narrow(0, 1, 1)).abs().max().item()).toBeLessThan(1e-6);
  });

  it("intended: [SEP] dropped, exp(logit_scale), noise-free SPB", () => {
    const intended = model.encodePrompts(ids, mask, { variant: 'intended' });
    // u_c is the mean of the projected word pieces only (positions 1 .. count-2).
    const tokens = torch.noGrad(() => model.encodeText(ids, mask));
    const counts = fx.zeroShot.attentionMask.map((row) => row.reduce((a, b) => a + b, 0));
    counts.forEach((count, c) => {
      const want = tokens.select(0, c).narrow(0, 1, count - 2).mean([0]);
      expect(intended.sentences.select(0, c).sub(want).abs().max().item()).toBeLessThan(1e-5);
    });
    const faithful = model.encodePrompts(ids, mask);
    expect(intended.sentences.sub(faithful.sentences).abs().max().item()).toBeGreaterThan(1e-4);
    // With exp(logit_scale) = 100 the global softmax is much sharper than with the raw 4.6.
    const pf = model.zeroShotScores(batch.image, faithful);
    const pi = model.zeroShotScores(batch.image, faithful, { variant: 'intended' });
    expect(pi.sub(pf).abs().max().item()).toBeGreaterThan(1e-3);
    expect(pi.sum([1]).sub(1.5).abs().max().item()).toBeLessThan(1e-5);
  });
});
