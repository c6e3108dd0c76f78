import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { io, torch } from '../../src/index.js';
import { ExpectedTensors, FIXTURES, expectMatches, python, readJson, runPython, withTempDir } from './helpers.js';
import { z } from 'zod';

const { load, save, readHeader } = io.safetensors;
const FIXTURE = join(FIXTURES, 'all_dtypes.safetensors');
const expected = readJson(z.object({ metadata: z.record(z.string(), z.string()), tensors: ExpectedTensors }), 'all_dtypes.json');

describe('safetensors files written by Python', () => {
  it('load with identical dtypes, shapes, values and metadata', () => {
    const { tensors, metadata } = load(FIXTURE);
    expect(metadata).toEqual(expected.metadata);
    expect([...tensors.keys()].sort()).toEqual(Object.keys(expected.tensors).sort());
    for (const [name, t] of tensors) expectMatches(t, expected.tensors[name]!, expect);
  });

  it('load only the listed keys, and name a missing key', () => {
    const { tensors } = load(FIXTURE, { keys: ['bf16', 'i64'] });
    expect([...tensors.keys()]).toEqual(['bf16', 'i64']);
    expectMatches(tensors.get('i64')!, expected.tensors.i64!, expect);
    expect(() => load(FIXTURE, { keys: ['nope'] })).toThrow(/all_dtypes.safetensors': no tensor 'nope' \(the file has 13/);
  });

  it('convert on load (dtype option)', () => {
    const t = load(FIXTURE, { keys: ['f16'], dtype: 'float64' }).tensors.get('f16')!;
    expect(t.dtype).toBe('float64');
    expect(Array.from(t.toArray() as Float64Array)).toEqual(expected.tensors.f16!.values);
  });

  it('header offsets are absolute and tile the data section', () => {
    const h = readHeader(FIXTURE);
    const length = Number(readFileSync(FIXTURE).readBigUInt64LE(0));
    const first = Math.min(...[...h.tensors.values()].map((i) => i.offset));
    expect(first).toBe(8 + length);
  });
});

describe.skipIf(!python.exe)(`safetensors files written here load in Python${python.exe ? '' : ` (skipped: ${python.why})`}`, () => {
  it('a round trip of the Python fixture is equal in Python, metadata included', () => {
    withTempDir((dir) => {
      const out = join(dir, 'ours.safetensors');
      const { tensors, metadata } = load(FIXTURE);
      save(out, tensors, { metadata });
      const code = `
import sys, torch
from safetensors import safe_open
from safetensors.torch import load_file
a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
assert a.keys() == b.keys(), (a.keys(), b.keys())
for k in a:
    assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and torch.equal(a[k], b[k]), k
with safe_open(sys.argv[1], 'pt') as f, safe_open(sys.argv[2], 'pt') as g:
    assert f.metadata() == g.metadata(), (f.metadata(), g.metadata())
print(len(a))`;
      expect(runPython(['-c', code, FIXTURE, out]).trim()).toBe('13');
    });
  });

  it('non-contiguous tensors are written in row-major order', () => {
    withTempDir((dir) => {
      const out = join(dir, 't.safetensors');
      const x = torch.arange(6, { dtype: 'int32' }).reshape([2, 3]).t();
      save(out, { x });
      const code = `
import sys, json
from safetensors.numpy import load_file
print(json.dumps(load_file(sys.argv[1])['x'].tolist()))`;
      expect(JSON.parse(runPython(['-c', code, out]))).toEqual([[0, 3], [1, 4], [2, 5]]);
    });
  });
});

describe('writing', () => {
  it('pads the header with spaces to 8 bytes and aligns each tensor to its element size', () => {
    withTempDir((dir) => {
      const out = join(dir, 'a.safetensors');
      save(out, { b: torch.tensor([true]), d: torch.tensor(new Float64Array([1.5])), h: torch.tensor([1]).half() }, { metadata: { k: 'v' } });
      const bytes = readFileSync(out);
      const n = Number(bytes.readBigUInt64LE(0));
      expect(n % 8).toBe(0);
      const text = bytes.subarray(8, 8 + n).toString('utf8');
      expect(text).toMatch(/^\{.*\} *$/);
      const h = readHeader(out);
      for (const info of h.tensors.values()) expect((info.offset - 8 - n) % ({ float64: 8, float16: 2, bool: 1 } as Record<string, number>)[info.dtype]!).toBe(0);
      expect(h.metadata).toEqual({ k: 'v' });
      const back = load(out).tensors;
      expect(back.get('d')!.toArray()).toEqual(new Float64Array([1.5]));
      expect(back.get('b')!.dtype).toBe('bool');
    });
  });

  it('rejects a tensor named __metadata__ and non-string metadata', () => {
    withTempDir((dir) => {
      expect(() => save(join(dir, 'x'), { __metadata__: torch.tensor([1]) })).toThrow(/reserved/);
      expect(() => save(join(dir, 'x'), {}, { metadata: { a: 1 } as unknown as Record<string, string> })).toThrow();
    });
  });
});

/** A file from a header (object or raw text) and data bytes, optionally lying about the length. */
function craft(dir: string, header: unknown, data: Buffer, length?: bigint): string {
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(length ?? BigInt(text.length));
  const file = join(dir, 'bad.safetensors');
  writeFileSync(file, Buffer.concat([len, text, data]));
  return file;
}

describe('invalid files fail with the file and the field named', () => {
  const f32 = (offsets: [number, number], shape = [2]): unknown => ({ dtype: 'F32', shape, data_offsets: offsets });
  const cases: [string, (dir: string) => string, RegExp][] = [
    ['shorter than 8 bytes', (d) => (writeFileSync(join(d, 'bad.safetensors'), Buffer.alloc(5)), join(d, 'bad.safetensors')), /truncated: 5 bytes/],
    ['header length beyond the file', (d) => craft(d, { a: f32([0, 8]) }, Buffer.alloc(8), 1000n), /header length 1000 exceeds the \d+ bytes after it/],
    ['invalid JSON', (d) => craft(d, '{"a": [', Buffer.alloc(0)), /header is not valid JSON/],
    ['a JSON array header', (d) => craft(d, '[]', Buffer.alloc(0)), /header: expected a JSON object/],
    ['unknown dtype', (d) => craft(d, { a: { dtype: 'Q4', shape: [2], data_offsets: [0, 8] } }, Buffer.alloc(8)), /tensor 'a' field 'dtype': Invalid option/],
    ['negative shape', (d) => craft(d, { a: f32([0, 8], [-2]) }, Buffer.alloc(8)), /tensor 'a' field 'shape.0'/],
    ['a missing field', (d) => craft(d, { a: { dtype: 'F32', shape: [2] } }, Buffer.alloc(8)), /tensor 'a' field 'data_offsets'/],
    ['an unknown field', (d) => craft(d, { a: { ...(f32([0, 8]) as object), extra: 1 } }, Buffer.alloc(8)), /tensor 'a'.*extra/],
    ['non-string metadata', (d) => craft(d, { __metadata__: { n: 1 }, a: f32([0, 8]) }, Buffer.alloc(8)), /__metadata__ key 'n'/],
    ['offsets beyond the data (truncated)', (d) => craft(d, { a: f32([0, 8]) }, Buffer.alloc(4)), /tensor 'a' data_offsets \[0, 8\]: beyond the data section of 4 bytes/],
    ['end before begin', (d) => craft(d, { a: f32([8, 0]) }, Buffer.alloc(8)), /end before begin/],
    ['overlapping tensors', (d) => craft(d, { a: f32([0, 8]), b: f32([4, 12]) }, Buffer.alloc(12)), /tensor 'b' .*overlaps/],
    ['a gap', (d) => craft(d, { a: f32([0, 8]), b: f32([12, 20]) }, Buffer.alloc(20)), /tensor 'b' .*gap at bytes \[8, 12\)/],
    ['data not covered', (d) => craft(d, { a: f32([0, 8]) }, Buffer.alloc(12)), /cover 8 bytes of the 12-byte data section/],
    ['shape * itemsize != span', (d) => craft(d, { a: f32([0, 8], [3]) }, Buffer.alloc(8)), /shape \[3\] of F32 takes 12 bytes but the span is 8/],
  ];
  for (const [name, make, message] of cases) {
    it(name, () => {
      withTempDir((dir) => {
        const file = make(dir);
        expect(() => load(file)).toThrow(message);
        expect(() => load(file)).toThrow(`safetensors file '${file}'`);
      });
    });
  }

  it('a file truncated after validation fails in the native read, naming the file', () => {
    withTempDir((dir) => {
      const file = craft(dir, { a: f32([0, 8]) }, Buffer.alloc(8));
      const info = readHeader(file).tensors.get('a')!;
      writeFileSync(file, readFileSync(file).subarray(0, info.offset + 4));
      expect(() => io.safetensors.readTensor(file, info)).toThrow(/unexpected end of file in '.*bad.safetensors'/);
    });
  });
});
