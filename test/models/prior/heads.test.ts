// SentenceAttentionPool, LocalCrossAttention and the predictor against the per-sample reference
// (scripts/prior_reference/heads.py via gen_fixtures_prior_heads.py) on a ragged batch
// (T_b = 1, 3, 7): the batched modules' padded outputs and input gradients equal the
// reference's per-sample ones.
import { describe, expect, it } from 'vitest';
import { Predictor, normalProjectionInit } from '../../../src/models/prior/heads.js';
import { LocalCrossAttention } from '../../../src/models/prior/local-attention.js';
import { SentenceAttentionPool } from '../../../src/models/prior/sentence-pool.js';
import { AttentionPool2d } from '../../../src/models/resnet/index.js';
import { Linear } from '../../../src/nn/index.js';
import * as torch from '../../../src/torch/index.js';
import { expectClose, get, leaf, loadWeights, meta } from './heads-fixture.js';

const maskOf = (counts: number[], rows: number): torch.Tensor =>
  torch.tensor(counts.map((c) => Array.from({ length: rows }, (_, t) => t < c)));

describe('SentenceAttentionPool', () => {
  const pool = loadWeights(new SentenceAttentionPool(meta.D, meta.heads), 'global_text_attention');

  it('has the original key names in CLIP order', () => {
    expect([...pool.stateDict().keys()]).toEqual(
      ['k_proj', 'q_proj', 'v_proj', 'c_proj'].flatMap((p) => [`${p}.weight`, `${p}.bias`]),
    );
  });

  it('batched with a key-padding mask = the per-sample pool (output and sentence gradient)', () => {
    const sentences = leaf('gather.sentences');
    const out = pool.call(sentences, maskOf(meta.counts, 7));
    expectClose(out, get('pool.output'), 'pooled');
    out.mul(get('pool.R')).sum().backward();
    expectClose(sentences.grad, get('pool.sentences_grad'), 'sentences grad');
  });

  it('padding rows do not change the result', () => {
    const sentences = get('gather.sentences');
    const noisy = sentences.add(torch.randn(...sentences.shape).mul(maskOf(meta.counts, 7).logicalNot().unsqueeze(-1)));
    expectClose(pool.call(noisy, maskOf(meta.counts, 7)), get('pool.output'), 'pooled with garbage padding');
  });

  it('one sentence gives exactly c_proj(v_proj(s)) (spec §14)', () => {
    const s = torch.randn(2, 1, meta.D);
    const out = pool.call(s, torch.ones(2, 1, { dtype: 'bool' }));
    const direct = pool.cProj.call(pool.vProj.call(s.squeeze(1)));
    expect(out.sub(direct).abs().max().item()).toBeLessThan(1e-6);
  });

  it('rejects a mask that does not match', () => {
    expect(() => pool.call(torch.randn(2, 3, meta.D), torch.ones(2, 4, { dtype: 'bool' }))).toThrow(/mask must be bool \[2, 3\]/);
  });

  it('AttentionPool2d still pools through the shared first-token attention', () => {
    // Its full golden lives in test/models/resnet.test.ts; this ties the shared path to the math.
    torch.manualSeed(3);
    const ap = new AttentionPool2d(2, 8, 2);
    const x = torch.randn(1, 8, 2, 2);
    const tokens = x.flatten(2).transpose(1, 2);
    const all = torch.cat([tokens.mean([1], true), tokens], 1).add(ap.positionalEmbedding).squeeze(0);
    const q = ap.qProj.call(all.narrow(0, 0, 1)).reshape(2, 4);
    const k = ap.kProj.call(all).reshape(5, 2, 4).transpose(0, 1);
    const v = ap.vProj.call(all).reshape(5, 2, 4).transpose(0, 1);
    const w = q.unsqueeze(1).matmul(k.transpose(1, 2)).div(2).softmax(-1);
    const expected = ap.cProj.call(w.matmul(v).reshape(1, 8));
    expect(ap.call(x).sub(expected).abs().max().item()).toBeLessThan(1e-5);
  });
});

describe('LocalCrossAttention', () => {
  const attention = loadWeights(new LocalCrossAttention(meta.D), 'local_cross_attention');

  it('batched with a sentence mask = the per-sample attention (all four outputs and both input gradients)', () => {
    const image = leaf('image');
    const sentences = leaf('gather.sentences');
    const out = attention.call(image, sentences, maskOf(meta.counts, 7));
    const named = {
      image_context: out.imageContext,
      image_attention: out.imageAttention,
      sentence_context: out.sentenceContext,
      sentence_attention: out.sentenceAttention,
    };
    let total = torch.zeros([]);
    for (const [name, t] of Object.entries(named)) {
      expectClose(t, get(`local.${name}`), name);
      total = total.add(t.mul(get(`local.${name}.R`)).sum());
    }
    total.backward();
    expectClose(image.grad, get('local.image_grad'), 'image grad');
    expectClose(sentences.grad, get('local.sentences_grad'), 'sentences grad');
  });

  it('has the original key names', () => {
    expect([...attention.stateDict().keys()].filter((k) => k.endsWith('weight'))).toEqual(
      ['query1', 'key1', 'value1', 'query2', 'key2', 'value2'].map((p) => `${p}.weight`),
    );
  });
});

describe('Predictor and projection init', () => {
  it('keys 0 and 2 load strictly; forward is Linear → ReLU → Linear', () => {
    const predictor = loadWeights(new Predictor(meta.D, meta.hidden), 'predictor');
    const x = torch.randn(5, meta.D);
    const w0 = get('predictor.0.weight');
    const expected = torch.linear(torch.linear(x, w0, get('predictor.0.bias')).relu(), get('predictor.2.weight'), get('predictor.2.bias'));
    expect(predictor.call(x).sub(expected).abs().max().item()).toBeLessThan(1e-6);
  });

  it('normalProjectionInit draws N(0, 1/fan_in) weights', () => {
    torch.manualSeed(0);
    const linear = normalProjectionInit(new Linear(400, 300));
    const std = linear.weight.std().item() as number;
    // 120k draws: the sample std is within 1% of 1/sqrt(400) = 0.05.
    expect(Math.abs(std - 0.05)).toBeLessThan(0.0005);
    expect(Math.abs(linear.weight.mean().item() as number)).toBeLessThan(0.001);
  });
});
