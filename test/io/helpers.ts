// Shared by the io tests: fixture values, temp dirs, and the venv Python with safetensors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { torchPython } from '../../scripts/python.mjs';
import type { Tensor } from '../../src/torch/index.js';

export const FIXTURES = new URL('../fixtures/io/', import.meta.url).pathname;

const ExpectedTensor = z.object({ dtype: z.string(), shape: z.array(z.number()), values: z.array(z.union([z.number(), z.string(), z.boolean()])) });
export type ExpectedTensor = z.infer<typeof ExpectedTensor>;
export const ExpectedTensors = z.record(z.string(), ExpectedTensor);

export function readJson<T>(schema: z.ZodType<T>, file: string): T {
  return schema.parse(JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')));
}

/** A tensor's values in the fixture JSON's encoding (int64 as strings, bool as booleans). */
export function jsonValues(t: Tensor): (number | string | boolean)[] {
  const flat = Array.from(t.toArray() as ArrayLike<number | bigint>);
  if (t.dtype === 'int64') return flat.map(String);
  if (t.dtype === 'bool') return flat.map((v) => v !== 0);
  return flat.map(Number);
}

export function expectMatches(t: Tensor, e: ExpectedTensor, expect: (v: unknown) => { toEqual(x: unknown): void }): void {
  expect({ dtype: t.dtype, shape: t.shape, values: jsonValues(t) }).toEqual(e);
}

/** Runs `fn` in a fresh temp directory, removed afterwards (after the promise, if one). */
export function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'prior-io-'));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  let result: T;
  try {
    result = fn(dir);
  } catch (e) {
    remove();
    throw e;
  }
  if (result instanceof Promise) return result.finally(remove) as T;
  remove();
  return result;
}

/** The venv Python when it has torch and safetensors; null (with the reason) when not. */
export const python: { exe: string | null; why: string } = (() => {
  const exe = torchPython();
  // find_spec, not import: importing torch costs seconds
  const r = spawnSync(exe, ['-c', "import importlib.util as u; assert u.find_spec('torch') and u.find_spec('safetensors')"], { encoding: 'utf8' });
  return r.status === 0 ? { exe, why: '' } : { exe: null, why: `no Python with torch and safetensors (${exe}: ${r.error?.message ?? r.stderr.trim()})` };
})();

/** Runs Python with these arguments (['-c', code, ...] or [script, ...]); returns stdout, throwing with stderr on failure. */
export function runPython(args: readonly string[]): string {
  if (!python.exe) throw new Error(python.why);
  const r = spawnSync(python.exe, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}
