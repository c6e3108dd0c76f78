// Alignment maps: the faithful-layout projection through the reshape on hand-worked cases, and
// the figure for a real X-ray and report (a PNG whose size follows the layout: one panel per
// sentence; sentences past the text length are left out and counted).
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainAlignment, tokenWeightsToGrid } from '../../src/eval/explain.js';
import type { Prior } from '../../src/models/prior/prior.js';
import * as torch from '../../src/torch/index.js';
import { CXR_ROOT, cxr, tinyPrior } from './helpers.js';

describe('tokenWeightsToGrid', () => {
  it('spatial: token t is grid cell t', () => {
    expect(tokenWeightsToGrid([0.1, 0.2, 0.3, 0.4], [2, 2], 'spatial', 512)).toEqual([0.1, 0.2, 0.3, 0.4]);
  });

  it('faithful: each position averages the weights of the tokens holding its channel elements', () => {
    // C = 6 channels, 2x2 grid: token t holds elements 6t..6t+5 of the (channel, position) array,
    // element e at position e mod 4. Token 0 = elements 0..5 -> positions 0,1,2,3,0,1.
    const map = tokenWeightsToGrid([1, 0, 0, 0], [2, 2], 'faithful', 6);
    [2 / 6, 2 / 6, 1 / 6, 1 / 6].forEach((v, p) => expect(map[p]).toBeCloseTo(v, 12));
    // Token 1 = elements 6..11 -> positions 2,3,0,1,2,3.
    const map1 = tokenWeightsToGrid([0, 1, 0, 0], [2, 2], 'faithful', 6);
    [1 / 6, 1 / 6, 2 / 6, 2 / 6].forEach((v, p) => expect(map1[p]).toBeCloseTo(v, 12));
    // When C is a multiple of the positions every token covers every position equally: a flat map.
    const flat = tokenWeightsToGrid([0.2, 0.9, 0.4, 0.5], [2, 2], 'faithful', 512);
    flat.forEach((v) => expect(v).toBeCloseTo(0.5, 12));
  });

  it('rejects a token count that does not fit the grid', () => {
    expect(() => tokenWeightsToGrid([1, 2, 3], [2, 2], 'spatial', 4)).toThrow(/3 token weights for a 2x2 grid/);
  });
});

describe('explainAlignment', () => {
  let faithful: Prior;
  let spatial: Prior;
  beforeAll(() => {
    faithful = tinyPrior(3);
    spatial = tinyPrior(3, { localLayout: 'spatial' });
  });
  afterAll(() => {
    faithful.dispose();
    spatial.dispose();
  });
  const image = join(CXR_ROOT, cxr(5));
  const report = 'Heart size is normal. There is a right lower lobe consolidation. No pleural effusion.';

  it('draws one panel per sentence; the PNG has the layout size', async () => {
    const r = await explainAlignment(faithful, image, report, { columns: 2, panelSize: 128 });
    expect(r.sentences).toEqual(['Heart size is normal.', 'There is a right lower lobe consolidation.', 'No pleural effusion.']);
    expect(r.shown).toEqual([0, 1, 2]);
    expect(r.attention).toHaveLength(3);
    expect(r.attention[0]).toHaveLength(4); // tiny: 64 px -> a 2x2 grid
    for (const a of r.attention.flat()) expect(a > 0 && a < 1).toBe(true); // sigmoid weights
    expect([r.layout.columns, r.layout.rows, r.layout.panels.length]).toEqual([2, 2, 3]);
    expect(r.layout.width).toBe(2 * 16 + 2 * 128 + 16);
    const meta = await sharp(r.png).metadata();
    expect(meta.format).toBe('png');
    expect([meta.width, meta.height]).toEqual([r.layout.width, r.layout.height]);
    // ResNet-18's 512 channels cover the 4 positions equally: the faithful map is flat.
    for (const m of r.maps) m.forEach((v) => expect(v).toBeCloseTo(m[0]!, 6));
  });

  it('spatial layout: the map is the token weights on the grid; seeded runs repeat', async () => {
    const live = torch.liveTensors();
    const a = await explainAlignment(spatial, image, report, { seed: 9 });
    expect(torch.liveTensors()).toBeLessThanOrEqual(live); // (the GC may free earlier garbage meanwhile)
    expect(a.localLayout).toBe('spatial');
    expect(a.maps).toEqual(a.attention);
    expect(a.layout.width).toBe(2 * 16 + 3 * 256 + 2 * 16);
    const b = await explainAlignment(spatial, image, report, { seed: 9 });
    expect(b.attention).toEqual(a.attention);
    expect(Buffer.compare(a.png, b.png)).toBe(0);
  });

  it('leaves out sentences past the model text length and says how many', async () => {
    const long = Array.from({ length: 20 }, (_, i) => `Finding number ${i + 1} is unchanged from the prior examination.`).join(' ');
    const r = await explainAlignment(faithful, image, long, { panelSize: 64, columns: 6 });
    expect(r.sentences).toHaveLength(20);
    expect(r.shown.length).toBeLessThan(20);
    expect(r.shown).toEqual(Array.from({ length: r.shown.length }, (_, i) => i));
    expect(r.layout.panels).toHaveLength(r.shown.length);
  });
});
