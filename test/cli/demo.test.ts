import { describe, expect, it } from 'vitest';
import * as torch from '../../src/torch/index.js';
import { makeSpiral, parseDemoOptions, trainSpiral } from '../../src/cli/demo.js';

describe('demo options', () => {
  it('coerces command-line strings', () => {
    expect(parseDemoOptions({ epochs: '12', seed: '7' })).toEqual({ epochs: 12, seed: 7 });
  });

  it.each([
    [{ epochs: '0', seed: '0' }, /epochs/],
    [{ epochs: '2.5', seed: '0' }, /epochs/],
    [{ epochs: 'many', seed: '0' }, /epochs/],
    [{ epochs: '5', seed: '-1' }, /seed/],
    [{ epochs: '5' }, /seed/],
  ])('rejects %j naming the option', (raw, name) => {
    expect(() => parseDemoOptions(raw)).toThrow(name);
  });
});

describe('spiral data', () => {
  it('puts arm k at radius r = linspace(0, 1) with labels k', () => {
    torch.manualSeed(0);
    torch.scope(() => {
      const { x, y } = makeSpiral(5);
      expect(x.shape).toEqual([10, 2]);
      expect(y.toNested()).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
      // The noise moves only the angle, so each point's distance from the origin is exactly r.
      const radii = x.norm(2, [1]).toNested() as number[];
      const r = [0, 0.25, 0.5, 0.75, 1];
      radii.forEach((v, i) => expect(v).toBeCloseTo(r[i % 5]!, 5));
    });
  });
});

describe('spiral training', () => {
  it('learns the spiral and frees every tensor it made', () => {
    const live = torch.liveTensors();
    const epochs: number[] = [];
    const result = trainSpiral({ epochs: 120, seed: 0 }, { onEpoch: (s) => epochs.push(s.epoch) });
    expect(epochs).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    // An untrained 2-class model sits at loss ln 2 ≈ 0.69 and ~50% accuracy.
    expect(result.loss).toBeLessThan(0.15);
    expect(result.accuracy).toBeGreaterThan(0.95);
    expect(torch.liveTensors()).toBe(live);
  });

  it('is deterministic for a seed, and the seed matters', () => {
    const a = trainSpiral({ epochs: 3, seed: 11 });
    const b = trainSpiral({ epochs: 3, seed: 11 });
    const c = trainSpiral({ epochs: 3, seed: 12 });
    expect(b.loss).toBe(a.loss);
    expect(b.accuracy).toBe(a.accuracy);
    expect(c.loss).not.toBe(a.loss);
  });

  it('restores the caller\'s thread count', () => {
    torch.setNumThreads(2);
    trainSpiral({ epochs: 1, seed: 0 });
    expect(torch.getNumThreads()).toBe(2);
  });
});
