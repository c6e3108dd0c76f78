// Reading test/fixtures/nn/*.json (made from PyTorch by scripts/gen_fixtures_nn.py) and
// comparing our tensors with the recorded ones.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Module } from '../../src/nn/index.js';
import * as torch from '../../src/torch/index.js';
import type { DType, Tensor } from '../../src/torch/index.js';

export interface EncodedTensor {
  $tensor: DType;
  shape: number[];
  /** base64 of the raw little-endian element bytes (bool: one byte each). */
  data: string;
}

export type Encoded = null | boolean | number | string | EncodedTensor | Encoded[] | { [key: string]: Encoded };

export interface Tolerance {
  rtol: number;
  atol: number;
}

export type EncodedState = [string, EncodedTensor][];

export interface ModuleCase {
  id: string;
  seed: number;
  train: boolean;
  init?: EncodedState;
  state?: EncodedState;
  callSeed?: number;
  calls: { args: Encoded[]; kwargs: { [key: string]: Encoded }; expected: Encoded }[];
  buffersAfter: EncodedState;
  /** [key, shape, dtype] of the state dict, in order. */
  keys: [string, number[], DType][];
  tol?: Tolerance;
}

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'nn');

export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as T;
}

const ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  uint8: Uint8Array,
  bool: Uint8Array,
} as const;

function isEncodedTensor(v: Encoded): v is EncodedTensor {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && '$tensor' in v;
}

export function decodeTensor(e: EncodedTensor): Tensor {
  const ctor = ARRAYS[e.$tensor as keyof typeof ARRAYS];
  if (!ctor) throw new Error(`fixture: unsupported dtype ${e.$tensor}`);
  // A fresh, aligned buffer (Buffer.from may return an unaligned slice of its pool).
  const bytes = Uint8Array.from(Buffer.from(e.data, 'base64'));
  return torch.tensor(new ctor(bytes.buffer), { dtype: e.$tensor }).reshape(e.shape);
}

/** Tensors rebuilt bit-exactly; arrays and objects recursively. */
export function decode(v: Encoded): unknown {
  if (Array.isArray(v)) return v.map(decode);
  if (v === null || typeof v !== 'object') return v;
  if (isEncodedTensor(v)) return decodeTensor(v);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]));
}

export function decodeState(s: EncodedState): Map<string, Tensor> {
  return new Map(s.map(([k, t]) => [k, decodeTensor(t)]));
}

/**
 * The first difference between `actual` and `expected` (a tensor, null, or a list of them), or
 * null. Floats within `tol` (exactly when tol is 0), everything else exactly.
 */
export function mismatch(actual: unknown, expected: Encoded, tol: Tolerance, path = 'output'): string | null {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return `${path}: expected a list of ${expected.length}`;
    for (let i = 0; i < expected.length; i++) {
      const m = mismatch(actual[i], expected[i]!, tol, `${path}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if (expected === null) return actual === null ? null : `${path}: expected null`;
  if (!isEncodedTensor(expected)) throw new Error(`fixture: cannot compare with ${JSON.stringify(expected)}`);
  if (!(actual instanceof torch.Tensor)) return `${path}: expected a tensor, got ${String(actual)}`;
  if (actual.dtype !== expected.$tensor) return `${path}: dtype ${actual.dtype}, expected ${expected.$tensor}`;
  if (actual.shape.join() !== expected.shape.join()) return `${path}: shape [${actual.shape}], expected [${expected.shape}]`;
  const got = actual.toArray() as ArrayLike<number | bigint>;
  const want = decodeTensor(expected).toArray() as ArrayLike<number | bigint>;
  const float = torch.isFloatingDType(expected.$tensor);
  for (let i = 0; i < want.length; i++) {
    const [a, e] = [Number(got[i]!), Number(want[i]!)];
    const ok = float ? Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e) : a === e;
    if (!ok) return `${path}[flat ${i}]: got ${a}, expected ${e} (rtol ${tol.rtol}, atol ${tol.atol})`;
  }
  return null;
}

export const EXACT: Tolerance = { rtol: 0, atol: 0 };
// Same kernels on both sides; the slack covers summation order in reductions.
export const FORWARD_TOL: Tolerance = { rtol: 1e-5, atol: 1e-6 };

/**
 * Replays one fixture case: seeded construction (init must equal PyTorch's bit for bit), the
 * state dict's keys, shapes and dtypes, then forwards with the recorded weights and the buffers
 * after them.
 */
export function replayModuleCase(c: ModuleCase, build: () => Module): void {
  torch.scope(() => {
    torch.manualSeed(c.seed);
    const m = build();
    const sd = m.stateDict();
    expect([...sd].map(([k, t]) => [k, t.shape, t.dtype])).toEqual(c.keys);
    if (c.init) for (const [k, t] of c.init) expect(mismatch(sd.get(k), t, EXACT, `init ${k}`)).toBeNull();
    m.loadStateDict(decodeState(c.state ?? c.init ?? []));
    m.train(c.train);
    if (c.callSeed !== undefined) torch.manualSeed(c.callSeed);
    c.calls.forEach((call, i) => {
      const args = decode(call.args) as unknown[];
      const kwargs = decode(call.kwargs) as Record<string, unknown>;
      if (Object.keys(kwargs).length > 0) args.push(kwargs);
      const out = (m.call as (...a: unknown[]) => unknown)(...args);
      expect(mismatch(out, call.expected, c.tol ?? FORWARD_TOL, `call ${i}`)).toBeNull();
    });
    const after = m.stateDict();
    for (const [k, t] of c.buffersAfter) expect(mismatch(after.get(k), t, FORWARD_TOL, `after ${k}`)).toBeNull();
    m.dispose();
  });
}

