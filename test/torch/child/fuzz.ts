// Child of errors.test.ts: seeded random bad calls across the API. Every op of the op table is
// called with values generated from its schema (random shapes, dtypes, dims and indices, most
// well typed so that libtorch itself judges them; some of the wrong JS type), plus hand-written
// calls into the TypeScript layer. Each call is printed as a JSON line before it runs and its
// outcome after, so a crash (segfault, abort) is pinned to the call printed last.
// Usage: fuzz.ts <seed> <count>.
import { inspect } from 'node:util';
import * as torch from '../../../src/torch/index.js';
import type { OpArgInfo, OpInfo } from '../../../src/torch/generated/op-table.js';
import { native } from '../../../src/torch/native.js';

/** What a call threw: the class name, whether it is an Error, its `code` and message. */
export interface Thrown {
  name: string;
  isError: boolean;
  code: string | null;
  message: string;
}

/** A line of the child's output. */
export type FuzzLine =
  | { kind: 'call'; i: number; call: string; names: readonly string[] }
  | { kind: 'outcome'; i: number; ms: number; threw: Thrown | null };

type Fn = (...args: unknown[]) => unknown;

interface Call {
  /** The prefixes ("<name>:") an error message may start with. */
  names: readonly string[];
  text: string;
  run: () => unknown;
}

// ---- seeded randomness -----------------------------------------------------------------
class Gen {
  constructor(private state: number) {}
  /** mulberry32: small, fast and good enough to pick cases. */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
}

// ---- values ------------------------------------------------------------------------------
const DTYPES = ['float32', 'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int64', 'int32', 'uint8', 'bool'] as const;
type FuzzDType = (typeof DTYPES)[number];

/** Huge and sparse: a converter that sizes a buffer by `length` before reading would blow up. */
const sparseHuge: unknown[] = [];
sparseHuge.length = 2 ** 32 - 1;

/** Nested a million times: describing it for an error message once overflowed the C++ stack. */
let deeplyNested: unknown[] = [];
for (let i = 0; i < 1_000_000; i++) deeplyNested = [deeplyNested];

/** Values of the wrong JS kind for any argument. */
const WRONG_KIND: readonly unknown[] = [undefined, null, 'x', '', {}, { _h: 1 }, [], [[1]], true, 1n, () => 0, Symbol('s'), deeplyNested];
const BAD_INTS: readonly unknown[] = [NaN, Infinity, -Infinity, 1e20, -1e20, 2 ** 53, 2 ** 31, -(2 ** 31) - 1, 2 ** 62, 2.5, -0.5, '1'];
const FLOATS: readonly number[] = [0, 0.5, -1, 1e-12, 3, NaN, Infinity, -Infinity, 1e308, -1e308];
const SCALARS: readonly unknown[] = [0, 1, -1, 2.5, NaN, Infinity, -Infinity, 1e300, true, false, 2 ** 53];
const STRINGS: Readonly<Record<string, readonly string[]>> = {
  equation: ['ij,jk->ik', 'i,i->', 'bij,bjk->bik', 'ii->i', '...ij->...ji', 'ij->', '->', 'i,j,k,l->ijkl', 'ab,ab->', 'i->ii', 'A,B->AB', ',->', '', '...', 'i....->i', 'z'.repeat(60)],
  mode: ['constant', 'reflect', 'replicate', 'circular', 'bogus'],
  approximate: ['none', 'tanh', 'exact'],
  rounding_mode: ['trunc', 'floor', 'ceil'],
};
const DTYPE_NAMES: readonly unknown[] = [...DTYPES, 'int16', 'int8', 'float128', 'Float32', '', 'complex64', 5];
const DEVICES: readonly unknown[] = ['cpu', 'cpu', 'meta', 'cuda', 'cuda:0', 'cuda:99', 'cuda:-1', 'cpu:0', 'mps', 'tpu', '', 7];
const REDUCTIONS: readonly unknown[] = ['mean', 'sum', 'none', 'batchmean', '', 3];

class Values {
  /** Shape and dtype most tensors of one call share, so that many calls pass the JS checks. */
  private shape: number[];
  private dtype: FuzzDType;

  constructor(private g: Gen) {
    this.shape = this.randomShape();
    this.dtype = g.pick(DTYPES);
  }

  private randomShape(): number[] {
    return Array.from({ length: this.g.int(0, 4) }, () => this.g.pick([0, 1, 1, 2, 2, 3, 4]));
  }

  tensor(): torch.Tensor {
    const g = this.g;
    const shape = g.chance(0.6) ? this.shape : this.randomShape();
    const dtype = g.chance(0.6) ? this.dtype : g.pick(DTYPES);
    if (g.chance(0.05)) return torch.empty(shape, { dtype, device: 'meta' as torch.DeviceLike });
    // Values in [-5, 5): negative and out-of-range entries for index tensors.
    let t: torch.Tensor = torch.rand(shape).mul(10).sub(5).to(dtype);
    if (g.chance(0.1) && t.dim() >= 2) t = t.transpose(0, 1);
    if (g.chance(0.05)) t = t.get('newaxis').expand(2, ...t.shape);
    if (g.chance(0.15) && (dtype === 'float32' || dtype === 'float64')) t.requiresGrad_();
    if (g.chance(0.03)) t.dispose();
    return t;
  }

  int(): unknown {
    return this.g.chance(0.1) ? this.g.pick([...BAD_INTS, ...WRONG_KIND]) : this.g.int(-3, 4);
  }

  /** A list of `elem` values (`fixed` long when given), now and then of the wrong kind. */
  private list(elem: string, fixed: number, name: string): unknown {
    const g = this.g;
    if (g.chance(0.08)) return g.pick(WRONG_KIND);
    // int[] and int[N] also accept one integer.
    if (elem === 'int' && g.chance(0.15)) return this.int();
    const n = fixed > 0 && g.chance(0.7) ? fixed : g.int(0, 4);
    const item = elem === 'int' ? () => (g.chance(0.08) ? g.pick(BAD_INTS) : g.int(-2, 4)) : () => this.forType(elem, name);
    return Array.from({ length: n }, item);
  }

  /** A value for an argument of schema type `type` (see the header of src/torch/ops.def). */
  forType(type: string, name: string): unknown {
    const g = this.g;
    if (type.endsWith('?') && g.chance(0.2)) return g.pick([undefined, null]);
    const base = type.replace(/\?$/, '').replace('int...', 'int[]');
    const list = /^(.+)\[(\d*)\]$/.exec(base);
    if (list) return this.list(list[1]!, Number(list[2] || 0), name);
    if (g.chance(0.06)) return g.pick(WRONG_KIND);
    switch (base) {
      case 'Tensor':
        return g.chance(0.92) ? this.tensor() : g.pick(WRONG_KIND);
      case 'Tensor|Scalar':
        return g.chance(0.5) ? this.tensor() : g.pick(SCALARS);
      case 'Scalar':
        return g.pick(SCALARS);
      case 'int':
        return this.int();
      case 'float':
        return g.pick(FLOATS);
      case 'bool':
        return g.chance(0.9) ? g.chance(0.5) : g.pick(WRONG_KIND);
      case 'str':
        return g.chance(0.85) && STRINGS[name] ? g.pick(STRINGS[name]!) : g.pick(['', 'x', 'ij->', '\u0000', 'é'.repeat(100)]);
      case 'ScalarType':
        return g.pick(DTYPE_NAMES);
      case 'Device':
        return g.pick(DEVICES);
      case 'Reduction':
        return g.pick(REDUCTIONS);
      case 'TensorOptions':
        return g.chance(0.1)
          ? g.pick(['float32', 3, [], { dtype: 3 }, { requiresGrad: 'yes' }, { device: 0 }])
          : { dtype: g.chance(0.5) ? g.pick(DTYPE_NAMES) : undefined, device: g.chance(0.3) ? g.pick(DEVICES) : undefined, requiresGrad: g.chance(0.2) };
      default:
        throw new Error(`fuzz: no generator for argument type '${type}'`);
    }
  }
}

// ---- rendering ---------------------------------------------------------------------------
function show(v: unknown, depth = 0): string {
  if (v instanceof torch.Tensor) {
    if (v.isDisposed) return 'Tensor(disposed)';
    const dev = v.device === 'cpu' ? '' : ` ${v.device}`;
    return `Tensor(${v.dtype}[${v.shape.join(', ')}]${dev}${v.requiresGrad ? ' grad' : ''})`;
  }
  if (Array.isArray(v)) {
    if (depth >= 3) return '[...]';
    return v.length > 16 ? `Array(length ${v.length})` : `[${v.map((x) => show(x, depth + 1)).join(', ')}]`;
  }
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol' || typeof v === 'function') return typeof v;
  if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v) && depth < 3) {
    return `{${Object.entries(v).map(([k, x]) => `${k}: ${show(x, depth + 1)}`).join(', ')}}`;
  }
  return inspect(v);
}

function loose(f: unknown, what: string): Fn {
  if (typeof f !== 'function') throw new Error(`fuzz: ${what} is not a function`);
  return f as Fn;
}

const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

// ---- calls from the op table ---------------------------------------------------------------
function opCall(g: Gen, op: OpInfo): Call {
  const vals = new Values(g);
  const tsName = op.name.split('.')[0]!;
  const names = [op.native, tsName, `${op.native}_`];
  const positional = op.args.filter((a) => !a.kwOnly);
  const keyword = op.args.filter((a) => a.kwOnly);
  const args = positional.map((a) => vals.forType(a.type, a.name));
  // Trailing optional arguments are often left out, as a caller would.
  while (args.length > 0 && positional[args.length - 1]!.default !== null && g.chance(0.3)) args.pop();

  if (op.hidden) {
    // No public form: the binding itself, with keyword-only arguments in their positions.
    const all = [...args, ...keyword.map((a) => vals.forType(a.type, a.name))];
    return { names, text: `native.${op.native}(${all.map((v) => show(v)).join(', ')})`, run: () => loose(native[op.native as keyof typeof native], op.native)(...all) };
  }
  if (keyword.length > 0 && g.chance(0.6)) args.push(optionsFor(vals, g, keyword));
  // `int...` accepts rest arguments or one list: spread it sometimes.
  const restAt = positional.findIndex((a) => a.type === 'int...');
  if (restAt >= 0 && Array.isArray(args[restAt]) && (args[restAt] as unknown[]).length < 8 && g.chance(0.5)) {
    args.splice(restAt, 1, ...(args[restAt] as unknown[]));
  }
  // A method needs a real tensor as `this`; wrong kinds for `self` go through the function form.
  if (!op.function && !(args[0] instanceof torch.Tensor)) args[0] = vals.tensor();
  const self = args[0];
  if (op.method && self instanceof torch.Tensor && (!op.function || g.chance(0.5))) {
    const name = op.inplace && g.chance(0.3) ? `${tsName}_` : tsName;
    const method = loose((torch.Tensor.prototype as unknown as Record<string, unknown>)[name], `Tensor.${name}`);
    const rest = args.slice(1);
    return { names, text: `${show(self)}.${name}(${rest.map((v) => show(v)).join(', ')})`, run: () => method.apply(self, rest) };
  }
  const fn = loose((torch as unknown as Record<string, unknown>)[tsName], `torch.${tsName}`);
  return { names, text: `torch.${tsName}(${args.map((v) => show(v)).join(', ')})`, run: () => fn(...args) };
}

function optionsFor(vals: Values, g: Gen, keyword: readonly OpArgInfo[]): unknown {
  const out: Record<string, unknown> = {};
  for (const a of keyword) {
    if (!g.chance(0.6)) continue;
    const v = vals.forType(a.type, a.name);
    // TensorOptions fields sit in the options object itself.
    if (a.type === 'TensorOptions') {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
      Object.assign(out, v);
    } else {
      out[camel(a.name)] = v;
    }
  }
  if (g.chance(0.05)) out.notAnOption = 1;
  return out;
}

// ---- hand-written calls into the TypeScript layer --------------------------------------------
type Extra = (g: Gen, v: Values) => Call;

const extras: Extra[] = [
  (g) => {
    const data = g.pick<unknown>(['abc', {}, [[1, 2], [3]], [1, 'a'], [NaN, Infinity], [[[]]], [1n, 2], [true, 2], undefined, null, new Float32Array(3), [[1], 2]]);
    const options = g.chance(0.5) ? { dtype: g.pick(DTYPE_NAMES), device: g.pick(DEVICES) } : undefined;
    return { names: ['tensor'], text: `torch.tensor(${show(data)}, ${show(options)})`, run: () => loose(torch.tensor, 'tensor')(data, options) };
  },
  (g) => {
    const nums = [0, 1, -1, 2.5, NaN, Infinity, 1e12, 2 ** 53, -5, 0.1];
    const args = Array.from({ length: g.int(1, 3) }, () => g.pick(nums));
    return { names: ['arange'], text: `torch.arange(${args.join(', ')})`, run: () => loose(torch.arange, 'arange')(...args) };
  },
  (g, v) => {
    const t = v.tensor();
    const which = g.pick(['item', 'toArray', 'toNested', 'shape', 'size', 'dim', 'numel', 'toString'] as const);
    const dim = v.int();
    const run = (): unknown => {
      switch (which) {
        case 'shape':
        case 'numel':
          return t[which];
        case 'size':
          return loose(t.size, 'size').call(t, dim);
        default:
          return t[which]();
      }
    };
    return { names: [which, 'item', 'toArray', 'numel'], text: `${show(t)}.${which}(${which === 'size' ? show(dim) : ''})`, run };
  },
  (g, v) => {
    const t = v.tensor();
    const specs = Array.from({ length: g.int(1, 4) }, () =>
      g.pick<unknown>([0, -1, 7, null, '...', 'newaxis', [1, 3], [null, null, 2], [0, 4, 0], [0, 1, -1], v.tensor(), NaN, 'x', {}]),
    );
    return {
      names: ['Tensor.get', 'dim', 'select', 'slice', 'index', 'unsqueeze'],
      text: `${show(t)}.get(${specs.map((s) => show(s)).join(', ')})`,
      run: () => loose(t.get, 'get').apply(t, specs),
    };
  },
  (g, v) => {
    const t = v.tensor();
    const target = g.pick<unknown>([...DTYPE_NAMES, ...DEVICES, { dtype: 'float64', device: 'meta' }, { dtype: 'x' }]);
    return { names: ['to_dtype', 'to_device'], text: `${show(t)}.to(${show(target)})`, run: () => loose(t.to, 'to').call(t, target) };
  },
  (g, v) => {
    const t = v.tensor();
    const gradient = g.chance(0.5) ? v.tensor() : undefined;
    const options = g.pick<unknown>([undefined, { retainGraph: true }, { inputs: [t] }, { inputs: [] }, { createGraph: 'yes' }]);
    const twice = g.chance(0.3);
    const run = (): unknown => {
      const y = t.dtype === 'float32' || t.dtype === 'float64' ? t.mul(2).sum() : t;
      y.backward(gradient, options as torch.BackwardOptions);
      if (twice) y.backward(gradient, options as torch.BackwardOptions);
      return t.grad;
    };
    return { names: ['backward', 'dtype', 'mul', 'sum'], text: `${show(t)}.mul(2).sum().backward(${show(gradient)}, ${show(options)})${twice ? ' twice' : ''}`, run };
  },
  (g, v) => {
    // A hook that breaks its contract (throws, returns a wrong value or gradient) or edits the
    // hooks and graph it runs in.
    const x = torch.rand(3, 2).requiresGrad_();
    const kind = g.pick(['throws', 'number', 'wrong shape', 'disposed', 'int', 'removes itself', 'adds hooks', 'recurses'] as const);
    const replacement = v.tensor();
    let handle: torch.RemovableHandle | undefined;
    let loss: torch.Tensor | undefined;
    const hook = (grad: torch.Tensor): torch.Tensor | void => {
      if (kind === 'throws') throw new RangeError('userHook: deliberate failure');
      // Removing itself while it runs destroyed the running closure (a segfault, now fixed).
      if (kind === 'removes itself') return handle!.remove();
      if (kind === 'adds hooks') {
        for (let k = 0; k < 20; k++) x.registerHook((g2) => g2.mul(2));
        return;
      }
      // Backward from inside backward, without end: libtorch's depth limit must stop it.
      if (kind === 'recurses') return loss!.backward(undefined, { retainGraph: true });
      if (kind === 'number') return 5 as unknown as torch.Tensor;
      if (kind === 'disposed') {
        const d = grad.clone();
        d.dispose();
        return d;
      }
      return kind === 'int' ? grad.long() : replacement;
    };
    return {
      names: ['backward', 'userHook', 'registerHook', 'clone', 'to_dtype'],
      text: `hook(${kind}${kind === 'wrong shape' ? ` ${show(replacement)}` : ''}) on Tensor(float32[3, 2] grad), then backward`,
      run: () => {
        handle = x.registerHook(hook);
        loss = x.mul(x).sum();
        loss.backward(undefined, { retainGraph: true });
        return x.grad;
      },
    };
  },
  (g, v) => {
    // A custom function whose backward breaks its contract.
    const kind = g.pick(['throws', 'too many', 'too few', 'wrong shape', 'not a tensor', 'wrong dtype'] as const);
    const other = v.tensor();
    const fn = torch.defineFunction('Fuzzed', {
      forward: (_ctx, a: torch.Tensor) => a.mul(2),
      backward: (_ctx, grad) => {
        if (kind === 'throws') throw new TypeError('userBackward: deliberate failure');
        if (kind === 'too many') return [grad, grad];
        if (kind === 'too few') return [];
        if (kind === 'not a tensor') return 'grad' as unknown as torch.Tensor;
        if (kind === 'wrong dtype') return grad === null ? null : grad.long();
        return other;
      },
    });
    const x = torch.rand(2, 3).requiresGrad_();
    return {
      names: ['backward', 'userBackward', 'Function.apply', 'to_dtype'],
      text: `defineFunction backward (${kind}${kind === 'wrong shape' ? ` ${show(other)}` : ''}), then backward`,
      run: () => {
        fn(x).sum().backward();
        return x.grad;
      },
    };
  },
  (g, v) => {
    const outputs = g.chance(0.7) ? [v.tensor()] : g.pick(WRONG_KIND);
    const inputs = g.chance(0.7) ? [v.tensor()] : g.pick(WRONG_KIND);
    const options = g.pick<unknown>([undefined, { allowUnused: true }, { gradOutputs: [null] }, { gradOutputs: [v.tensor()] }]);
    return {
      names: ['autograd.grad'],
      text: `torch.autograd.grad(${show(outputs)}, ${show(inputs)}, ${show(options)})`,
      run: () => loose(torch.autograd.grad, 'grad')(outputs, inputs, options),
    };
  },
  (g) => {
    const which = g.pick(['setNumThreads', 'manualSeed', 'cudaSynchronize', 'setAllocationCap'] as const);
    const arg = g.pick<unknown>([...BAD_INTS, ...WRONG_KIND, -1, 0]);
    const run = (): unknown => {
      if (which === 'cudaSynchronize') return loose(torch.cuda.synchronize, which)(arg);
      if (which !== 'setAllocationCap') return loose(torch[which], which)(arg);
      const cap = torch.getAllocationCap();
      try {
        return loose(torch.setAllocationCap, which)(arg);
      } finally {
        torch.setAllocationCap(cap);
      }
    };
    return { names: [which], text: `torch.${which === 'cudaSynchronize' ? 'cuda.synchronize' : which}(${show(arg)})`, run };
  },
  (g, v) => {
    // Straight into the binding (the TS layer would first map over all 2^32 - 1 slots).
    const t = v.tensor();
    const [name, args] = g.pick<[keyof typeof native, unknown[]]>([
      ['zeros', [sparseHuge]],
      ['cat', [sparseHuge]],
      ['index', [t._h, sparseHuge]],
      ['pad', [t._h, sparseHuge]],
      ['autogradGrad', [[t._h], [t._h], sparseHuge]],
      ['fromTypedArray', [new Float32Array(1), sparseHuge]],
    ]);
    const shown = args.map((a) => (a === sparseHuge ? 'Array(length 4294967295)' : a === t._h ? show(t) : show(a)));
    return { names: [name === 'autogradGrad' ? 'autograd.grad' : name === 'fromTypedArray' ? 'tensor' : name], text: `native.${name}(${shown.join(', ')})`, run: () => loose(native[name], name)(...args) };
  },
  (g) => {
    const data = g.pick<unknown>([new Float32Array(6), new Uint16Array(2), new DataView(new ArrayBuffer(8)), [1, 2], 'x', new BigInt64Array(2)]);
    const shape = g.pick<unknown>([[2, 3], [6], [-6], [1e20], [2, -3], [3, 3], [], 'x', [NaN]]);
    const options = g.pick<unknown>([undefined, { dtype: 'float16' }, { dtype: 'x' }, { device: 'meta' }, 5]);
    return {
      names: ['tensor'],
      text: `native.fromTypedArray(${show(data)}, ${show(shape)}, ${show(options)})`,
      run: () => native.fromTypedArray(data as ArrayBufferView, shape as number[], options as object),
    };
  },
];

// ---- main ---------------------------------------------------------------------------------
const seed = Number(process.argv[2]);
const count = Number(process.argv[3]);
if (!Number.isInteger(seed) || !Number.isInteger(count)) throw new Error('usage: fuzz.ts <seed> <count>');
torch.manualSeed(seed);
// Bad sizes must not make the fuzz itself take gigabytes: allocations above 64 MiB throw.
torch.setAllocationCap(64 * 1024 * 1024);
const g = new Gen(seed);
const ops = torch.opTable;

function emit(line: FuzzLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

for (let i = 0; i < count; i++) {
  torch.scope(() => {
    const call = g.chance(0.75) ? opCall(g, g.pick(ops)) : g.pick(extras)(g, new Values(g));
    emit({ kind: 'call', i, call: call.text, names: call.names });
    let threw: Thrown | null = null;
    const start = performance.now();
    try {
      call.run();
    } catch (e) {
      const err = e instanceof Error ? e : null;
      const code = err && 'code' in err && typeof err.code === 'string' ? err.code : null;
      threw = { name: err ? err.constructor.name : typeof e, isError: err !== null, code, message: err ? err.message : String(e) };
    }
    emit({ kind: 'outcome', i, ms: Math.round(performance.now() - start), threw });
  });
}
