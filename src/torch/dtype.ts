// Element types and devices, as names (PyTorch's dtype names without the `torch.` prefix).

export const DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'] as const;
export type DType = (typeof DTYPES)[number];
export type FloatDType = 'float32' | 'float64' | 'float16' | 'bfloat16';
export type IntDType = 'int64' | 'int32' | 'int16' | 'int8' | 'uint8';

/** A device name: 'cpu', 'cuda' or 'cuda:N'. */
export type DeviceLike = 'cpu' | 'cuda' | `cuda:${number}`;

/** The dtype of a true division or a transcendental function: integers become float32. */
export type FloatOf<D extends DType> = D extends FloatDType ? D : 'float32';

/** The dtype of a sum or product: integers and bool accumulate in int64, floats keep theirs. */
export type SumOf<D extends DType> = D extends FloatDType ? D : 'int64';

type Rank = { bool: 0; uint8: 1; int8: 1; int16: 2; int32: 3; int64: 4; float16: 5; bfloat16: 5; float32: 6; float64: 7 };

/**
 * PyTorch's type promotion between two tensor dtypes (both operands dimensioned): the higher
 * category wins; float16 with bfloat16 gives float32, uint8 with int8 gives int16.
 */
export type Promote<A extends DType, B extends DType> = A extends B
  ? A
  : [A, B] extends ['float16', 'bfloat16'] | ['bfloat16', 'float16']
    ? 'float32'
    : [A, B] extends ['uint8', 'int8'] | ['int8', 'uint8']
      ? 'int16'
      : Rank[A] extends Rank[B]
        ? A
        : GreaterRank<A, B>;

type GreaterRank<A extends DType, B extends DType> =
  [Rank[A], Rank[B]] extends [infer RA extends number, infer RB extends number] ? (Gt<RA, RB> extends true ? A : B) : DType;

type Range<N extends number, Acc extends unknown[] = []> = Acc['length'] extends N ? Acc : Range<N, [...Acc, unknown]>;
type Gt<A extends number, B extends number> = Range<A> extends [...Range<B>, ...infer Rest] ? (Rest extends [] ? false : true) : false;

export function isDType(v: unknown): v is DType {
  return typeof v === 'string' && (DTYPES as readonly string[]).includes(v);
}

export function isFloatingDType(d: DType): d is FloatDType {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

/** The typed array that {@link Tensor.toArray} returns for a dtype. */
export type TypedArrayOf<D extends DType> = D extends 'float64'
  ? Float64Array
  : D extends FloatDType
    ? Float32Array
    : D extends 'int64'
      ? BigInt64Array
      : D extends 'int32'
        ? Int32Array
        : D extends 'int16'
          ? Int16Array
          : D extends 'int8'
            ? Int8Array
            : Uint8Array;
