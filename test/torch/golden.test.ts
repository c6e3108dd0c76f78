// Golden-fixture tests: every case in test/fixtures/golden/*.json (made from PyTorch by
// scripts/gen_fixtures.py, `npm run fixtures`) is replayed through our API and its result
// compared with PyTorch's: exact dtype and shape, integers and booleans exactly, floats within
// a tolerance for the dtype (or the case's own, where our side composes the op differently).
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as torch from '../../src/torch/index.js';
import type { DType, Tensor } from '../../src/torch/index.js';

interface EncodedTensor {
  $tensor: DType;
  shape: number[];
  /** base64 of the raw little-endian element bytes (bool: one byte each). */
  data: string;
}
type Encoded = null | boolean | number | string | EncodedTensor | { $float: 'nan' | 'inf' | '-inf' } | Encoded[] | { [key: string]: Encoded };

interface Tolerance {
  rtol: number;
  atol: number;
}

interface GoldenCase {
  id: string;
  /** A Tensor method called on args[0], or a function of the `torch` namespace. */
  call: { kind: 'method' | 'function'; name: string };
  args: Encoded[];
  /** The trailing options object (keyword-only args), when the call has one. */
  kwargs?: { [key: string]: Encoded };
  /** torch.manualSeed(seed) right before the call: random ops must reproduce PyTorch's stream. */
  seed?: number;
  expected: Encoded;
  /** Expected values of positional args the call updates in place (by index). */
  mutated?: { [index: string]: Encoded };
  tol?: Tolerance;
}

interface GoldenFile {
  torch: string;
  cases: GoldenCase[];
}

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'golden');

// Same kernels on both sides, so most results agree to the last bit or two; the slack covers
// different thread counts (summation order) in reductions.
const DEFAULT_TOL: Partial<Record<DType, Tolerance>> = {
  float32: { rtol: 1e-5, atol: 1e-6 },
  float64: { rtol: 1e-12, atol: 1e-12 },
};

// Cases that cannot match, with the reason; they run as `it.fails` so a fix is noticed.
const KNOWN_FAILURES: Record<string, string> = {};

type TypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
const ARRAY_OF: Partial<Record<DType, new (buffer: ArrayBuffer) => TypedArray>> = {
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

function isObject(v: Encoded): v is { [key: string]: Encoded } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isEncodedTensor(v: Encoded): v is EncodedTensor {
  return isObject(v) && '$tensor' in v;
}

function rawValues(e: EncodedTensor): TypedArray {
  const ctor = ARRAY_OF[e.$tensor];
  if (!ctor) throw new Error(`golden: no typed array for dtype ${e.$tensor}`);
  // A fresh, aligned buffer (Buffer.from may hand out an unaligned slice of its pool).
  const bytes = Uint8Array.from(Buffer.from(e.data, 'base64'));
  return new ctor(bytes.buffer);
}

const FLOAT_SPECIAL = { nan: NaN, inf: Infinity, '-inf': -Infinity } as const;

/** Fixture JSON to call arguments: tensors rebuilt bit-exactly, containers recursively. */
function decode(v: Encoded): unknown {
  if (Array.isArray(v)) return v.map(decode);
  if (!isObject(v)) return v;
  if (isEncodedTensor(v)) return torch.tensor(rawValues(v), { dtype: v.$tensor }).reshape(v.shape);
  if ('$float' in v) return FLOAT_SPECIAL[v.$float as keyof typeof FLOAT_SPECIAL];
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]));
}

/** The case's call through our API: positional args, then the options object if any. */
function invoke(c: GoldenCase, args: readonly unknown[]): unknown {
  const all = c.kwargs ? [...args, decode(c.kwargs)] : [...args];
  const [self, rest] = c.call.kind === 'method' ? [all[0], all.slice(1)] : [torch, all];
  if (c.call.kind === 'method' && !(self instanceof torch.Tensor)) throw new TypeError(`${c.id}: a method call needs a tensor first`);
  const fn: unknown = (self as Record<string, unknown>)[c.call.name];
  if (typeof fn !== 'function') throw new TypeError(`${c.id}: no ${c.call.kind} named ${c.call.name}`);
  return (fn as (...a: unknown[]) => unknown).apply(self, rest);
}

function close(a: number, e: number, tol: Tolerance): boolean {
  if (Number.isNaN(e)) return Number.isNaN(a);
  if (!Number.isFinite(e)) return a === e;
  return Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e);
}

/** The first difference between a tensor and its expected encoding, or null. */
function tensorMismatch(actual: Tensor, expected: EncodedTensor, tol: Tolerance | undefined, path: string): string | null {
  if (actual.dtype !== expected.$tensor) return `${path}: dtype ${actual.dtype}, expected ${expected.$tensor}`;
  if (actual.shape.join() !== expected.shape.join()) return `${path}: shape [${actual.shape}], expected [${expected.shape}]`;
  const got = actual.toArray() as ArrayLike<number | bigint>;
  const want = rawValues(expected) as ArrayLike<number | bigint>;
  // Integers and booleans exactly, whatever the case's tolerance.
  const t = torch.isFloatingDType(expected.$tensor) ? (tol ?? DEFAULT_TOL[expected.$tensor]) : undefined;
  for (let i = 0; i < want.length; i++) {
    const [a, e] = [got[i]!, want[i]!];
    const ok = t ? close(Number(a), Number(e), t) : a === e;
    if (!ok) return `${path}[flat ${i}]: got ${a}, expected ${e}${t ? ` (rtol ${t.rtol}, atol ${t.atol})` : ' exactly'}`;
  }
  return null;
}

/** Compares any result (tensor, list/tuple of them, null, number, boolean) with its encoding. */
function mismatch(actual: unknown, expected: Encoded, tol: Tolerance | undefined, path: string): string | null {
  if (isEncodedTensor(expected)) {
    return actual instanceof torch.Tensor ? tensorMismatch(actual, expected, tol, path) : `${path}: expected a tensor, got ${String(actual)}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return `${path}: expected a list of ${expected.length}, got ${String(actual)}`;
    for (let i = 0; i < expected.length; i++) {
      const m = mismatch(actual[i], expected[i]!, tol, `${path}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if (typeof expected === 'number') {
    return typeof actual === 'number' && close(actual, expected, tol ?? DEFAULT_TOL.float64!) ? null : `${path}: got ${String(actual)}, expected ${expected}`;
  }
  return actual === expected ? null : `${path}: got ${String(actual)}, expected ${JSON.stringify(expected)}`;
}

function runCase(c: GoldenCase): void {
  torch.scope(() => {
    const args = c.args.map(decode);
    if (c.seed !== undefined) torch.manualSeed(c.seed);
    const result = invoke(c, args);
    expect(mismatch(result, c.expected, c.tol, 'result')).toBeNull();
    for (const [index, want] of Object.entries(c.mutated ?? {})) {
      expect(mismatch(args[Number(index)], want, c.tol, `args[${index}] after the call`)).toBeNull();
    }
  });
}

const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort();

it('finds the golden fixtures (run `npm run fixtures` to make them)', () => {
  expect(files.length).toBeGreaterThan(0);
});

for (const file of files) {
  const { torch: version, cases } = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as GoldenFile;
  describe(`golden ${file} (PyTorch ${version})`, () => {
    for (const c of cases) {
      const reason = KNOWN_FAILURES[c.id];
      (reason ? it.fails : it)(c.id, () => runCase(c));
    }
  });
}
