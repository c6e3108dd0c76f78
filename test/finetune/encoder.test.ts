// Encoder sources: a PRIOR checkpoint's image_encoder.encoder.* weights, a flat torchvision-keyed
// safetensors file, and a seeded random ResNet; fractions and hold-outs are deterministic.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../../src/io/checkpoint.js';
import { safetensors } from '../../src/io/index.js';
import { ResNet } from '../../src/models/resnet/index.js';
import { holdOut, sampleFraction } from '../../src/finetune/data.js';
import { loadEncoder, resnetDepthOf } from '../../src/finetune/encoder.js';
import * as torch from '../../src/torch/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ft-encoder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const same = (a: ResNet, b: ResNet): boolean => {
  const sa = a.stateDict();
  const sb = b.stateDict();
  return sa.size === sb.size && [...sa].every(([k, t]) => torch.equal(t, sb.get(k)!));
};

describe('loadEncoder', () => {
  it('reads flat torchvision keys (1-channel conv1, no fc) from safetensors, depth from the keys', () => {
    torch.manualSeed(3);
    const net = new ResNet(18, { inChannels: 1, numClasses: 10 });
    const file = join(dir, 'r18.safetensors');
    safetensors.save(file, net.stateDict());
    const { encoder } = loadEncoder({ kind: 'safetensors', file });
    expect(encoder.depth).toBe(18);
    expect(encoder.inChannels).toBe(1);
    expect(encoder.fc).toBeNull();
    const noFc = new ResNet(18, { inChannels: 1, numClasses: null });
    noFc.loadStateDict(new Map([...net.stateDict()].filter(([k]) => !k.startsWith('fc.'))));
    expect(same(encoder, noFc)).toBe(true);
    // torchvision: Bottleneck blocks have conv3 (ResNet-50); ResNet-34's layer1 has 3 blocks, ResNet-18's 2.
    expect(resnetDepthOf(['conv1.weight', 'layer1.0.conv3.weight', 'layer1.2.conv1.weight'])).toBe(50);
    expect(resnetDepthOf(['conv1.weight', 'layer1.1.conv1.weight', 'layer1.2.conv1.weight'])).toBe(34);
    expect(() => resnetDepthOf(['conv1.weight'])).toThrow(/no torchvision ResNet keys/);
  });

  it('makes RGB (ImageNet-layout) weights grayscale by summing conv1 over its input channels', () => {
    torch.manualSeed(8);
    const rgb = new ResNet(18, { inChannels: 3, numClasses: 1000 });
    const file = join(dir, 'rgb.safetensors');
    safetensors.save(file, rgb.stateDict());
    const { encoder } = loadEncoder({ kind: 'safetensors', file });
    expect(encoder.inChannels).toBe(1);
    const w = rgb.conv1.weight;
    const expected = w.narrow(1, 0, 1).add(w.narrow(1, 1, 1)).add(w.narrow(1, 2, 1));
    expect(encoder.conv1.weight.sub(expected).abs().max().item()).toBeLessThan(1e-6);
    expect(torch.equal(encoder.stateDict().get('layer4.1.conv2.weight')!, rgb.stateDict().get('layer4.1.conv2.weight')!)).toBe(true);
  });

  it("takes a PRIOR checkpoint's image_encoder.encoder.* weights", () => {
    torch.manualSeed(4);
    const net = new ResNet(18, { inChannels: 1, numClasses: null });
    const model = new Map<string, torch.Tensor>();
    for (const [k, t] of net.stateDict()) model.set(`image_encoder.encoder.${k}`, t);
    model.set('image_encoder.atten_pool.positional_embedding', torch.zeros(5, 512));
    model.set('text_encoder.embeddings.word_embeddings.weight', torch.zeros(3, 4));
    const ckpt = join(dir, 'prior', 'checkpoints');
    saveCheckpoint(ckpt, { step: 7, model });
    const { encoder, description } = loadEncoder({ kind: 'prior', dir: ckpt });
    expect(description).toContain('step-000007');
    expect(same(encoder, net)).toBe(true);
    saveCheckpoint(join(dir, 'other'), { step: 1, model: new Map([['head.weight', torch.zeros(2)]]) });
    expect(() => loadEncoder({ kind: 'prior', dir: join(dir, 'other') })).toThrow(/no 'image_encoder\.encoder\.\*' keys/);
    expect(() => loadEncoder({ kind: 'safetensors', file: join(dir, 'missing.safetensors') })).toThrow(/does not exist/);
  });

  it('draws the same random encoder for the same seed', () => {
    const a = loadEncoder({ kind: 'random', depth: 18, seed: 5 }).encoder;
    const b = loadEncoder({ kind: 'random', depth: 18, seed: 5 }).encoder;
    const c = loadEncoder({ kind: 'random', depth: 18, seed: 6 }).encoder;
    expect(same(a, b)).toBe(true);
    expect(same(a, c)).toBe(false);
  });
});

describe('fractions and hold-outs', () => {
  it('samples ceil(fraction · n) per stratum, deterministically, at least one each', () => {
    const labels = [...new Array(90).fill('a'), ...new Array(10).fill('b')];
    const pick = sampleFraction(100, 0.1, 1, (i) => labels[i]!);
    expect(pick).toEqual(sampleFraction(100, 0.1, 1, (i) => labels[i]!));
    expect(pick).not.toEqual(sampleFraction(100, 0.1, 2, (i) => labels[i]!));
    expect(pick.filter((i) => labels[i] === 'a')).toHaveLength(9);
    expect(pick.filter((i) => labels[i] === 'b')).toHaveLength(1);
    expect(sampleFraction(100, 0.01, 1, (i) => labels[i]!)).toHaveLength(2);
    expect(sampleFraction(5, 1, 1)).toEqual([0, 1, 2, 3, 4]);
    expect(() => sampleFraction(5, 0, 1)).toThrow(/fraction must be in \(0, 1\]/);
  });

  it('holds out round(share · n) items, disjoint from the rest', () => {
    const [rest, held] = holdOut(50, 0.2, 9);
    expect(held).toHaveLength(10);
    expect(new Set([...rest, ...held]).size).toBe(50);
    expect(holdOut(50, 0.2, 9)).toEqual([rest, held]);
  });
});
