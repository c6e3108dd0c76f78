// The Tensor class: generated op methods (TensorOps) plus metadata, data access, devices,
// autograd entry points and release.
import { inspect } from 'node:util';
import type { DType, DeviceLike, TypedArrayOf } from './dtype.js';
import { isDType } from './dtype.js';
import { TensorOps } from './generated/ops.js';
import type { Handle } from './handle.js';
import { registerTensorClass, wrap } from './memory.js';
import { native } from './native.js';

export interface TensorOptions<D extends DType = DType> {
  dtype?: D;
  device?: DeviceLike;
  requiresGrad?: boolean;
}

export interface BackwardOptions {
  retainGraph?: boolean;
  createGraph?: boolean;
  /** Accumulate gradients only into these tensors. */
  inputs?: readonly Tensor[];
}

/** One entry of {@link Tensor.get}: an index, a [start, end, step] slice, null (all), '...', 'newaxis' or an index tensor. */
export type IndexSpec = number | null | '...' | 'newaxis' | readonly [number | null, (number | null)?, number?] | Tensor;

export interface RemovableHandle {
  remove(): void;
}

export type Nested<T> = T | Nested<T>[];

export class Tensor<D extends DType = DType> extends TensorOps<D> {
  readonly _h: Handle;

  constructor(handle: Handle) {
    super();
    this._h = handle;
  }

  // ---- metadata -------------------------------------------------------------------------
  get shape(): number[] {
    return native.shape(this._h);
  }
  get dtype(): D {
    return native.dtype(this._h) as D;
  }
  get device(): string {
    return native.device(this._h);
  }
  get requiresGrad(): boolean {
    return native.autogradMeta(this._h)[0];
  }
  get isLeaf(): boolean {
    return native.autogradMeta(this._h)[1];
  }
  /** The name of the autograd node that made this tensor (e.g. 'AddBackward0'), or null. */
  get gradFn(): string | null {
    return native.autogradMeta(this._h)[2];
  }
  get numel(): number {
    return native.numel(this._h);
  }
  dim(): number {
    return native.dim(this._h);
  }
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number | number[] {
    return dim === undefined ? this.shape : native.size(this._h, dim);
  }
  get isDisposed(): boolean {
    return native.isDisposed(this._h);
  }

  // ---- data out -------------------------------------------------------------------------
  /** The single value of a one-element tensor. */
  item(): D extends 'bool' ? boolean : number {
    return native.item(this._h) as D extends 'bool' ? boolean : number;
  }
  /** A copy of the data, row-major (float16/bfloat16 as Float32Array, bool as Uint8Array, int64 as BigInt64Array). */
  toArray(): TypedArrayOf<D> {
    return native.toArray(this._h) as TypedArrayOf<D>;
  }
  /** The data as nested arrays of numbers (booleans for bool tensors). */
  toNested(): Nested<D extends 'bool' ? boolean : number> {
    const flat = this.toArray() as ArrayLike<number | bigint>;
    const isBool = this.dtype === 'bool';
    const shape = this.shape;
    const at = (i: number): number | boolean => (isBool ? flat[i] !== 0 : Number(flat[i]));
    if (shape.length === 0) return at(0) as never;
    let offset = 0;
    const build = (d: number): unknown[] => {
      const out: unknown[] = [];
      for (let i = 0; i < shape[d]!; i++) out.push(d === shape.length - 1 ? at(offset++) : build(d + 1));
      return out;
    };
    return build(0) as never;
  }

  // ---- dtype and device -----------------------------------------------------------------
  to<R extends DType>(dtype: R): Tensor<R>;
  to(device: DeviceLike): Tensor<D>;
  to<R extends DType = D>(options: { dtype?: R; device?: DeviceLike }): Tensor<R>;
  to(target: string | { dtype?: DType; device?: DeviceLike }): Tensor {
    if (typeof target === 'string') {
      return isDType(target) ? wrap(native.to_dtype(this._h, target) as Handle) : wrap(native.to_device(this._h, target) as Handle);
    }
    let t: Tensor = this;
    if (target.device !== undefined) t = t.to(target.device);
    if (target.dtype !== undefined) t = t.to(target.dtype);
    return t;
  }
  float(): Tensor<'float32'> {
    return this.to('float32');
  }
  double(): Tensor<'float64'> {
    return this.to('float64');
  }
  half(): Tensor<'float16'> {
    return this.to('float16');
  }
  long(): Tensor<'int64'> {
    return this.to('int64');
  }
  int(): Tensor<'int32'> {
    return this.to('int32');
  }
  bool(): Tensor<'bool'> {
    return this.to('bool');
  }
  cpu(): Tensor<D> {
    return this.to('cpu');
  }
  cuda(index = 0): Tensor<D> {
    return this.to(`cuda:${index}`);
  }

  // ---- indexing -------------------------------------------------------------------------
  /**
   * NumPy-style indexing: `x.get(0, null, [1, 5, 2], '...', idx)` is PyTorch's
   * `x[0, :, 1:5:2, ..., idx]`. Basic indices give views; index tensors gather.
   */
  get(...specs: IndexSpec[]): Tensor<D> {
    const ellipsis = specs.indexOf('...');
    if (ellipsis !== specs.lastIndexOf('...')) throw new RangeError('Tensor.get: at most one "..." is allowed');
    const consumes = (s: IndexSpec) => s !== 'newaxis' && s !== '...';
    const used = specs.filter(consumes).length;
    const nd = this.dim();
    if (used > nd) throw new RangeError(`Tensor.get: ${used} indices for a tensor of shape [${this.shape.join(', ')}]`);
    const expanded: IndexSpec[] = [];
    for (const s of specs) {
      if (s === '...') for (let i = 0; i < nd - used; i++) expanded.push(null);
      else expanded.push(s);
    }
    let t: Tensor = this;
    let dim = 0;
    const advanced: (Tensor | null)[] = [];
    for (const s of expanded) {
      if (s === null) {
        advanced.push(null);
        dim++;
      } else if (s === 'newaxis') {
        t = t.unsqueeze(dim);
        advanced.push(null);
        dim++;
      } else if (typeof s === 'number') {
        t = t.select(dim, s);
      } else if (s instanceof Tensor) {
        advanced.push(s);
        dim++;
      } else if (Array.isArray(s)) {
        const [start, end, step] = s as readonly [number | null, (number | null)?, number?];
        t = t.slice(dim, start ?? undefined, end ?? undefined, step ?? 1);
        advanced.push(null);
        dim++;
      } else {
        throw new TypeError(`Tensor.get: an index must be a number, null, '...', 'newaxis', a [start, end, step] slice or a Tensor, got ${inspect(s)}`);
      }
    }
    if (advanced.some((a) => a !== null)) t = t.index(advanced);
    return t as Tensor<D>;
  }

  // ---- autograd -------------------------------------------------------------------------
  get grad(): Tensor<D> | null {
    const g = native.getGrad(this._h);
    return g === null ? null : (wrap(g) as Tensor<D>);
  }
  set grad(value: Tensor | null) {
    native.setGrad(this._h, value === null ? null : value._h);
  }
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    native.backward(
      this._h,
      gradient?._h,
      options.retainGraph,
      options.createGraph,
      options.inputs?.map((t) => t._h),
    );
  }
  /** Keeps .grad on a non-leaf tensor after backward. */
  retainGrad(): this {
    native.retainGrad(this._h);
    return this;
  }
  /** `fn(grad)` runs when this tensor's gradient is computed; it may return a replacement. */
  registerHook(fn: (grad: Tensor<D>) => Tensor | void): RemovableHandle {
    const id = native.registerHook(this._h, (g: Handle) => {
      const r: unknown = fn(wrap(g) as Tensor<D>);
      // Anything but a Tensor or nothing reaches the native check, which rejects it by name.
      return (r instanceof Tensor ? r._h : r) as Handle | undefined;
    });
    return { remove: () => native.removeHook(this._h, id) };
  }

  // ---- release --------------------------------------------------------------------------
  /** Frees the native memory now. Later use of this tensor throws. Idempotent. */
  dispose(): void {
    native.dispose(this._h);
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- printing -------------------------------------------------------------------------
  override toString(): string {
    if (this.isDisposed) return 'Tensor(disposed)';
    const shape = this.shape;
    const numel = shape.reduce((a, b) => a * b, 1);
    const head = `Tensor(${this.dtype}, [${shape.join(', ')}]${this.device === 'cpu' ? '' : `, ${this.device}`}`;
    const gf = this.gradFn;
    const tail = gf ? `, gradFn=${gf})` : this.requiresGrad ? ', requiresGrad)' : ')';
    if (numel > 1000) return `${head}${tail}`;
    return `${head}${tail}\n${inspect(this.toNested(), { depth: null, breakLength: 100, maxArrayLength: 20 })}`;
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

registerTensorClass(Tensor);

