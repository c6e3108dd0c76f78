// SIIM-ACR run-length masks: decode / encode against a hand-computed mask, both variants.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderMask } from '../../../src/data/downstream/masks.js';
import { parseSiimRle, rleDecode, rleEncode, siimClassification, siimSegmentation } from '../../../src/data/downstream/siim.js';

const dir = mkdtempSync(join(tmpdir(), 'downstream-siim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A 4 (wide) x 3 (high) mask, row-major:
//   0 1 0 0
//   0 1 1 0
//   0 0 1 0
// Column-major pixel numbers p = x·3 + y: foreground 3, 4 (column 1) and 7, 8 (column 2), so
// two runs of 2 starting at 3 and 7 (0-based). Relative: 3 from 0, then 7 − (3 + 2) = 2;
// absolute (1-based): 4 and 8.
const MASK = Uint8Array.from([0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0]);

describe('SIIM-ACR RLE', () => {
  it('decodes both variants to the hand-computed mask and encodes back', () => {
    expect([...rleDecode('3 2 2 2', 4, 3, 'relative')]).toEqual([...MASK]);
    expect([...rleDecode('4 2 8 2', 4, 3, 'absolute')]).toEqual([...MASK]);
    expect(rleEncode(MASK, 4, 3, 'relative')).toBe('3 2 2 2');
    expect(rleEncode(MASK, 4, 3, 'absolute')).toBe('4 2 8 2');
    expect(rleEncode(new Uint8Array(12), 4, 3, 'relative')).toBe('-1');
    expect([...rleDecode(' -1', 4, 3, 'relative')]).toEqual(new Array(12).fill(0));
  });

  it('round-trips a random mask', () => {
    let s = 12345;
    const mask = Uint8Array.from({ length: 37 * 23 }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) > 2 ** 30 ? 1 : 0));
    for (const v of ['relative', 'absolute'] as const) expect([...rleDecode(rleEncode(mask, 37, 23, v), 37, 23, v)]).toEqual([...mask]);
  });

  it('rejects runs outside the image and odd value counts', () => {
    expect(() => rleDecode('10 5', 4, 3, 'relative')).toThrow(/leaves the 4x3 image/);
    expect(() => rleDecode('1 2 3', 4, 3, 'relative')).toThrow(/pairs/);
  });

  it('reads train-rle.csv ("ImageId, EncodedPixels"), unions the rows of an image and finds the DICOMs', async () => {
    const images = join(dir, 'dicom-images-train');
    for (const [study, id] of [['s1', '1.2.3'], ['s2', '1.2.4']] as const) {
      mkdirSync(join(images, study, 'series'), { recursive: true });
      writeFileSync(join(images, study, 'series', `${id}.dcm`), '');
    }
    const csv = 'ImageId, EncodedPixels\n1.2.3, -1\n1.2.4, 3 2\n1.2.4, 7 2\n';
    const parsed = parseSiimRle(csv, join(dir, 'train-rle.csv'), images);
    expect(parsed.map((p) => [p.imageId, p.rle])).toEqual([
      ['1.2.3', []],
      ['1.2.4', ['3 2', '7 2']],
    ]);
    expect(siimClassification(parsed).samples.map((s) => s.target)).toEqual([[0], [1]]);
    const seg = siimSegmentation(parsed);
    const mask = await renderMask({ ...(seg[1]!.mask as { kind: 'rle'; rle: string[]; variant: 'relative' }), width: 4, height: 3 }, 3, 4);
    // Two rows with relative offsets from pixel 0 each: runs at 3 and 7, the same mask.
    expect([...mask]).toEqual([...MASK]);
    expect(() => parseSiimRle('ImageId, EncodedPixels\n9.9, -1\n', 'x.csv', images)).toThrow(/no 9\.9\.dcm under/);
    expect(() => parseSiimRle('ImageId, EncodedPixels\n1.2.3, a b\n', 'x.csv', images)).toThrow(/data row 1/);
  });
});
