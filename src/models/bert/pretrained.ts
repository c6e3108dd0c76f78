// Loading a local Hugging Face BERT directory: config.json + model.safetensors.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load as loadSafetensors, readHeader } from '../../io/safetensors.js';
import type { DeviceLike } from '../../torch/index.js';
import { parseBertConfig } from './config.js';
import { BertModel } from './model.js';

export interface LoadBertOptions {
  /** Build the pooler (default: when the checkpoint has pooler weights); false ignores them. */
  addPoolingLayer?: boolean;
  device?: DeviceLike;
}

/** Task-model checkpoints (BertForMaskedLM, BertLMHeadModel, ...) keep the encoder under this prefix. */
const BASE_PREFIX = 'bert.';
/** Buffers some checkpoints store that BertModel recomputes. */
const IGNORED_KEYS = new Set(['embeddings.position_ids', 'embeddings.token_type_ids']);

/**
 * The file's keys mapped to BertModel's: with a `bert.` prefix only the prefixed keys count (the
 * rest are task heads, e.g. `cls.predictions.*`); TF-era LayerNorm `gamma`/`beta` become
 * `weight`/`bias`, as HF renames them.
 */
function modelKeys(fileKeys: readonly string[]): Map<string, string> {
  const prefixed = fileKeys.some((k) => k.startsWith(BASE_PREFIX));
  const out = new Map<string, string>();
  for (const fileKey of fileKeys) {
    if (prefixed && !fileKey.startsWith(BASE_PREFIX)) continue;
    const key = (prefixed ? fileKey.slice(BASE_PREFIX.length) : fileKey).replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
    if (!IGNORED_KEYS.has(key)) out.set(key, fileKey);
  }
  return out;
}

function requireFile(dir: string, name: string): string {
  const file = join(dir, name);
  if (!existsSync(file)) {
    const hint = name === 'model.safetensors' && existsSync(join(dir, 'pytorch_model.bin')) ? ' (pytorch_model.bin is not supported: convert it to safetensors)' : '';
    throw new Error(`BERT model directory '${dir}': missing ${name}${hint}`);
  }
  return file;
}

/**
 * HF's `BertModel.from_pretrained(dir)` for a local directory. Every key must match the
 * configuration's model in name and shape: all problems are reported in one error naming the
 * file. Weights are converted to float32 on `device`.
 */
export function loadBertModel(dir: string, { addPoolingLayer, device }: LoadBertOptions = {}): BertModel {
  const configFile = requireFile(dir, 'config.json');
  const weightsFile = requireFile(dir, 'model.safetensors');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(configFile, 'utf8'));
  } catch (e) {
    throw new Error(`${configFile}: not valid JSON: ${(e as Error).message}`);
  }
  const config = parseBertConfig(raw, configFile);
  const header = readHeader(weightsFile);
  const keys = modelKeys([...header.tensors.keys()]);
  const model = new BertModel(config, { addPoolingLayer: addPoolingLayer ?? keys.has('pooler.dense.weight') });
  if (device !== undefined) model.to(device);
  // Without a pooler, its weights are unused (HF drops them with a warning).
  if (model.pooler === null) for (const key of [...keys.keys()]) if (key.startsWith('pooler.')) keys.delete(key);

  const expected = model.stateDict();
  const problems: string[] = [];
  for (const [key, target] of expected) {
    const fileKey = keys.get(key);
    const info = fileKey === undefined ? undefined : header.tensors.get(fileKey);
    if (info === undefined) problems.push(`missing ${key}`);
    else if (info.shape.join() !== target.shape.join()) {
      problems.push(`${fileKey}: shape [${info.shape.join(', ')}] in the file, [${target.shape.join(', ')}] from config.json`);
    }
  }
  for (const [key, fileKey] of keys) if (!expected.has(key)) problems.push(`unexpected ${fileKey}`);
  if (problems.length > 0) {
    model.dispose();
    throw new Error(`${weightsFile}: does not match ${configFile} (${problems.length} problem(s)):\n  ${problems.join('\n  ')}`);
  }

  const { tensors } = loadSafetensors(weightsFile, { keys: [...keys.values()], dtype: 'float32', ...(device ? { device } : {}) });
  try {
    model.loadStateDict(new Map([...keys].map(([key, fileKey]) => [key, tensors.get(fileKey)!])));
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  return model;
}
