// The goldens of scripts/gen_fixtures_prior_heads.py (PRIOR's heads, SPB and losses from the
// per-sample reference in scripts/prior_reference/heads.py): tensors, sizes and helpers.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { load as loadSafetensors } from '../../../src/io/safetensors.js';
import type { Module } from '../../../src/nn/index.js';
import type { Tensor } from '../../../src/torch/index.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'models');

export interface HeadsMeta {
  B: number;
  L: number;
  D: number;
  N: number;
  heads: number;
  K: number;
  Q: number;
  hidden: number;
  lambda_proto: number;
  counts: number[];
  local_text_single_sentence: number;
  spb_seed: number;
  spb_schedule: { strategy: 'fixed' | 'linear' | 'exp'; step: number; total: number; temperature: number }[];
  spg_lengths: number[];
  spg_faithful_cols: number[][];
  spg_intended_cols: number[][];
}

export const meta = JSON.parse(readFileSync(join(DIR, 'prior-heads.json'), 'utf8')) as HeadsMeta;
const stored = loadSafetensors(join(DIR, 'prior-heads.safetensors')).tensors;

export function get(key: string): Tensor {
  const t = stored.get(key);
  if (t === undefined) throw new Error(`prior-heads fixture has no '${key}'`);
  return t;
}

/** A stored input as a fresh leaf that requires grad. */
export function leaf(key: string): Tensor {
  return get(key).clone().requiresGrad_(true);
}

/** Loads the entries stored under `prefix.` into `module`, strictly (the original's key names). */
export function loadWeights<M extends Module>(module: M, prefix: string): M {
  const entries = new Map<string, Tensor>();
  for (const [k, t] of stored) if (k.startsWith(`${prefix}.`)) entries.set(k.slice(prefix.length + 1), t);
  module.loadStateDict(entries, { strict: true });
  return module;
}

/** max |actual − expected| relative to the expected tensor's largest magnitude (non-zero, so the check can fail). */
export function expectClose(actual: Tensor | null, expected: Tensor, what: string, rtol = 1e-5): void {
  expect(actual, `${what} is missing`).not.toBeNull();
  expect(actual!.shape, `${what} shape`).toEqual(expected.shape);
  const err = actual!.detach().sub(expected).abs().max().item() as number;
  const scale = expected.abs().max().item() as number;
  expect(scale, `${what} is all zeros: a vacuous check`).toBeGreaterThan(0);
  expect(err / scale, `${what}: max error ${err} vs scale ${scale}`).toBeLessThan(rtol);
}
