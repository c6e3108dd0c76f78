// Tensors from JavaScript data, and ranges whose dtype follows PyTorch's inference.
import type { DType, DeviceLike } from './dtype.js';
import type { Handle } from './handle.js';
import { wrap } from './memory.js';
import { native } from './native.js';
import type { Nested, Tensor, TensorOptions } from './tensor.js';

type TypedArray = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array;
export type TensorData = number | boolean | bigint | TypedArray | Nested<number> | Nested<boolean> | Nested<bigint>;

type DTypeOfData<T> = T extends Float32Array
  ? 'float32'
  : T extends Float64Array
    ? 'float64'
    : T extends Int32Array
      ? 'int32'
      : T extends BigInt64Array
        ? 'int64'
        : T extends Uint8Array
          ? 'uint8'
          : T extends boolean | Nested<boolean>
            ? 'bool'
            : T extends bigint | Nested<bigint>
              ? 'int64'
              : 'float32';

const NO_OPTIONS: TensorOptions<never> = Object.freeze({});

function isTypedArray(v: unknown): v is TypedArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

function inferShape(data: unknown, where: string): number[] {
  const shape: number[] = [];
  let cur = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) return shape; // no element to check
    cur = cur[0];
  }
  if (isTypedArray(cur)) shape.push(cur.length);
  else if (cur !== undefined && typeof cur !== 'number' && typeof cur !== 'boolean' && typeof cur !== 'bigint') {
    throw new TypeError(`${where}: expected numbers, booleans, nested arrays or typed arrays, got ${typeof cur}`);
  }
  return shape;
}

/**
 * The float64 staging buffer for `n` values. It is allocated here, outside libtorch's
 * allocator, so the allocation cap is applied first.
 */
function stagingBuffer(op: string, n: number): Float64Array {
  const bytes = n * Float64Array.BYTES_PER_ELEMENT;
  const cap = native.getAllocationCap();
  if (cap > 0 && bytes > cap) {
    throw new RangeError(`${op}: allocation of ${bytes} bytes exceeds the cap of ${cap} bytes (torch.setAllocationCap changes it)`);
  }
  try {
    return new Float64Array(n);
  } catch (e) {
    throw new RangeError(`${op}: cannot allocate ${n} values: ${(e as Error).message}`);
  }
}

/**
 * A new tensor holding a copy of `data`. JavaScript numbers give float32 (JS cannot tell `1.0`
 * from `1`, so PyTorch's int64 inference would turn `[1.0, 2.0]` into integers), bigints int64,
 * booleans bool, and a typed array its own type; `options.dtype` overrides.
 */
export function tensor<T extends TensorData, R extends DType = DTypeOfData<T>>(data: T, options: TensorOptions<R> = NO_OPTIONS): Tensor<R> {
  if (isTypedArray(data)) {
    // The common case stays lean: no options object for the binding to read.
    return wrap(native.fromTypedArray(data, [data.length], options === NO_OPTIONS ? undefined : options)) as Tensor<R>;
  }
  const shape = inferShape(data, 'tensor');
  const numel = shape.reduce((a, b) => a * b, 1);
  const flat = stagingBuffer('tensor', numel);
  let n = 0;
  let sawBigint = false;
  let allBool = true;
  let sawNumber = false;
  const visit = (v: unknown, d: number): void => {
    if (d === shape.length) {
      if (typeof v === 'boolean') {
        flat[n++] = v ? 1 : 0;
        return;
      }
      if (typeof v === 'bigint') {
        flat[n++] = Number(v);
        sawBigint = true;
        allBool = false;
        return;
      }
      if (typeof v !== 'number') throw new TypeError(`tensor: expected a number at depth ${d}, got ${Array.isArray(v) ? 'an array' : typeof v} (ragged nesting?)`);
      sawNumber = true;
      allBool = false;
      flat[n++] = v;
      return;
    }
    if (isTypedArray(v) && d === shape.length - 1) {
      if (v.length !== shape[d]) throw new RangeError(`tensor: ragged data: expected length ${shape[d]} at depth ${d}, got ${v.length}`);
      for (const x of Array.from(v as ArrayLike<number | bigint>)) visit(typeof x === "bigint" ? Number(x) : x, d + 1);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) {
      throw new RangeError(`tensor: ragged data: expected an array of length ${shape[d]} at depth ${d}, got ${Array.isArray(v) ? `length ${v.length}` : typeof v}`);
    }
    for (const x of v) visit(x, d + 1);
  };
  visit(data, 0);
  const inferred: DType = numel === 0 ? 'float32' : allBool && !sawNumber ? 'bool' : sawBigint && !sawNumber ? 'int64' : 'float32';
  const dtype = options.dtype ?? inferred;
  return wrap(native.fromTypedArray(flat, shape, { ...options, dtype })) as Tensor<R>;
}

export interface RangeOptions<D extends DType> extends TensorOptions<D> {}

/** Values from `start` to `end` (exclusive) by `step`; int64 when all three are integers, else float32. */
export function arange<R extends DType = DType>(end: number, options?: RangeOptions<R>): Tensor<R>;
export function arange<R extends DType = DType>(start: number, end: number, step?: number, options?: RangeOptions<R>): Tensor<R>;
export function arange(a: number, b?: number | RangeOptions<DType>, c?: number, d?: RangeOptions<DType>): Tensor {
  let start = 0;
  let end: number;
  let step = 1;
  let options: RangeOptions<DType> = {};
  if (typeof b === 'number') {
    start = a;
    end = b;
    step = c ?? 1;
    options = d ?? {};
  } else {
    end = a;
    options = b ?? {};
  }
  for (const [name, v] of [['start', start], ['end', end], ['step', step]] as const) {
    if (!Number.isFinite(v)) throw new RangeError(`arange: ${name} must be finite, got ${v}`);
  }
  if (step === 0) throw new RangeError('arange: step must be non-zero');
  const count = Math.max(0, Math.ceil((end - start) / step));
  const integral = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const dtype = options.dtype ?? (integral ? 'int64' : 'float32');
  const values = stagingBuffer('arange', count);
  for (let i = 0; i < count; i++) values[i] = start + i * step;
  return wrap(native.fromTypedArray(values, [count], { ...options, dtype }) as Handle);
}

export type { DeviceLike };
