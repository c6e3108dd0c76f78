// Loading a pretrained HF BERT directory into PRIOR's text encoder (`text_encoder.encoder.*`).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadBertModel } from '../../../src/models/bert/index.js';
import { Prior, priorConfig } from '../../../src/models/prior/index.js';

const ENCODER_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'models', 'bert', 'encoder');

describe('Prior.loadTextEncoder', () => {
  it('copies every weight of the directory into text_encoder.encoder', () => {
    const reference = loadBertModel(ENCODER_DIR);
    const text = { ...reference.config };
    // The fixture encoder: hidden 32, 16 positions, 50 tokens.
    const model = new Prior(priorConfig('tiny', { embedDim: 32, predictorHidden: 16, textMaxLength: 16, prototypes: 8, text }));
    const before = model.textEncoder.encoder.stateDict().get('encoder.layer.1.output.dense.weight')!.clone();
    model.loadTextEncoder(ENCODER_DIR);
    const loaded = model.stateDict();
    for (const [key, t] of reference.stateDict()) {
      expect(loaded.get(`text_encoder.encoder.${key}`)!.equal(t), key).toBe(true);
    }
    expect(before.equal(loaded.get('text_encoder.encoder.encoder.layer.1.output.dense.weight')!)).toBe(false);
    model.dispose();
    reference.dispose();
  });

  it('names the directory when it does not fit the configured text encoder', () => {
    const model = new Prior(priorConfig('tiny'));
    expect(() => model.loadTextEncoder(ENCODER_DIR)).toThrow(/encoder: does not fit the configured text encoder:.*shape/s);
    model.dispose();
  });
});
