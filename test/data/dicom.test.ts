// Tiny hand-written Part-10 files and numpy expectations from scripts/gen_fixtures_image.py.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ImageError, decodeImage, readImage } from '../../src/data/image.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'data', 'image');
interface DicomCase { file: string; size?: [number, number]; expected?: string; error?: string }
const golden = JSON.parse(gunzipSync(readFileSync(join(fixtures, 'golden.json.gz'))).toString('utf8')) as { dicom: DicomCase[] };

function u16(b64: string): Uint16Array {
  const b = Buffer.from(b64, 'base64');
  return new Uint16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

describe('DICOM decoding', () => {
  const decodable = golden.dicom.filter((c) => c.expected !== undefined);

  it('covers every photometric, bit depth, sign, rescale, window and syntax case', () => {
    const names = decodable.map((c) => c.file).join(' ');
    for (const part of ['mono1', 'mono2', 'u8', 'u16', 's16', 'u12', 's12', 'implicit', 'explicit-le', 'explicit-be', 'rescale', 'window', 'jpeg-baseline', 'bare']) {
      expect(names).toContain(part);
    }
  });

  for (const c of decodable) {
    it(`${c.file}: rescale, window (or min..max) and inversion match numpy`, async () => {
      const img = await readImage(join(fixtures, 'dicom', c.file));
      expect([img.height, img.width, img.bits]).toEqual([...c.size!, 16]);
      expect(Array.from(img.data)).toEqual(Array.from(u16(c.expected!)));
    });
  }

  it('refuses an unsupported transfer syntax, naming the file and the UID', async () => {
    const c = golden.dicom.find((d) => d.error !== undefined)!;
    const path = join(fixtures, 'dicom', c.file);
    await expect(readImage(path)).rejects.toThrow(new RegExp(`${c.file}: DICOM transfer syntax ${c.error!.replace(/\./g, '\\.')} is not supported`));
  });

  it('names the file for truncated and garbage DICOM data', async () => {
    const bytes = readFileSync(join(fixtures, 'dicom', 'mono2-s16-explicit-le-rescale.dcm'));
    await expect(decodeImage(bytes.subarray(0, bytes.length - 10), 'cut.dcm')).rejects.toThrow(/cut\.dcm: DICOM cannot be parsed \(truncated or not DICOM\?\): dicomParser:parseDicomDataSetExplicit: buffer overrun$/);
    await expect(decodeImage(bytes.subarray(0, 140), 'header.dcm')).rejects.toThrow(/header\.dcm: DICOM/);
    await expect(decodeImage(new TextEncoder().encode('not dicom at all'), 'junk.dcm')).rejects.toBeInstanceOf(ImageError);
  });
});
