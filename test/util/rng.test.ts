import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';

describe('Rng', () => {
  it('is a pure function of its seed words', () => {
    const a = Rng.derive(7, 1, 42);
    const b = Rng.derive(7, 1, 42);
    const xs = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(xs);
    const c = Rng.derive(7, 1, 43);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(xs);
    // words above 2^32 still matter
    expect(new Rng(2 ** 40).nextUint32()).not.toBe(new Rng(2 ** 40 + 2 ** 33).nextUint32());
  });

  it('round-trips its state', () => {
    const r = new Rng(3);
    r.next();
    const s = r.state();
    const x = [r.next(), r.next()];
    expect([Rng.fromState(s).next(), Rng.fromState(s).next()][0]).toBe(x[0]);
    r.setState(s);
    expect([r.next(), r.next()]).toEqual(x);
  });

  it('gives uniform, integer and normal draws with the right moments', () => {
    const r = new Rng(11);
    const n = 200_000;
    let sum = 0;
    let sq = 0;
    const counts = new Array(6).fill(0);
    for (let i = 0; i < n; i++) {
      const u = r.next();
      expect(u >= 0 && u < 1).toBe(true);
      counts[r.int(6)]++;
      const z = r.normal();
      sum += z;
      sq += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.01);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.02);
    for (const c of counts) expect(Math.abs(c / n - 1 / 6)).toBeLessThan(0.005);
  });

  it('shuffles into a permutation and rejects bad arguments', () => {
    const p = new Rng(5).permutation(100);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(p).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(() => new Rng(-1)).toThrow(/non-negative/);
    expect(() => new Rng(1).int(0)).toThrow(/Rng.int/);
    expect(() => new Rng(1).pick([])).toThrow(/empty/);
  });
});
