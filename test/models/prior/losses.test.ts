// PRIOR's losses against the per-sample reference (scripts/prior_reference/heads.py): the CLIP
// loss (plain, and through a gather with a rank), the SimSiam and intra-report InfoNCE local
// losses on a ragged batch (T_b = 1, 3, 7), and the SPG loss with scipy's Hungarian matching in
// both pairings; plus the invariants of spec §14.
import { describe, expect, it } from 'vitest';
import { Predictor } from '../../../src/models/prior/heads.js';
import { LocalCrossAttention } from '../../../src/models/prior/local-attention.js';
import { globalAlignmentLoss, localImageLoss, localTextLoss, spgLoss } from '../../../src/models/prior/losses.js';
import * as torch from '../../../src/torch/index.js';
import { expectClose, get, leaf, loadWeights, meta } from './heads-fixture.js';

const maskOf = (counts: number[], rows: number): torch.Tensor =>
  torch.tensor(counts.map((c) => Array.from({ length: rows }, (_, t) => t < c)));

describe('globalAlignmentLoss', () => {
  it('equals the reference CLIP loss, with gradients to a, t and the logit scale', () => {
    const [a, t, scale] = [leaf('global.a'), leaf('global.t'), leaf('logit_scale')];
    const loss = globalAlignmentLoss(a, t, scale);
    expectClose(loss, get('loss.global'), 'loss');
    loss.backward();
    expectClose(a.grad, get('loss.global.a_grad'), 'a grad');
    expectClose(t.grad, get('loss.global.t_grad'), 't grad');
    expectClose(scale.grad, get('loss.global.scale_grad'), 'scale grad');
  });

  it('gather = identity with rank 0 is the plain loss', () => {
    const [a, t, scale] = [get('global.a'), get('global.t'), get('logit_scale')];
    const loss = globalAlignmentLoss(a, t, scale, { gather: (x) => x, rank: 0 });
    expectClose(loss, get('loss.global'), 'loss via identity gather');
  });

  it('two simulated ranks: labels B·rank + arange(B); the mean of the rank losses is the loss of the whole batch', () => {
    torch.manualSeed(5);
    const a = torch.randn(6, 8);
    const t = torch.randn(6, 8);
    const whole = globalAlignmentLoss(a, t, 2.0).item() as number;
    const rows = (x: torch.Tensor, r: number): torch.Tensor => torch.normalize(x.narrow(0, 3 * r, 3), { dim: -1 });
    const rankLoss = (rank: number): number => {
      // all_gather: every rank's normalised rows in rank order, this rank's own tensor in its slot.
      const gather = (x: torch.Tensor): torch.Tensor => {
        const source = x.allclose(rows(a, rank)) ? a : t;
        const parts = [0, 1].map((r) => (r === rank ? x : rows(source, r)));
        return torch.cat(parts);
      };
      return globalAlignmentLoss(a.narrow(0, 3 * rank, 3), t.narrow(0, 3 * rank, 3), 2.0, { gather, rank }).item() as number;
    };
    expect((rankLoss(0) + rankLoss(1)) / 2).toBeCloseTo(whole, 5);
    // With the node-local rank 0 on the second node (B8) the labels point at the wrong rows.
    const wrongLabels = globalAlignmentLoss(a.narrow(0, 3, 3), t.narrow(0, 3, 3), 2.0, {
      gather: (x) => torch.cat([x.allclose(rows(a, 1)) ? rows(a, 0) : rows(t, 0), x]),
      rank: 0,
    }).item() as number;
    expect(Math.abs(wrongLabels - rankLoss(1))).toBeGreaterThan(0.1);
  });
});

describe('local losses', () => {
  const attention = loadWeights(new LocalCrossAttention(meta.D), 'local_cross_attention');
  const predictor = loadWeights(new Predictor(meta.D, meta.hidden), 'predictor');
  const mask = maskOf(meta.counts, 7);

  function run(): { image: torch.Tensor; sentences: torch.Tensor; scale: torch.Tensor; imageLoss: torch.Tensor; textLoss: torch.Tensor } {
    const image = leaf('image');
    const sentences = leaf('gather.sentences');
    const scale = leaf('local_logit_scale');
    const ctx = attention.call(image, sentences, mask);
    return {
      image,
      sentences,
      scale,
      imageLoss: localImageLoss(predictor, image, ctx.imageContext),
      textLoss: localTextLoss(sentences, ctx.sentenceContext, mask, scale),
    };
  }

  it('local image loss (SimSiam, stop-gradient, shared predictor) = the per-sample reference, with input gradients', () => {
    const { image, sentences, imageLoss } = run();
    expectClose(imageLoss, get('loss.local_image'), 'local image loss');
    imageLoss.backward();
    expectClose(image.grad, get('loss.local_image.image_grad'), 'image grad');
    expectClose(sentences.grad, get('loss.local_image.sentences_grad'), 'sentences grad');
  });

  it('local text loss (intra-report InfoNCE, masked) = the per-sample reference, with input and scale gradients', () => {
    const { image, sentences, scale, textLoss } = run();
    expectClose(textLoss, get('loss.local_text'), 'local text loss');
    textLoss.backward();
    expectClose(image.grad, get('loss.local_text.image_grad'), 'image grad');
    expectClose(sentences.grad, get('loss.local_text.sentences_grad'), 'sentences grad');
    expectClose(scale.grad, get('loss.local_text.scale_grad'), 'scale grad');
  });

  it('a one-sentence report gives exactly 0 text loss (spec §14), also beside padding', () => {
    expect(meta.local_text_single_sentence).toBe(0);
    const s = torch.randn(2, 3, meta.D);
    const c = torch.randn(2, 3, meta.D);
    const one = maskOf([1, 1], 3);
    expect(localTextLoss(s, c, one, 4.6).item()).toBe(0);
    expect(localTextLoss(s.narrow(1, 0, 1), c.narrow(1, 0, 1), maskOf([1, 1], 1), 4.6).item()).toBe(0);
  });

  it('an empty sample counts 0 and keeps gradients finite', () => {
    const s = torch.randn(2, 3, meta.D).requiresGrad_(true);
    const c = torch.randn(2, 3, meta.D);
    const loss = localTextLoss(s, c, maskOf([3, 0], 3), 4.6);
    const full = localTextLoss(s.narrow(0, 0, 1), c.narrow(0, 0, 1), maskOf([3], 3), 4.6);
    expect(loss.item()).toBeCloseTo((full.item() as number) / 2, 6);
    loss.backward();
    expect(s.grad!.isfinite().all().item()).toBe(true);
  });

  it('the SimSiam loss lies in [-1, 1] (spec §14) and reaches -1 when both sides agree', () => {
    torch.manualSeed(11);
    for (let i = 0; i < 5; i++) {
      const v = localImageLoss(predictor, torch.randn(4, 6, meta.D).mul(10), torch.randn(4, 6, meta.D)).item() as number;
      expect(v).toBeGreaterThanOrEqual(-1);
      expect(v).toBeLessThanOrEqual(1);
    }
    const identity = new Predictor(4, 4);
    identity.loadStateDict({ '0.weight': torch.eye(4), '0.bias': torch.zeros(4), '2.weight': torch.eye(4), '2.bias': torch.zeros(4) });
    const x = torch.rand(2, 3, 4).add(0.1); // positive: ReLU keeps it
    expect(localImageLoss(identity, x, x.mul(2)).item()).toBeCloseTo(-1, 6);
  });
});

describe('spgLoss', () => {
  const lengths = meta.spg_lengths;
  const mask = maskOf(lengths, meta.Q);

  it.each(['faithful', 'intended'] as const)('%s pairing = the per-sample reference (assignments, matched rows, loss, gradients)', (pairing) => {
    const generated = leaf('spg.generated');
    const targets = leaf('spg.targets');
    const out = spgLoss(generated, targets, mask, { pairing, lambda: meta.lambda_proto });
    expect(out.assignments.map((a) => Array.from(a))).toEqual(pairing === 'faithful' ? meta.spg_faithful_cols : meta.spg_intended_cols);
    expectClose(out.matched, get(`spg.${pairing}.matched`), 'matched');
    expectClose(out.loss, get(`spg.${pairing}.loss`), 'loss');
    const expectedRows = torch.cat(lengths.map((n, b) => get(`spg.${pairing}.matched`).select(0, b).narrow(0, 0, n)));
    expectClose(out.matchedRows, expectedRows, 'matched rows R_b[:len_b]');
    out.loss.backward();
    expectClose(generated.grad, get(`spg.${pairing}.generated_grad`), 'generated grad');
    expectClose(targets.grad, get(`spg.${pairing}.targets_grad`), 'targets grad');
  });

  it('hand case with a unique optimum: faithful uses G[col], intended G[argsort(col)]', () => {
    const g = torch.tensor([[[0], [10], [20]]]);
    const p = torch.tensor([[[10.1], [20.2], [0.3]]]);
    const all = torch.ones(1, 3, { dtype: 'bool' });
    const intended = spgLoss(g, p, all, { pairing: 'intended', lambda: 10 });
    expect(Array.from(intended.assignments[0]!)).toEqual([2, 0, 1]);
    expect(intended.matched.flatten().toNested()).toEqual([10, 20, 0]);
    expect(intended.loss.item()).toBeCloseTo(2, 5); // 10 · mean(0.1, 0.2, 0.3)
    const faithful = spgLoss(g, p, all, { pairing: 'faithful', lambda: 10 });
    expect(faithful.matched.flatten().toNested()).toEqual([20, 0, 10]);
    expect(faithful.loss.item()).toBeCloseTo((10 * (9.9 + 20.2 + 9.7)) / 3, 4);
  });

  it('names mismatched shapes', () => {
    expect(() => spgLoss(torch.zeros(2, 4, 3), torch.zeros(2, 4, 2), maskOf([1, 1], 4), { pairing: 'faithful', lambda: 1 })).toThrow(/alike/);
    expect(() => spgLoss(torch.zeros(2, 4, 3), torch.zeros(2, 4, 3), maskOf([1, 1], 3), { pairing: 'faithful', lambda: 1 })).toThrow(/mask must be bool \[2, 4\]/);
  });
});
