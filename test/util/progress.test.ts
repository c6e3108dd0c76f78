import { describe, expect, it } from 'vitest';
import { Progress, formatDuration, formatRate, renderProgress } from '../../src/util/progress.js';

/** A stream that records writes, and a clock the test moves by hand. */
function harness(isTTY: boolean) {
  const writes: string[] = [];
  let ms = 0;
  return {
    writes,
    stream: { isTTY, write: (t: string) => writes.push(t) },
    now: () => ms,
    advance: (by: number) => {
      ms += by;
    },
  };
}

describe('formatting', () => {
  it('formats durations by magnitude', () => {
    expect(formatDuration(0.42)).toBe('0.4s');
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(75)).toBe('1m15s');
    expect(formatDuration(3 * 3600 + 6 * 60 + 40)).toBe('3h06m');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('?');
  });

  it('formats rates to three significant digits', () => {
    expect(formatRate(0.012345)).toBe('0.0123');
    expect(formatRate(45.678)).toBe('45.7');
    expect(formatRate(1234.5)).toBe('1235');
    expect(formatRate(Number.NaN)).toBe('?');
  });

  it('renders bar, count, fields, rate and ETA', () => {
    const line = renderProgress({ done: 30, total: 120, elapsedSeconds: 10, unit: 'epochs', fields: { loss: '0.5' }, barWidth: 8 });
    // 30/120 = a quarter of the bar; 3 epochs/s leaves 90 epochs for 30 s.
    expect(line).toBe('[##------]   30/120 epochs  loss 0.5  3.00 epochs/s  ETA 30s');
  });

  it('reports the total time instead of an ETA when done', () => {
    const line = renderProgress({ done: 4, total: 4, elapsedSeconds: 2, unit: 'steps', fields: {}, barWidth: 4 });
    expect(line).toBe('[####]  4/4 steps  2.00 steps/s  took 2.0s');
  });
});

describe('Progress', () => {
  it('prints one line per tenth of the work to a log', () => {
    const h = harness(false);
    const p = new Progress({ total: 100, stream: h.stream, now: h.now });
    for (let i = 1; i <= 100; i++) {
      h.advance(10);
      p.update(i, { i: String(i) });
    }
    p.finish();
    expect(h.writes).toHaveLength(10);
    expect(h.writes.every((w) => w.endsWith('\n') && !w.includes('\r'))).toBe(true);
    expect(h.writes[0]).toContain(' 10/100 steps  i 10  100 steps/s  ETA 0.9s');
    expect(h.writes[9]).toContain('100/100 steps  i 100  100 steps/s  took 1.0s');
  });

  it('redraws one terminal line, at most once per redraw interval', () => {
    const h = harness(true);
    const p = new Progress({ total: 10, stream: h.stream, now: h.now, redrawMs: 100 });
    for (let i = 1; i < 10; i++) {
      h.advance(40);
      p.update(i);
    }
    // Draws at 40 ms, then 160 ms and 280 ms (each at least 100 ms after the last).
    expect(h.writes).toHaveLength(3);
    expect(h.writes.every((w) => w.startsWith('\r') && !w.includes('\n'))).toBe(true);
    p.update(10);
    expect(h.writes.at(-1)).toBe('\r[####################]  10/10 steps  27.8 steps/s  took 0.4s\x1b[K\n');
    p.finish();
    expect(h.writes).toHaveLength(4);
  });

  it('rejects a total that is not a count', () => {
    expect(() => new Progress({ total: 2.5 })).toThrow(/non-negative integer/);
  });
});
