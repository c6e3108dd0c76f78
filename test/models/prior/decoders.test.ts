// The stage-3 decoders (spec §6.1, §6.2): the B2 map layout invariant of spec §14, the channel
// plan and parameter count of spec §13.1 (the sentence decoder's is checked with the whole model), the reconstruction loss, Dropout2d on the image map
// only, and causal vs bidirectional self-attention in the sentence decoder.
import { describe, expect, it } from 'vitest';
import { bertConfig } from '../../../src/models/bert/index.js';
import { priorConfig } from '../../../src/models/prior/config.js';
import { ImageDecoder, decoderChannels, reconstructionLoss, tokensToMap } from '../../../src/models/prior/image-decoder.js';
import { CrossModalityBertDecoder } from '../../../src/models/prior/sentence-decoder.js';
import * as torch from '../../../src/torch/index.js';
import type { Tensor } from '../../../src/torch/index.js';

const count = (m: { parameters(): Tensor[] }): number => m.parameters().reduce((n, p) => n + p.numel, 0);

describe('tokensToMap', () => {
  it("faithful: m[c,h,w] = E[⌊k/D⌋][k mod D] with k = c·N + h·w' + w (spec §14, B2)", () => {
    const [n, d, gh, gw] = [6, 5, 2, 3];
    const tokens = torch.arange(n * d, { dtype: 'float32' }).reshape(1, n, d).add(0.5);
    const map = tokensToMap(tokens, [gh, gw], 'faithful');
    expect(map.shape).toEqual([1, d, gh, gw]);
    const e = tokens.toArray() as Float32Array;
    const m = map.toArray() as Float32Array;
    for (let c = 0; c < d; c++)
      for (let h = 0; h < gh; h++)
        for (let w = 0; w < gw; w++) {
          const k = c * n + h * gw + w;
          expect(m[(c * gh + h) * gw + w]).toBe(e[Math.floor(k / d) * d + (k % d)]);
        }
  });

  it('spatial: token t is position t, its features the channels', () => {
    const tokens = torch.randn(2, 4, 3);
    const map = tokensToMap(tokens, [2, 2], 'spatial');
    // position (1, 0) is token 2
    expect(map.select(2, 1).select(2, 0).toArray()).toEqual(tokens.select(1, 2).toArray());
  });

  it('names the grid in its error', () => {
    expect(() => tokensToMap(torch.randn(1, 5, 3), [2, 2])).toThrow(/\[B, 4, D\] for a 2x2 grid/);
  });
});

describe('ImageDecoder', () => {
  it('has the paper channel plan 1536→768→384→192→96→48→1 and 21,219,313 parameters (spec §6.1, §13.1)', () => {
    expect(decoderChannels(768)).toEqual([768, 384, 192, 96, 48]);
    const dec = new ImageDecoder({ grid: [7, 7], embedDim: 768 });
    expect(count(dec)).toBe(21_219_313);
    expect(dec.outputSize()).toEqual([224, 224]);
    const keys = [...dec.stateDict().keys()];
    expect(keys).toContain('blocks.0.conv1.0.weight');
    expect(keys).toContain('blocks.4.conv2.1.running_var');
    expect(keys).toContain('output_head.0.bias');
    expect(dec.stateDict().get('blocks.0.conv1.0.weight')!.shape).toEqual([768, 1536, 3, 3]);
    dec.dispose();
  });

  it('tiny: 2×2 grid of D=128 tokens back to 1×64×64, finite, and the L1 loss is mean |x̂ − x|', () => {
    const c = priorConfig('tiny');
    const dec = new ImageDecoder({ grid: [2, 2], embedDim: c.embedDim });
    const image = torch.randn(2, 4, 128);
    const text = torch.randn(2, 4, 128);
    const out = dec.call(image, text);
    expect(out.shape).toEqual([2, 1, 64, 64]);
    const x = torch.randn(2, 1, 64, 64);
    const loss = reconstructionLoss(out, x).item();
    const manual = out.sub(x).abs().mean().item();
    expect(loss).toBeCloseTo(manual, 6);
    // A target of another size is resized bilinearly (align_corners) first.
    const big = torch.randn(2, 1, 96, 96);
    const resized = torch.interpolate(big, { size: [64, 64], mode: 'bilinear', alignCorners: true });
    expect(reconstructionLoss(out, big).item()).toBeCloseTo(out.sub(resized).abs().mean().item(), 6);
    dec.dispose();
  });

  it('drops channels of the image map only, in train mode only', () => {
    const dec = new ImageDecoder({ grid: [1, 1], embedDim: 16, imageDropout: 0.5 });
    // Record the block-0 input: the first 16 channels are the image map, the next 16 the text map.
    let seen: Tensor | null = null;
    const conv = dec.blocks.at(0).conv1.at(0);
    conv.registerForwardHook((_m, inputs) => void (seen = torch.keep(inputs[0] as Tensor)));
    const ones = torch.ones(4, 1, 16);
    dec.train();
    dec.call(ones, ones);
    const input = seen! as Tensor; // [4, 32, 2, 2] after upsampling
    const image = input.narrow(1, 0, 16);
    const text = input.narrow(1, 16, 16);
    const values = new Set(Array.from(image.toArray() as Float32Array));
    expect([...values].sort()).toEqual([0, 2]); // dropped planes 0, kept ones scaled by 1/(1-p)
    expect(Array.from(text.toArray() as Float32Array).every((v) => v === 1)).toBe(true);
    dec.eval();
    dec.call(ones, ones);
    expect(Array.from((seen! as Tensor).toArray() as Float32Array).every((v) => v === 1)).toBe(true);
    dec.dispose();
  });
});

describe('CrossModalityBertDecoder', () => {
  const text = bertConfig('bert-tiny');

  it('is the text config with the decoder layers, cross-attention, no pooler (spec §6.2)', () => {
    const dec = new CrossModalityBertDecoder(text, 3);
    expect(dec.config.num_hidden_layers).toBe(3);
    expect(dec.config.is_decoder).toBe(true);
    expect(dec.pooler).toBeNull();
    const keys = [...dec.stateDict().keys()];
    expect(keys).toContain('encoder.layer.2.crossattention.self.query.weight');
    expect(keys.some((k) => k.startsWith('pooler'))).toBe(false);
    dec.dispose();
  });

  it('causal: query i ignores queries after it; bidirectional: it does not', () => {
    for (const attention of ['causal', 'bidirectional'] as const) {
      torch.manualSeed(3);
      const dec = new CrossModalityBertDecoder(text, 2, attention).eval();
      const queries = torch.randn(1, 4, 128);
      const image = torch.randn(1, 5, 128);
      const changed = torch.cat([queries.narrow(1, 0, 2), torch.randn(1, 2, 128)], 1);
      const a = dec.generate(queries, image).narrow(1, 0, 2);
      const b = dec.generate(changed, image).narrow(1, 0, 2);
      const diff = a.sub(b).abs().max().item();
      if (attention === 'causal') expect(diff).toBe(0);
      else expect(diff).toBeGreaterThan(1e-3);
      // The image tokens are read through cross-attention.
      const c = dec.generate(queries, torch.randn(1, 5, 128)).narrow(1, 0, 2);
      expect(a.sub(c).abs().max().item()).toBeGreaterThan(1e-3);
      dec.dispose();
    }
  });
});
