// No input may crash or abort the process: a seeded fuzz of bad calls runs in a child process
// (a segfault there fails the test), then deterministic cases check what the errors say, and
// the allocation cap.
import { totalmem } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import * as torch from '../../src/torch/index.js';
import type { FuzzLine, Thrown } from './child/fuzz.js';
import { childFailure, runChild } from './child/spawn.js';

// Read before any test changes it.
const defaultCap = torch.getAllocationCap();
const MiB = 1024 * 1024;

describe('random bad calls (child process)', () => {
  const seed = 20_240_601;
  const count = 800;

  it(`seed ${seed}: ${count} calls each return or throw an Error naming the op`, () => {
    const r = runChild('fuzz.ts', [seed, count], 300_000);
    const lines = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as FuzzLine);
    const calls = new Map<number, Extract<FuzzLine, { kind: 'call' }>>();
    const outcomes: Extract<FuzzLine, { kind: 'outcome' }>[] = [];
    for (const l of lines) {
      if (l.kind === 'call') calls.set(l.i, l);
      else outcomes.push(l);
    }
    const failure = childFailure(r);
    if (failure !== null) {
      const last = lines.at(-1);
      const culprit = last?.kind === 'call' ? `while running call #${last.i}: ${last.call}` : 'outside any call';
      expect.fail(`fuzz ${failure}\n${culprit}`);
    }
    expect(outcomes).toHaveLength(count);

    const namesOp = (t: Thrown, names: readonly string[]): boolean => t.isError && names.some((n) => t.message.startsWith(`${n}:`));
    const bad = outcomes
      .filter((o) => o.threw !== null && !namesOp(o.threw, calls.get(o.i)!.names))
      .map((o) => `${calls.get(o.i)!.call}\n    threw ${o.threw!.name}: ${o.threw!.message}`);
    expect(bad, bad.join('\n')).toEqual([]);

    const returned = outcomes.filter((o) => o.threw === null).length;
    const byLibtorch = outcomes.filter((o) => o.threw?.code === 'ERR_TORCH').length;
    const byConverters = outcomes.filter((o) => o.threw?.code === 'ERR_TORCH_ARG').length;
    const slowest = outcomes.reduce((a, b) => (b.ms > a.ms ? b : a));
    console.log(
      `fuzz seed ${seed}: ${returned} returned, ${byLibtorch} rejected by libtorch, ${byConverters} by argument converters, ` +
        `${count - returned - byLibtorch - byConverters} by the TypeScript layer; slowest ${slowest.ms} ms: ${calls.get(slowest.i)!.call}`,
    );
    // Most calls are well typed and get as far as libtorch (which either runs them or rejects them).
    expect(returned + byLibtorch).toBeGreaterThan(count / 2);
  }, 320_000);
});

describe('error messages', () => {
  const a = torch.ones(2, 3);
  const b = torch.ones(4, 5);

  it('a matmul shape mismatch names the op and both shapes', () => {
    const call = () => torch.matmul(a, b);
    expect(call).toThrow(Error);
    expect(call).toThrow(/^matmul: .*2x3.*4x5/);
    expect(call).toThrow(/self=float32\[2, 3\], other=float32\[4, 5\]/);
  });

  it('shape mismatches in bmm, linear, cat and conv2d name the op and the shapes', () => {
    const cases: [RegExp, () => unknown][] = [
      [/^bmm: [^]*float32\[2, 3, 4\][^]*float32\[2, 5, 6\]/, () => torch.bmm(torch.ones(2, 3, 4), torch.ones(2, 5, 6))],
      [/^linear: [^]*input=float32\[2, 3\], weight=float32\[4, 5\]/, () => torch.linear(a, b)],
      [/^cat: [^]*tensors=\[float32\[2, 3\], float32\[4, 5\]\]/, () => torch.cat([a, b])],
      [/^conv2d: .*expected input\[1, 3, 8, 8\] to have 2 channels/, () => torch.conv2d(torch.ones(1, 3, 8, 8), torch.ones(4, 2, 3, 3))],
    ];
    for (const [message, call] of cases) expect(call).toThrow(message);
  });

  it('a wrong JS type is a TypeError naming the argument', () => {
    const cases: [RegExp, () => unknown][] = [
      [/^matmul: argument 'other' must be a Tensor, got 'x'/, () => torch.matmul(a, 'x' as never)],
      [/^conv2d: argument 'weight' must be a Tensor, got undefined/, () => torch.conv2d(a, undefined as never)],
      [/^cat: argument 'tensors' must be an array of live Tensors \(element 1 is object\)/, () => torch.cat([a, {} as never])],
      [/^cat: argument 'tensors' must be an array of Tensors, got 'ab'/, () => torch.cat('ab' as never)],
      [/^add: argument 'other' must be a number or boolean, got '1'/, () => a.add('1' as never)],
      [/^index: argument 'indices' must be an array of live Tensors or nulls \(element 0 is undefined\)/, () => a.index([undefined as never])],
      [/^autograd\.grad: argument 'outputs' must be an array of live Tensors \(element 0 is null\)/, () => torch.autograd.grad(null as never, [a])],
      [/^Tensor\.get: an index must be .*, got \{\}/, () => a.get({} as never)],
    ];
    for (const [message, call] of cases) {
      expect(call).toThrow(TypeError);
      expect(call).toThrow(message);
    }
  });

  it('wrong dtypes name the op and the dtype', () => {
    const image = torch.ones(1, 1, 4, 4, { dtype: 'int64' });
    const floatIndex = torch.ones(2);
    const cases: [RegExp, () => unknown][] = [
      [/^conv2d: .*(Long|Float)[^]*input=int64\[1, 1, 4, 4\], weight=float32\[1, 1, 3, 3\]/, () => torch.conv2d(image, torch.ones(1, 1, 3, 3))],
      [/^gather: .*int64 for index[^]*index=float32\[1, 2\]/, () => torch.gather(a, 1, floatIndex.reshape(1, 2))],
      [/^index_select: .*int32 or int64 for index/, () => a.indexSelect(1, floatIndex)],
      [/^embedding: .*'indices'.*(Long|Int)/, () => torch.embedding(floatIndex, b)],
    ];
    for (const [message, call] of cases) expect(call).toThrow(message);
  });

  it('NaN, Infinity, fractions and unsafe integers where integers are expected', () => {
    const cases: [RegExp, () => unknown][] = [
      [/^select: argument 'index' must be an integer, got NaN/, () => a.select(0, NaN)],
      [/^transpose: argument 'dim1' must be an integer, got Infinity/, () => a.transpose(0, Infinity)],
      [/^narrow: argument 'start' must be an integer, got 0.5/, () => a.narrow(0, 0.5, 1)],
      [/^reshape: argument 'shape' must be an integer list, got \[3, 1e\+20\]/, () => a.reshape(3, 1e20)],
      [/^ones: argument 'size' must be an integer list, got \[9007199254740992\]/, () => torch.ones(2 ** 53)],
      [/^setAllocationCap: argument 'bytes' must be an integer, got Infinity/, () => torch.setAllocationCap(Infinity)],
    ];
    for (const [message, call] of cases) {
      expect(call).toThrow(TypeError);
      expect(call).toThrow(message);
    }
    expect(torch.getAllocationCap()).toBe(defaultCap);
  });

  it('out-of-range dims and indices, empty tensors, negative sizes', () => {
    const cases: [RegExp, () => unknown][] = [
      [/^sum: Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)/, () => a.sum([2])],
      [/^select: .*index 5 out of range for tensor of size \[2, 3\] at dimension 0/, () => a.select(0, 5)],
      [/^index_select: .*out of .*id=7 axis_dim=3/, () => a.indexSelect(1, torch.tensor([7n]))],
      [/^embedding: .*[Ii]ndex out of range/, () => torch.embedding(torch.tensor([9n]), b)],
      [/^max_dim: .*max\(\): Expected reduction dim 0 to have non-zero size/, () => torch.empty(0, 2).max(0)],
      [/^item: a Tensor with 0 elements cannot be converted to a number/, () => torch.empty(0).item()],
      [/^empty: Trying to create tensor with negative dimension -1: \[-1\]/, () => torch.empty(-1)],
      [/^zeros: argument 'size' must be an integer list, got \[1e\+20\]/, () => torch.zeros(1e20)],
      [/^empty: Storage size calculation overflowed with sizes=\[10000000000, 10000000000\]/, () => torch.empty(1e10, 1e10)],
      [/^randperm: Trying to create tensor with negative dimension -3/, () => torch.randperm(-3)],
    ];
    for (const [message, call] of cases) expect(call).toThrow(message);
  });

  it('unknown dtype and device names', () => {
    expect(() => torch.zeros(2, { dtype: 'float128' as never })).toThrow(/^zeros: unknown dtype 'float128' \(expected float32, /);
    expect(() => a.to('tpu' as never)).toThrow(/^to_device: argument 'device' must be a device string .*got 'tpu'/);
    expect(() => torch.zeros(2, { device: 'cuda:x' as never })).toThrow(/^zeros: argument 'options' must be options with device 'cpu', 'cuda' or 'cuda:N'/);
  });

  it("states libtorch's reason once, without its C++ context", () => {
    // On a CPU-only build the dispatcher lists every registered backend after a blank line.
    if (torch.cuda.isAvailable()) return;
    const call = () => torch.zeros(2, { device: 'cuda' });
    expect(call).toThrow(/^zeros: Could not run 'aten::empty.memory_format' with arguments from the 'CUDA' backend/);
    expect(call).not.toThrow(/registered at/);
    // libtorch's own "zeros: ..." prefix is not doubled.
    expect(() => torch.zeros(-1)).toThrow(/^zeros: Dimension size must be non-negative/);
  });

  it('a hook may remove itself while it runs (this used to segfault)', () => {
    const x = torch.rand(3).requiresGrad_();
    const handle = x.registerHook(() => handle.remove());
    x.mul(2).sum().backward();
    expect(x.grad!.toNested()).toEqual([2, 2, 2]);
  });

  it('error messages stay short for deeply nested arrays (describing one used to overflow the C++ stack)', () => {
    let nested: unknown[] = [];
    for (let i = 0; i < 1_000_000; i++) nested = [nested];
    expect(() => torch.zeros(nested as never)).toThrow(/^zeros: argument 'size' must be an integer list, got \[\[\[\[\[\.\.\.\]\]\]\]\]/);
  });
});

describe('allocation cap', () => {
  afterEach(() => torch.setAllocationCap(defaultCap));

  it.skipIf(process.env.PRIOR_ALLOC_CAP_BYTES !== undefined)('defaults to half of physical memory', () => {
    expect(Math.abs(defaultCap - totalmem() / 2)).toBeLessThanOrEqual(4096);
  });

  it('rejects allocations above it with an Error that names the cap, before allocating', () => {
    const cap = 64 * MiB;
    torch.setAllocationCap(cap);
    expect(torch.getAllocationCap()).toBe(cap);
    const rssBefore = process.memoryUsage.rss();
    const cases: [RegExp, () => unknown][] = [
      [/^empty: allocation of 4000000000 bytes exceeds the cap of 67108864 bytes \(torch.setAllocationCap changes it\)/, () => torch.empty(1e9)],
      // Inputs of 16 KiB and 32 KiB, a 128 MiB product.
      [/^matmul: allocation of 134217728 bytes exceeds the cap of 67108864 bytes/, () => torch.ones(4096, 1).matmul(torch.ones(1, 8192))],
      // arange stages its values in JS before libtorch sees them: the cap applies there too.
      [/^arange: allocation of 160000000 bytes exceeds the cap of 67108864 bytes/, () => torch.arange(2e7)],
    ];
    for (const [message, call] of cases) {
      expect(call).toThrow(Error);
      expect(call).toThrow(message);
    }
    expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(64 * MiB);
    // Below the cap, allocation proceeds.
    expect(torch.ones(1024, 1024).sum().item()).toBe(1024 * 1024);
  });

  it('0 disables it; negative, fractional or non-numeric caps are rejected and leave it unchanged', () => {
    torch.setAllocationCap(0);
    expect(torch.getAllocationCap()).toBe(0);
    torch.setAllocationCap(defaultCap);
    for (const bad of [-1, 1.5, NaN, '1' as never]) {
      expect(() => torch.setAllocationCap(bad)).toThrow(/^setAllocationCap: argument 'bytes' must be /);
    }
    expect(torch.getAllocationCap()).toBe(defaultCap);
  });
});
