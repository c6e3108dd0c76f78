// Deterministic release (scope, keep, dispose, `using`) and the GC backstop for tensors that
// nobody disposes, the latter measured in child processes so that RSS is the loop's own.
import { describe, expect, it } from 'vitest';
import * as torch from '../../src/torch/index.js';
import { childFailure, runChild } from './child/spawn.js';

const MiB = 1024 * 1024;

describe('scope', () => {
  // First in the file: no garbage tensor exists yet that a GC could release mid-test and so
  // make the count drop below its start.
  it('brings liveTensors() back to its starting count', () => {
    const start = torch.liveTensors();
    const kept = torch.scope(() => {
      const x = torch.ones(4, 4);
      const y = x.matmul(x).relu().sum();
      x.split([2, 2]);
      expect(torch.liveTensors()).toBeGreaterThanOrEqual(start + 6);
      return y;
    });
    expect(torch.liveTensors()).toBe(start + 1);
    kept.dispose();
    expect(torch.liveTensors()).toBe(start);
  });

  it('disposes what was made inside except returned and kept tensors', () => {
    const outside = torch.ones(2);
    let temp!: torch.Tensor;
    let kept!: torch.Tensor;
    const result = torch.scope(() => {
      temp = outside.mul(2);
      kept = torch.keep(outside.add(1));
      const a = outside.add(2);
      const b = outside.add(3);
      const c = outside.add(4);
      const d = outside.add(5);
      return { list: [a, [b]], nested: { c }, map: new Map([['d', d]]), n: 1 };
    });
    expect(temp.isDisposed).toBe(true);
    expect(kept.isDisposed).toBe(false);
    expect(outside.isDisposed).toBe(false);
    const returned = [result.list[0] as torch.Tensor, (result.list[1] as torch.Tensor[])[0]!, result.nested.c, result.map.get('d')!];
    expect(returned.map((t) => t.isDisposed)).toEqual([false, false, false, false]);
    expect(returned.map((t) => t.toNested())).toEqual([[3, 3], [4, 4], [5, 5], [6, 6]]);
    torch.dispose([result, kept, outside]);
    expect([...returned, kept, outside].every((t) => t.isDisposed)).toBe(true);
  });

  it('moves returned tensors to the enclosing scope, which disposes them unless it returns them', () => {
    let inner!: torch.Tensor;
    let innerTemp!: torch.Tensor;
    const outer = torch.scope(() => {
      inner = torch.scope(() => {
        innerTemp = torch.zeros(3);
        return innerTemp.add(1);
      });
      expect(innerTemp.isDisposed).toBe(true);
      expect(inner.isDisposed).toBe(false);
      return inner.mul(2);
    });
    expect(inner.isDisposed).toBe(true);
    expect(outer.toNested()).toEqual([2, 2, 2]);
    outer.dispose();
  });

  it('disposes its tensors and rethrows the same error when the function throws', () => {
    let made!: torch.Tensor;
    const boom = new Error('boom');
    expect(() =>
      torch.scope(() => {
        made = torch.ones(3);
        throw boom;
      }),
    ).toThrow(boom);
    expect(made.isDisposed).toBe(true);
  });

  it('rejects an async function with an error that says why', () => {
    let made!: torch.Tensor;
    const run = () =>
      torch.scope(async () => {
        made = torch.ones(1);
        await Promise.resolve();
      });
    expect(run).toThrow(TypeError);
    expect(run).toThrow(/scope.*Promise.*synchronous/);
    expect(made.isDisposed).toBe(true);
  });
});

describe('dispose', () => {
  it('is idempotent, for tensors and for containers of tensors', () => {
    const t = torch.ones(2);
    t.dispose();
    t.dispose();
    expect(t.isDisposed).toBe(true);
    const nested = { a: [torch.ones(1)], b: new Map([['x', torch.ones(1)]]) };
    torch.dispose(nested);
    torch.dispose(nested);
    expect(nested.a[0]!.isDisposed && nested.b.get('x')!.isDisposed).toBe(true);
  });

  it('releases at the end of a `using` block (Symbol.dispose)', () => {
    let escaped!: torch.Tensor;
    {
      using t = torch.ones(3);
      escaped = t;
      expect(t.isDisposed).toBe(false);
    }
    expect(escaped.isDisposed).toBe(true);
  });

  it('makes later use throw an Error naming the op', () => {
    const t = torch.ones(2, 2);
    const other = torch.ones(2, 2);
    t.dispose();
    const uses: [string, () => unknown][] = [
      ['add', () => t.add(other)],
      ['add', () => other.add(t)],
      ['matmul', () => torch.matmul(other, t)],
      ['cat', () => torch.cat([other, t])],
      ['shape', () => t.shape],
      ['toArray', () => t.toArray()],
      ['item', () => t.item()],
    ];
    for (const [op, use] of uses) {
      expect(use).toThrow(Error);
      expect(use).toThrow(new RegExp(`^${op}: .*disposed`));
    }
    other.dispose();
  });
});

describe('GC backstop in a synchronous loop (child processes)', () => {
  interface LoopReport {
    baselineRss: number;
    peakRss: number;
    liveTensors: number;
    ms: number;
  }
  const cases = [
    { what: '1,000,000 one-element adds, RSS after op 100k', numel: 1, ops: 1_000_000, baselineAt: 100_000, boundMiB: 64 },
    { what: '20,000 adds of 1 MiB, RSS after op 1,000', numel: 256 * 1024, ops: 20_000, baselineAt: 1_000, boundMiB: 256 },
    // 8 KiB tensors: while handle.cpp reported only tensors >= 16 KiB to V8, ~100k of these
    // stayed alive between GCs (about 1 GB).
    { what: '100,000 adds of 8 KiB, RSS after op 1,000', numel: 2 * 1024, ops: 100_000, baselineAt: 1_000, boundMiB: 256 },
  ];

  it.each(cases)('$what grows by < $boundMiB MB', ({ what, numel, ops, baselineAt, boundMiB }) => {
    const r = runChild('gc-loop.ts', [numel, ops, baselineAt], 300_000);
    expect(childFailure(r)).toBeNull();
    const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as LoopReport;
    const growthMiB = (report.peakRss - report.baselineRss) / MiB;
    console.log(
      `${what}: baseline ${(report.baselineRss / MiB).toFixed(1)} MiB, peak ${(report.peakRss / MiB).toFixed(1)} MiB, ` +
        `growth ${growthMiB.toFixed(1)} MiB (bound ${boundMiB}), ${report.liveTensors} live tensors at the end, ${report.ms} ms`,
    );
    expect(report.baselineRss).toBeGreaterThan(0);
    expect(growthMiB).toBeLessThan(boundMiB);
  }, 320_000);
});
