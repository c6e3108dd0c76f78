// safetensors read and write (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__},
// then the raw little-endian bytes. Tensor bytes go straight between the file and tensor
// memory in native code (native/io.cpp): a file is read once, into the tensors that keep it.
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { z } from 'zod';
import type { DType, DeviceLike } from '../torch/dtype.js';
import type { Handle } from '../torch/handle.js';
import { wrap } from '../torch/memory.js';
import { native } from '../torch/native.js';
import type { Tensor } from '../torch/tensor.js';

/** safetensors dtype names and the project's dtypes, with their sizes in bytes. */
const DTYPES = {
  F64: { dtype: 'float64', size: 8 },
  F32: { dtype: 'float32', size: 4 },
  F16: { dtype: 'float16', size: 2 },
  BF16: { dtype: 'bfloat16', size: 2 },
  I64: { dtype: 'int64', size: 8 },
  I32: { dtype: 'int32', size: 4 },
  I16: { dtype: 'int16', size: 2 },
  I8: { dtype: 'int8', size: 1 },
  U8: { dtype: 'uint8', size: 1 },
  BOOL: { dtype: 'bool', size: 1 },
} as const satisfies Record<string, { dtype: DType; size: number }>;
export type SafetensorsDType = keyof typeof DTYPES;
const STDTYPE_NAMES = Object.keys(DTYPES) as SafetensorsDType[];
const STDTYPE_OF = Object.fromEntries(STDTYPE_NAMES.map((k) => [DTYPES[k].dtype, k])) as Record<DType, SafetensorsDType>;

/** The Python package refuses headers above 100 MB; so do we, before allocating one. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

const Offset = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const EntrySchema = z.strictObject({
  dtype: z.enum(STDTYPE_NAMES),
  shape: z.array(Offset),
  data_offsets: z.tuple([Offset, Offset]),
});
const MetadataSchema = z.record(z.string(), z.string());

/** One tensor's entry in a file's header. `offset` is absolute (from the start of the file). */
export interface TensorInfo {
  dtype: DType;
  shape: number[];
  offset: number;
  nbytes: number;
}

export interface SafetensorsHeader {
  /** Tensors in file order (by offset). */
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

export interface LoadOptions {
  /** Load only these keys (each must exist). Default: every tensor. */
  keys?: readonly string[];
  device?: DeviceLike;
  /** Convert every loaded tensor to this dtype. */
  dtype?: DType;
}

export interface SaveOptions {
  metadata?: Record<string, string>;
  /** fsync the file before closing (checkpoints want it). */
  fsync?: boolean;
}

export class SafetensorsError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`safetensors file '${file}': ${detail}`);
    this.name = 'SafetensorsError';
  }
}

function readExactly(fd: number, file: string, length: number, position: number, what: string): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new SafetensorsError(file, `truncated while reading the ${what}`);
    done += n;
  }
  return buf;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const [key, ...field] = issue.path.map(String);
  const where = key === undefined ? 'header' : key === METADATA_KEY ? `${METADATA_KEY}${field.length ? ` key '${field[0]}'` : ''}` : `tensor '${key}'${field.length ? ` field '${field.join('.')}'` : ''}`;
  return `${where}: ${issue.message}`;
}

/** Validates a parsed header against the file's data section and returns tensors by offset. */
function checkEntries(file: string, raw: Record<string, unknown>, dataStart: number, dataBytes: number): SafetensorsHeader {
  const { [METADATA_KEY]: rawMeta, ...rawTensors } = raw;
  const meta = MetadataSchema.safeParse(rawMeta ?? {});
  if (!meta.success) throw new SafetensorsError(file, describeIssue({ ...meta.error.issues[0]!, path: [METADATA_KEY, ...meta.error.issues[0]!.path] }));
  const entries: [string, z.infer<typeof EntrySchema>][] = [];
  for (const [name, value] of Object.entries(rawTensors)) {
    const e = EntrySchema.safeParse(value);
    if (!e.success) throw new SafetensorsError(file, describeIssue({ ...e.error.issues[0]!, path: [name, ...e.error.issues[0]!.path] }));
    entries.push([name, e.data]);
  }
  entries.sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1]);
  const tensors = new Map<string, TensorInfo>();
  let expected = 0; // tensors must tile the data section: each begins where the previous ended
  for (const [name, { dtype, shape, data_offsets: [begin, end] }] of entries) {
    const at = `tensor '${name}' data_offsets [${begin}, ${end}]`;
    if (end < begin) throw new SafetensorsError(file, `${at}: end before begin`);
    if (end > dataBytes) throw new SafetensorsError(file, `${at}: beyond the data section of ${dataBytes} bytes (truncated file?)`);
    if (begin < expected) throw new SafetensorsError(file, `${at}: overlaps the previous tensor, which ends at ${expected}`);
    if (begin > expected) throw new SafetensorsError(file, `${at}: leaves a gap at bytes [${expected}, ${begin}) (data not contiguous)`);
    const numel = shape.reduce((p, s) => p * s, 1);
    const nbytes = numel * DTYPES[dtype].size;
    if (nbytes !== end - begin) {
      throw new SafetensorsError(file, `${at}: shape [${shape.join(', ')}] of ${dtype} takes ${nbytes} bytes but the span is ${end - begin}`);
    }
    tensors.set(name, { dtype: DTYPES[dtype].dtype, shape, offset: dataStart + begin, nbytes });
    expected = end;
  }
  if (expected !== dataBytes) throw new SafetensorsError(file, `the tensors cover ${expected} bytes of the ${dataBytes}-byte data section`);
  return { tensors, metadata: meta.data };
}

/** Reads and validates a file's header only (no tensor data). */
export function readHeader(file: string): SafetensorsHeader {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw new SafetensorsError(file, `truncated: ${size} bytes, less than the 8-byte header length`);
    const length = readExactly(fd, file, 8, 0, 'header length').readBigUInt64LE(0);
    if (length > BigInt(size - 8)) throw new SafetensorsError(file, `header length ${length} exceeds the ${size - 8} bytes after it (truncated file?)`);
    if (length > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(file, `header length ${length} exceeds the limit of ${MAX_HEADER_BYTES}`);
    const n = Number(length);
    let raw: unknown;
    try {
      raw = JSON.parse(readExactly(fd, file, n, 8, 'header').toString('utf8'));
    } catch (e) {
      throw e instanceof SafetensorsError ? e : new SafetensorsError(file, `header is not valid JSON: ${(e as Error).message}`);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SafetensorsError(file, 'header: expected a JSON object');
    return checkEntries(file, raw as Record<string, unknown>, 8 + n, size - 8 - n);
  } finally {
    closeSync(fd);
  }
}

/** Reads one tensor described by `info` from `file` straight into a new tensor's memory. */
export function readTensor(file: string, info: TensorInfo, options: Omit<LoadOptions, 'keys'> = {}): Tensor {
  return wrap(native.readFileInto(file, info.offset, info.nbytes, info.shape, info.dtype, options) as Handle);
}

/**
 * Loads tensors (all, or `options.keys`) and the metadata. Each tensor's bytes are read once,
 * into its own memory; the file is not mapped or buffered whole.
 */
export function load(file: string, options: LoadOptions = {}): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const header = readHeader(file);
  const { keys, ...rest } = options;
  const names = keys ?? [...header.tensors.keys()];
  for (const k of names) {
    if (!header.tensors.has(k)) {
      const known = [...header.tensors.keys()];
      throw new SafetensorsError(file, `no tensor '${k}' (the file has ${known.length}: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''})`);
    }
  }
  const tensors = new Map<string, Tensor>();
  try {
    for (const k of names) tensors.set(k, readTensor(file, header.tensors.get(k)!, rest));
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw e;
  }
  return { tensors, metadata: header.metadata };
}

/** The JSON header, padded with spaces to a multiple of 8 bytes as the Python package does. */
function encodeHeader(entries: readonly [string, Tensor][], metadata: Record<string, string> | undefined): { header: Buffer; sizes: number[] } {
  const json: Record<string, unknown> = {};
  if (metadata !== undefined) json[METADATA_KEY] = MetadataSchema.parse(metadata);
  let offset = 0;
  const sizes: number[] = [];
  for (const [name, t] of entries) {
    const st = STDTYPE_OF[t.dtype];
    const nbytes = t.numel * DTYPES[st].size;
    json[name] = { dtype: st, shape: t.shape, data_offsets: [offset, offset + nbytes] };
    sizes.push(nbytes);
    offset += nbytes;
  }
  const text = Buffer.from(JSON.stringify(json), 'utf8');
  const padded = Math.ceil(text.length / 8) * 8;
  const header = Buffer.alloc(8 + padded, 0x20);
  header.writeBigUInt64LE(BigInt(padded), 0);
  text.copy(header, 8);
  return { header, sizes };
}

/**
 * Writes tensors to `file` (replacing it). Tensors are ordered by element size, largest first,
 * then by name, as the Python package orders them, so each one's offset is aligned to its
 * element size. Each tensor's bytes are written from its own memory (copied first only when
 * it is not contiguous or not on the CPU).
 */
export function save(file: string, tensors: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>, options: SaveOptions = {}): void {
  const entries = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))] as [string, Tensor][];
  for (const [name] of entries) {
    if (name === METADATA_KEY) throw new SafetensorsError(file, `'${METADATA_KEY}' is reserved and cannot name a tensor`);
  }
  const size = (t: Tensor): number => DTYPES[STDTYPE_OF[t.dtype]].size;
  entries.sort((a, b) => size(b[1]) - size(a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const { header, sizes } = encodeHeader(entries, options.metadata);
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, header);
    entries.forEach(([name, t], i) => {
      const n = native.writeTensorData(fd, t._h);
      if (n !== sizes[i]) throw new SafetensorsError(file, `tensor '${name}' wrote ${n} bytes, expected ${sizes[i]}`);
    });
    if (options.fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
