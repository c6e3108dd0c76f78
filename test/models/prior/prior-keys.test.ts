// PRIOR's module tree against the reference model (scripts/prior_reference/model.py, transformers'
// BertModel for the text encoder and the sentence decoder): the state dict keys, their order and
// shapes for both presets (spec §12.2), and the parameter count of spec §13.1.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Prior, priorConfig } from '../../../src/models/prior/index.js';
import type { PriorPreset } from '../../../src/models/prior/index.js';

interface KeysFixture {
  preset: string;
  keys: [string, number[]][];
  parameters: number;
}

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'models');
const fixture = (preset: PriorPreset): KeysFixture => JSON.parse(readFileSync(join(DIR, `prior-keys-${preset}.json`), 'utf8')) as KeysFixture;

function ours(model: Prior): [string, number[]][] {
  return [...model.stateDict()].map(([k, t]) => [k, [...t.shape]]);
}

function parameterCount(model: Prior): number {
  return model.parameters().reduce((n, p) => n + p.numel, 0);
}

describe.each(['tiny', 'paper'] as const)('Prior(%s) module tree', (preset) => {
  const model = new Prior(priorConfig(preset));
  const expected = fixture(preset);
  const got = ours(model);

  it('has exactly the reference keys, in the reference order, with its shapes', () => {
    const gotKeys = new Set(got.map(([k]) => k));
    const wantKeys = new Set(expected.keys.map(([k]) => k));
    expect([...gotKeys].filter((k) => !wantKeys.has(k))).toEqual([]);
    expect([...wantKeys].filter((k) => !gotKeys.has(k))).toEqual([]);
    expect(got).toEqual(expected.keys);
  });

  it("has the reference's parameter count", () => {
    expect(parameterCount(model)).toBe(expected.parameters);
  });

  it('registers the spec §12.2 top-level names', () => {
    const top = new Set(got.map(([k]) => k.split('.')[0]));
    expect([...top].sort()).toEqual(
      [
        'global_image_projection',
        'global_text_attention',
        'global_text_projection',
        'image_decoder',
        'image_encoder',
        'local_cross_attention',
        'local_image_projection',
        'local_logit_scale',
        'local_text_projection',
        'logit_scale',
        'predictor',
        'prototype_queries',
        'sentence_bank',
        'sentence_decoder',
        'text_encoder',
      ].sort(),
    );
  });

  if (preset === 'tiny') {
    it('initialises per spec §4.4', () => {
      const sd = model.stateDict();
      const std = (key: string): number => sd.get(key)!.double().std().item() as number;
      const mean = (key: string): number => sd.get(key)!.double().mean().item() as number;
      expect(sd.get('logit_scale')!.item()).toBeCloseTo(4.60517, 5);
      expect(sd.get('local_logit_scale')!.item()).toBeCloseTo(4.60517, 5);
      expect(sd.get('logit_scale')!.shape).toEqual([]);
      const expectStd = (key: string, want: number, rtol = 0.1): void => {
        expect(Math.abs(std(key) / want - 1), `${key} std ${std(key)} vs ${want}`).toBeLessThan(rtol);
        expect(Math.abs(mean(key)), `${key} mean`).toBeLessThan(want * 0.1);
      };
      expectStd('prototype_queries', 1);
      expectStd('sentence_bank.embed.weight', 1);
      expectStd('image_encoder.atten_pool.positional_embedding', 512 ** -0.5);
      expectStd('global_image_projection.weight', 512 ** -0.5);
      expectStd('local_image_projection.weight', 512 ** -0.5);
      expectStd('global_text_projection.weight', 128 ** -0.5);
      expectStd('local_text_projection.weight', 128 ** -0.5);
      expectStd('predictor.0.weight', 128 ** -0.5);
      // predictor.2 keeps PyTorch's default: U(±1/√fan_in), std = bound/√3.
      expectStd('predictor.2.weight', 64 ** -0.5 / Math.sqrt(3));
      // HF init in both BERTs: N(0, 0.02), zero biases.
      expectStd('sentence_decoder.encoder.layer.0.crossattention.self.query.weight', 0.02);
      expectStd('text_encoder.encoder.encoder.layer.1.intermediate.dense.weight', 0.02);
      expect(sd.get('sentence_decoder.encoder.layer.0.crossattention.self.query.bias')!.abs().max().item()).toBe(0);
      expect(sd.get('image_decoder.blocks.0.conv1.1.weight')!.eq(1).all().item()).toBe(true);
      expect(sd.get('image_decoder.blocks.0.conv1.1.bias')!.eq(0).all().item()).toBe(true);
    });
  }

  if (preset === 'paper') {
    it('counts ≈ 279.4M parameters, and the spec §13.1 components exactly', () => {
      // Spec §13.1: total ≈ 279.4 M; the image decoder 21,219,313; the sentence decoder 98,279,424.
      expect(Math.round(parameterCount(model) / 1e5) / 10).toBe(279.4);
      expect(model.imageDecoder.parameters().reduce((n, p) => n + p.numel, 0)).toBe(21_219_313);
      expect(model.sentenceDecoder.parameters().reduce((n, p) => n + p.numel, 0)).toBe(98_279_424);
      expect(model.textEncoder.parameters().reduce((n, p) => n + p.numel, 0)).toBe(108_310_272);
    });
  }
});
