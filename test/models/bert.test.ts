// BERT against Hugging Face transformers (scripts/gen_fixtures_models_bert.py): two random tiny
// model directories (an encoder with pooler; a decoder with cross-attention saved with the
// `bert.` prefix) and, per case, the inputs, last_hidden_state, pooler_output and the gradients
// of sum(last * R) + sum(pooler * P) w.r.t. inputs embeddings, encoder states and parameters.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { load as loadSafetensors, readHeader } from '../../src/io/safetensors.js';
import type { BertInputs } from '../../src/models/bert/index.js';
import { BERT_PRESETS, BertModel, bertConfig, loadBertModel, parseBertConfig } from '../../src/models/bert/index.js';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'models', 'bert');
const CASES_FILE = join(DIR, 'cases.safetensors');
const { tensors: stored, metadata } = loadSafetensors(CASES_FILE);
const CASES = JSON.parse(metadata.cases ?? '[]') as { id: string; model: 'encoder' | 'decoder' }[];
const TOL = 1e-4;

const models = { encoder: loadBertModel(join(DIR, 'encoder')).eval(), decoder: loadBertModel(join(DIR, 'decoder')).eval() };

function get(key: string): Tensor {
  const t = stored.get(key);
  if (t === undefined) throw new Error(`fixture has no '${key}'`);
  return t;
}

function expectClose(actual: Tensor | null, expected: Tensor, what: string): void {
  expect(actual, what).not.toBeNull();
  expect(actual!.shape, what).toEqual(expected.shape);
  const maxDiff = actual!.sub(expected).abs().max().item();
  expect(actual!.allclose(expected, TOL, TOL), `${what}: max |diff| ${maxDiff}`).toBe(true);
}

/** The case's inputs as BertInputs; float inputs become leaves that require grad. */
function inputsOf(id: string): BertInputs {
  const opt = (name: string): Tensor | undefined => stored.get(`${id}.${name}`);
  const leaf = (t: Tensor | undefined): Tensor | undefined => t?.clone().requiresGrad_(true);
  return {
    inputIds: opt('input_ids'),
    inputsEmbeds: leaf(opt('inputs_embeds')),
    attentionMask: opt('attention_mask'),
    tokenTypeIds: opt('token_type_ids'),
    encoderHiddenStates: leaf(opt('encoder_hidden_states')),
    encoderAttentionMask: opt('encoder_attention_mask'),
  };
}

afterAll(() => {
  for (const t of stored.values()) t.dispose();
  models.encoder.dispose();
  models.decoder.dispose();
});

describe('BertModel vs transformers', () => {
  it.each(CASES)('$id ($model): outputs and gradients', ({ id, model: which }) => {
    const model: BertModel = models[which];
    model.zeroGrad();
    const inputs = inputsOf(id);
    const { lastHiddenState, poolerOutput } = model.call(inputs);
    expectClose(lastHiddenState, get(`${id}.last_hidden_state`), 'last_hidden_state');
    let loss = lastHiddenState.mul(get(`${id}.R`)).sum();
    const pooled = stored.get(`${id}.pooler_output`);
    if (pooled === undefined) {
      expect(poolerOutput).toBeNull();
    } else {
      expectClose(poolerOutput, pooled, 'pooler_output');
      loss = loss.add(poolerOutput!.mul(get(`${id}.P`)).sum());
    }
    loss.backward();
    if (inputs.inputsEmbeds) expectClose(inputs.inputsEmbeds.grad, get(`${id}.grad.inputs_embeds`), 'grad inputs_embeds');
    if (inputs.encoderHiddenStates) {
      expectClose(inputs.encoderHiddenStates.grad, get(`${id}.grad.encoder_hidden_states`), 'grad encoder_hidden_states');
    }
    const paramPrefix = `${id}.grad.param.`;
    const paramGrads = [...stored.keys()].filter((k) => k.startsWith(paramPrefix));
    const params = new Map(model.namedParameters());
    for (const key of paramGrads) {
      const name = key.slice(paramPrefix.length);
      expect(params.has(name), `parameter ${name}`).toBe(true);
      expectClose(params.get(name)!.grad, get(key), `grad ${name}`);
    }
  });

  it('records parameter gradients for an encoder and a decoder case', () => {
    // Guards the fixture: the parameter-gradient checks above must not be vacuous.
    for (const id of ['enc_mask_types', 'dec_embeds']) {
      expect([...stored.keys()].filter((k) => k.startsWith(`${id}.grad.param.`)).length).toBeGreaterThan(20);
    }
  });

  it('decoder self-attention is causal: later tokens do not change earlier outputs', () => {
    const x = get('dec_embeds.inputs_embeds');
    const enc = get('dec_embeds.encoder_hidden_states');
    torch.noGrad(() => {
      const full = models.decoder.call({ inputsEmbeds: x, encoderHiddenStates: enc }).lastHiddenState;
      const prefix = models.decoder.call({ inputsEmbeds: x.narrow(1, 0, 3), encoderHiddenStates: enc }).lastHiddenState;
      expectClose(prefix, full.narrow(1, 0, 3), 'prefix');
    });
  });

  it('dropout acts in train mode only', () => {
    const inputs = { inputIds: get('enc_ids.input_ids') };
    torch.noGrad(() => {
      const a = models.encoder.train().call(inputs).lastHiddenState;
      const b = models.encoder.call(inputs).lastHiddenState;
      models.encoder.eval();
      expect(a.allclose(b)).toBe(false);
      expectClose(models.encoder.call(inputs).lastHiddenState, get('enc_ids.last_hidden_state'), 'eval again');
    });
  });
});

describe('loading', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'bert-test-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const encoderConfig = JSON.parse(readFileSync(join(DIR, 'encoder', 'config.json'), 'utf8')) as Record<string, unknown>;

  /** A directory with the encoder's weights (or none) and its config.json with `changes` (or none). */
  function variant(name: string, changes: Record<string, unknown> | null, weights = true): string {
    const dir = join(tmp, name);
    mkdirSync(dir);
    if (changes !== null) writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...encoderConfig, ...changes }));
    if (weights) copyFileSync(join(DIR, 'encoder', 'model.safetensors'), join(dir, 'model.safetensors'));
    return dir;
  }

  it('strips the bert. prefix and ignores task heads; the pooler follows the checkpoint', () => {
    const keys = [...readHeader(join(DIR, 'decoder', 'model.safetensors')).tensors.keys()];
    expect(keys.every((k) => k.startsWith('bert.') || k.startsWith('cls.'))).toBe(true);
    expect(models.decoder.pooler).toBeNull();
    expect(models.encoder.pooler).not.toBeNull();
    const own = [...models.decoder.stateDict().keys()];
    expect(own).toContain('encoder.layer.1.crossattention.self.query.weight');
    expect(own.length).toBe(keys.length - 1);
  });

  it('names a missing file', () => {
    expect(() => loadBertModel(variant('no-config', null))).toThrow(/no-config': missing config\.json/);
    expect(() => loadBertModel(variant('no-weights', {}, false))).toThrow(/no-weights': missing model\.safetensors/);
  });

  it('names the file and field of an invalid config', () => {
    expect(() => loadBertModel(variant('bad-act', { hidden_act: 'swish' }))).toThrow(/bad-act[/\\]config\.json: invalid configuration:\s+hidden_act/);
  });

  it('reports every shape and key that disagrees with config.json', () => {
    const wide = variant('wide', { intermediate_size: 128 });
    expect(() => loadBertModel(wide)).toThrow(/encoder\.layer\.0\.intermediate\.dense\.weight: shape \[64, 32\] in the file, \[128, 32\] from config\.json/);
    expect(() => loadBertModel(wide)).toThrow(/encoder\.layer\.1\.output\.dense\.weight: shape/);
    expect(() => loadBertModel(variant('deep', { num_hidden_layers: 3 }))).toThrow(/missing encoder\.layer\.2\.attention\.self\.query\.weight/);
    expect(() => loadBertModel(variant('shallow', { num_hidden_layers: 1 }))).toThrow(/unexpected encoder\.layer\.1\.output\.LayerNorm\.bias/);
  });

  it('builds the pooler on request only if the checkpoint has it', () => {
    expect(loadBertModel(join(DIR, 'encoder'), { addPoolingLayer: false }).pooler).toBeNull();
    expect(() => loadBertModel(join(DIR, 'decoder'), { addPoolingLayer: true })).toThrow(/missing pooler\.dense\.weight/);
  });
});

describe('configuration', () => {
  it('fills BertConfig defaults and ignores unknown keys', () => {
    const c = parseBertConfig({ hidden_size: 64, num_attention_heads: 4, architectures: ['BertModel'] });
    expect(c).toMatchObject({ vocab_size: 30522, num_hidden_layers: 12, hidden_act: 'gelu', layer_norm_eps: 1e-12, is_decoder: false });
    expect('architectures' in c).toBe(false);
  });

  it('rejects bad values, naming the fields', () => {
    expect(() => parseBertConfig({ hidden_size: 30, num_attention_heads: 4 }, 'x.json')).toThrow(/x\.json[\s\S]*hidden_size: .*multiple/);
    expect(() => parseBertConfig({ hidden_act: 'swish' })).toThrow(/hidden_act/);
    expect(() => parseBertConfig({ position_embedding_type: 'relative_key' })).toThrow(/position_embedding_type/);
    expect(() => parseBertConfig({ add_cross_attention: true })).toThrow(/add_cross_attention/);
  });

  it('presets: bert-tiny and bert-base sizes, with overrides', () => {
    expect(bertConfig('bert-tiny')).toMatchObject({ ...BERT_PRESETS['bert-tiny'], max_position_embeddings: 512 });
    const base = bertConfig('bert-base', { num_hidden_layers: 8, is_decoder: true, add_cross_attention: true });
    expect(base).toMatchObject({ hidden_size: 768, num_attention_heads: 12, intermediate_size: 3072, num_hidden_layers: 8 });
    expect(() => bertConfig('bert-huge' as never)).toThrow(/unknown preset 'bert-huge'/);
  });

  it('bert-base has the 109,482,240 parameters of bert-base-uncased (with pooler)', () => {
    const model = new BertModel(bertConfig('bert-base'));
    expect(model.parameters().reduce((n, p) => n + p.numel, 0)).toBe(109_482_240);
    model.dispose();
  });

  it('bert-tiny has the 4,385,920 parameters of google/bert_uncased_L-2_H-128_A-2 (with pooler)', () => {
    const model = new BertModel(bertConfig('bert-tiny'));
    expect(model.parameters().reduce((n, p) => n + p.numel, 0)).toBe(4_385_920);
    model.dispose();
  });
});
