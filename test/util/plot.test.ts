// util/plot: tick choice and labels (hand-checked), the SVG's structure (panels, legend, log
// axes, gaps, markers, escaping), and the PNG: its size, and text really drawn with a font.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { formatTick, linePlot, linePlotSvg, logTicks, niceTicks } from '../../src/util/plot.js';

describe('ticks', () => {
  it('niceTicks picks steps of 1, 2 or 5 x 10^k inside the range, exact decimals', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(-0.3, 0.72, 5)).toEqual([-0.2, 0, 0.2, 0.4, 0.6]);
    expect(niceTicks(0, 1e-5, 4)).toEqual([0, 2e-6, 4e-6, 6e-6, 8e-6, 1e-5]);
    expect(niceTicks(0, 100, 2)).toEqual([0, 50, 100]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });

  it('logTicks gives decades, with 2 and 5 on short ranges', () => {
    expect(logTicks(1e-8, 1e-3)).toEqual([1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3]);
    expect(logTicks(0.15, 3)).toEqual([0.2, 0.5, 1, 2]);
    expect(logTicks(0, 1)).toEqual([]);
  });

  it('formatTick writes ordinary numbers plainly and tiny or huge ones in e-notation', () => {
    expect([0, 0.2, 1.5, 2000, 1e-5, 2.5e-6, 3e7].map(formatTick)).toEqual(['0', '0.2', '1.5', '2000', '1e-5', '2.5e-6', '3e7']);
  });
});

describe('linePlotSvg', () => {
  const panels = [
    {
      title: 'loss <&>',
      series: [
        { name: 'a', x: [0, 1, 2, 3], y: [3, 2, null, 1] },
        { name: 'b', x: [0, 1, 2, 3], y: [1, 1, 1, 1], dash: '4 3' },
      ],
      vLines: [{ x: 2, label: 'stage 2' }],
    },
    { title: 'lr', series: [{ name: 'lr', x: [0, 1, 2], y: [0, 1e-5, 1e-6] }], logY: true },
  ];
  const svg = linePlotSvg(panels, { title: 'run', columns: 2 });

  it('lays out the panels, legend, markers and escaped text', () => {
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="1040" height="330"/);
    expect(svg).toContain('loss &lt;&amp;&gt;');
    expect(svg).toContain('>stage 2</text>');
    expect(svg).toContain('stroke-dasharray="4 3"');
    // Legend only where there are two series.
    expect(svg.match(/fill-opacity="0.85"/g)?.length).toBe(1);
  });

  it('breaks lines at gaps and drops non-positive values on log axes', () => {
    const paths = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1]!);
    expect(paths[0]!.match(/M/g)?.length).toBe(2); // a: [3, 2] then [1]
    expect(paths[2]!.match(/[ML]/g)?.length).toBe(2); // lr: the 0 is left out on the log axis
    expect(svg).toContain('>1e-5</text>');
  });

  it('averages long series into about one point per pixel', () => {
    const n = 100_000;
    const big = linePlotSvg([{ series: [{ name: 's', x: Array.from({ length: n }, (_, i) => i), y: Array.from({ length: n }, (_, i) => Math.sin(i / 1000)) }] }]);
    const points = big.match(/<path d="([^"]+)"/)![1]!.match(/[ML]/g)!.length;
    expect(points).toBeLessThanOrEqual(500);
    expect(points).toBeGreaterThan(300);
  });

  it('rejects an empty figure', () => {
    expect(() => linePlotSvg([])).toThrow(/no panels/);
  });
});

describe('linePlot', () => {
  it('renders a PNG with its text drawn (fonts present)', async () => {
    const withTitle = await linePlot([{ series: [{ name: 'a', x: [0, 1], y: [0, 1] }] }], { title: 'TITLE TEXT', panelWidth: 300, panelHeight: 200 });
    const { data, info } = await sharp(withTitle).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect({ w: info.width, h: info.height }).toEqual({ w: 300, h: 230 });
    // The title band (the top 30 rows) holds nothing but the title: dark pixels there are glyphs.
    let dark = 0;
    for (let i = 0; i < 30 * info.width; i++) if (data[i]! < 128) dark++;
    expect(dark).toBeGreaterThan(100);
  });
});
