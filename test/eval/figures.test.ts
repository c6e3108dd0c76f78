// Figure helpers: matplotlib's viridis end points, word wrapping, the confusion-matrix PNG.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { confusionMatrixPng, confusionMatrixSvg, viridis, wrapText } from '../../src/eval/figures.js';

describe('figures', () => {
  it("viridis matches matplotlib's ends and middle (#440154, #21918c, #fde725), clamped outside [0, 1]", () => {
    expect(viridis(0)).toEqual([68, 1, 84]);
    expect(viridis(1)).toEqual([253, 231, 37]);
    const mid = viridis(0.5);
    [33, 145, 140].forEach((v, k) => expect(Math.abs(mid[k]! - v)).toBeLessThanOrEqual(2));
    expect(viridis(-3)).toEqual(viridis(0));
    expect(viridis(Number.NaN)).toEqual(viridis(0));
  });

  it('wraps words to the width and cuts words longer than a line', () => {
    expect(wrapText('No acute cardiopulmonary process is seen today.', 16)).toEqual(['No acute', 'cardiopulmonary', 'process is seen', 'today.']);
    expect(wrapText('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(wrapText('  ', 10)).toEqual([]);
  });

  it('confusion matrix: a PNG, and the class count must fit the matrix', async () => {
    const png = await confusionMatrixPng([[3, 1], [0, 4]], ['A & B', '<C>']);
    expect((await sharp(png).metadata()).format).toBe('png');
    expect(confusionMatrixSvg([[3, 1], [0, 4]], ['A & B', '<C>'])).toContain('A &amp; B');
    expect(() => confusionMatrixSvg([[1]], ['a', 'b'])).toThrow(/must be 2x2 for 2 class names/);
  });
});
