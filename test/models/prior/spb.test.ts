// SentencePrototypeBank against the reference SPB (scripts/prior_reference/heads.py): forward
// with injected Gumbel noise, the seeded noise stream of F.gumbel_softmax, the KL loss with an
// explicit (not detached) target, the temperature schedules, and the invariants of spec §14.
import { describe, expect, it } from 'vitest';
import { SentencePrototypeBank } from '../../../src/models/prior/spb.js';
import * as torch from '../../../src/torch/index.js';
import { expectClose, get, leaf, loadWeights, meta } from './heads-fixture.js';

function bank(options = {}): SentencePrototypeBank {
  return loadWeights(new SentencePrototypeBank(meta.D, meta.K, options), 'sentence_bank');
}

describe('SentencePrototypeBank.forward', () => {
  it('with injected noise: prototypes, logits, indices, proto loss and gradients (x and codebook)', () => {
    const spb = bank();
    const x = leaf('spb.x');
    const out = spb.call(x, { noise: get('spb.gumbels') });
    expectClose(out.prototypes, get('spb.prototypes'), 'prototypes');
    expectClose(out.logits, get('spb.logits'), 'logits');
    expectClose(out.protoLoss, get('spb.proto_loss'), 'proto loss');
    expect(out.indices.toNested()).toEqual(get('spb.indices').toNested());
    out.prototypes.mul(get('spb.R')).sum().add(out.protoLoss.mul(3)).backward();
    expectClose(x.grad, get('spb.x_grad'), 'x grad');
    expectClose(spb.embed.weight.grad, get('spb.embed_grad'), 'codebook grad');
  });

  it("draws F.gumbel_softmax's noise from the torch RNG: same seed, same prototypes", () => {
    const spb = bank();
    torch.manualSeed(meta.spb_seed);
    const { prototypes } = torch.noGrad(() => spb.call(get('spb.x')));
    expectClose(prototypes, get('spb.seeded_prototypes'), 'seeded prototypes');
  });

  it("noise 'always' stays stochastic in eval mode (B6); 'train' is a plain softmax there", () => {
    const x = get('spb.x');
    const always = bank().eval();
    torch.manualSeed(1);
    const a = always.call(x).prototypes;
    torch.manualSeed(2);
    const b = always.call(x).prototypes;
    expect(a.sub(b).abs().max().item()).toBeGreaterThan(1e-3);
    const trainOnly = bank({ noise: 'train' }).eval();
    const expected = x.matmul(get('sentence_bank.embed.weight').t()).div(0.9).softmax(-1).matmul(get('sentence_bank.embed.weight'));
    expectClose(trainOnly.call(x).prototypes, expected, 'noise-free prototypes');
  });

  it('τ → 0 without noise gives E[argmax(x·Eᵀ)]; proto loss is the mean absolute error (spec §14)', () => {
    const spb = bank({ noise: 'train', temperature: 1e-4 }).eval();
    const x = get('spb.x');
    const { prototypes, protoLoss, indices } = spb.call(x);
    const codebook = get('sentence_bank.embed.weight');
    const argmax = x.matmul(codebook.t()).argmax(-1);
    expect(indices.toNested()).toEqual(argmax.toNested());
    expectClose(prototypes, codebook.indexSelect(0, argmax), 'hard prototypes', 1e-4);
    const mae = (prototypes.sub(x).abs().sum().item() as number) / x.numel;
    expect(protoLoss.item()).toBeCloseTo(mae, 5);
  });

  it('names a wrong input or noise shape', () => {
    const spb = bank();
    expect(() => spb.call(torch.randn(3, meta.D + 1))).toThrow(/expected x \[N, 32\]/);
    expect(() => spb.call(torch.randn(3, meta.D), { noise: torch.randn(3, 2) })).toThrow(/noise must be \[3, 16\]/);
  });
});

describe('SentencePrototypeBank.klLoss', () => {
  it('equals the reference cal_loss against the cached, not detached logits (gradients to z, x and the codebook)', () => {
    const spb = bank();
    const x = leaf('spb.x');
    const z = leaf('spb.z');
    const { logits } = spb.call(x, { noise: get('spb.gumbels') });
    const kl = spb.klLoss(z, logits);
    expectClose(kl, get('spb.kl'), 'kl');
    kl.backward();
    expectClose(z.grad, get('spb.kl.z_grad'), 'z grad');
    expectClose(x.grad, get('spb.kl.x_grad'), 'x grad (through the target)');
    expectClose(spb.embed.weight.grad, get('spb.kl.embed_grad'), 'codebook grad');
  });

  it("is F.kl_div(log_softmax(z·Eᵀ), softmax(target), reduction='batchmean')", () => {
    const spb = bank();
    const z = get('spb.z');
    const target = torch.randn(z.size(0), meta.K);
    const viaKlDiv = torch.klDiv(z.matmul(spb.embed.weight.t()).logSoftmax(-1), target.softmax(-1), { reduction: 'batchmean' });
    expect(Math.abs((spb.klLoss(z, target).item() as number) - (viaKlDiv.item() as number))).toBeLessThan(1e-5);
    expect(spb.klLoss(z, z.matmul(spb.embed.weight.t())).item()).toBeCloseTo(0, 6);
  });
});

describe('SentencePrototypeBank.setTemperature', () => {
  it.each(meta.spb_schedule)('$strategy at $step/$total → the reference set_temp', ({ strategy, step, total, temperature }) => {
    const spb = new SentencePrototypeBank(4, 3);
    expect(spb.setTemperature(step, total, strategy)).toBeCloseTo(temperature, 12);
    expect(spb.temperature).toBeCloseTo(temperature, 12);
  });
});
