// PRIOR's model configuration: the presets (spec §0 for `paper`), strict validation with
// messages naming the field, and the derived quantities (feature grid, logit-scale init).
import { describe, expect, it } from 'vitest';
import { PRIOR_PRESETS, featureGrid, logitScaleInit, parsePriorConfig, priorConfig } from '../../../src/models/prior/config.js';

describe('priorConfig', () => {
  it('paper is the released run (spec §0): D 768, K 512, Q 16, 8 decoder layers, ResNet-50 at 224, ClinicalBERT', () => {
    const c = priorConfig('paper');
    expect(c).toMatchObject({
      embedDim: 768,
      prototypes: 512,
      queries: 16,
      decoderLayers: 8,
      imageDepth: 50,
      imageSize: 224,
      inChannels: 1,
      textMaxLength: 256,
      predictorHidden: 384,
      maxSentences: 16,
      lambdaProto: 10,
      stage3GlobalWeight: 10,
      temperature: 0.01,
      localTemperature: 0.01,
      spbTemperature: 0.9,
      imageDropout: 0.5,
    });
    expect(c.text).toMatchObject({ vocab_size: 28996, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, hidden_act: 'gelu' });
    expect(featureGrid(c)).toEqual([7, 7]);
  });

  it('defaults every oddity flag to the faithful behaviour (spec §10)', () => {
    for (const preset of ['paper', 'tiny'] as const) {
      expect(priorConfig(preset)).toMatchObject({
        localLayout: 'faithful',
        decoderMapLayout: 'faithful',
        spgPairing: 'faithful',
        decoderAttention: 'causal',
        spbNoise: 'always',
        spbTemperatureSchedule: 'fixed',
      });
    }
  });

  it('tiny: ResNet-18 at 64×64 (a 2×2 grid), bert-tiny, D 128, K 64, 2 decoder layers', () => {
    const c = priorConfig('tiny');
    expect(c).toMatchObject({ imageDepth: 18, imageSize: 64, embedDim: 128, prototypes: 64, decoderLayers: 2, textMaxLength: 64 });
    expect(c.text).toMatchObject({ vocab_size: 30522, hidden_size: 128, num_hidden_layers: 2 });
    expect(featureGrid(c)).toEqual([2, 2]);
  });

  it('logit scales start at ln(1/0.01) = 4.60517', () => {
    expect(logitScaleInit(0.01)).toBeCloseTo(4.60517, 5);
  });

  it('applies overrides, merging text fields into the preset', () => {
    const c = priorConfig('tiny', { spgPairing: 'intended', imageSize: 96, text: { hidden_dropout_prob: 0 } });
    expect(c.spgPairing).toBe('intended');
    expect(featureGrid(c)).toEqual([3, 3]);
    expect(c.text.hidden_dropout_prob).toBe(0);
    expect(c.text.hidden_size).toBe(128);
  });

  it('rejects unknown keys, at the top and in text', () => {
    expect(() => parsePriorConfig({ ...PRIOR_PRESETS.tiny, lamdaProto: 10 })).toThrow(/Unrecognized key.*lamdaProto/);
    expect(() => parsePriorConfig({ ...PRIOR_PRESETS.tiny, text: { ...PRIOR_PRESETS.tiny.text, hidden_sise: 3 } })).toThrow(/text.*hidden_sise/s);
  });

  it('names every bad field', () => {
    const bad = (overrides: Record<string, unknown>, pattern: RegExp): void => {
      expect(() => parsePriorConfig({ ...PRIOR_PRESETS.tiny, ...overrides }, 'my.json')).toThrow(pattern);
    };
    bad({ imageSize: 100 }, /my\.json.*imageSize: must be a multiple of 32/s);
    bad({ embedDim: 120, text: { ...PRIOR_PRESETS.tiny.text, hidden_size: 120, num_attention_heads: 2 } }, /embedDim: must be a multiple of 16/);
    bad({ embedDim: 256 }, /text\.hidden_size: must equal embedDim 256/);
    bad({ queries: 4 }, /queries.*maxSentences 8/);
    bad({ spgPairing: 'inverse' }, /spgPairing/);
    bad({ imageDepth: 101 }, /imageDepth/);
    bad({ imageDropout: 1.5 }, /imageDropout/);
    bad({ textMaxLength: 600 }, /textMaxLength: 600 exceeds text.max_position_embeddings 512/);
    expect(() => priorConfig('huge' as 'tiny')).toThrow(/unknown preset 'huge'/);
  });
});
