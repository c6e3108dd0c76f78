// Goldens from scripts/gen_fixtures_image.py (PIL 12 resize/affine/convert, torch ToTensor+Normalize).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type GrayImage,
  ImageError,
  PRETRAIN_NORMALIZATION,
  ZERO_SHOT_NORMALIZATION,
  decodeImage,
  flipHorizontal,
  readImage,
  resizeAntialiasedBilinear,
  resizeFloat,
  rotateNearest,
  transformImage,
} from '../../src/data/image.js';
import { Rng } from '../../src/util/rng.js';

const here = dirname(fileURLToPath(import.meta.url));
const images = resolve(here, '..', '..', '..', 'shared', 'data', 'cxr-notes', 'images');
const fixtures = join(here, '..', 'fixtures', 'data', 'image');

interface ResizeCase { source: string; crop: [number, number, number, number] | null; size: [number, number]; data: string }
interface RotateCase { resize: number; angle: number; flip: boolean; data: string }
interface GrayCase { name: string; file: string; size: [number, number]; bits: 8 | 16; gray: string; resized?: { size: [number, number]; i16: string; f: string } }
interface Golden { pillow: string; resize: ResizeCase[]; rotate: RotateCase[]; normalize: { pretrain: string; zeroShot: string }; gray: GrayCase[] }

const golden = JSON.parse(gunzipSync(readFileSync(join(fixtures, 'golden.json.gz'))).toString('utf8')) as Golden;

function bytes(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, 'base64'));
}
function u16(b64: string): Uint16Array {
  const b = bytes(b64);
  return new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
}
function f32(b64: string): Float32Array {
  const b = bytes(b64);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}
function crop(img: GrayImage, [left, top, right, bottom]: [number, number, number, number]): GrayImage {
  const width = right - left;
  const height = bottom - top;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) data.set(img.data.subarray((top + y) * img.width + left, (top + y) * img.width + right), y * width);
  return { width, height, bits: 8, data };
}

const sources = new Map<string, GrayImage>();
async function source(name: string): Promise<GrayImage> {
  let img = sources.get(name);
  if (!img) {
    img = await readImage(join(images, name));
    sources.set(name, img);
  }
  return img;
}
async function resizeInput(c: ResizeCase): Promise<GrayImage> {
  const img = await source(c.source);
  return c.crop ? crop(img, c.crop) : img;
}

describe('resizeAntialiasedBilinear (PIL Image.resize BILINEAR)', () => {
  it('equals PIL bit for bit on real X-rays, down, up and mixed', async () => {
    expect(golden.resize.length).toBeGreaterThanOrEqual(8);
    for (const c of golden.resize) {
      const out = resizeAntialiasedBilinear(await resizeInput(c), c.size[0], c.size[1]);
      expect([out.height, out.width, out.bits]).toEqual([c.size[0], c.size[1], 8]);
      expect(maxAbsDiff(out.data, bytes(c.data)), `${c.source} ${c.crop ? `crop ${c.crop}` : ''} -> ${c.size}`).toBe(0);
    }
  });

  it('rejects a bad size or inconsistent image', () => {
    const img: GrayImage = { width: 2, height: 2, bits: 8, data: new Uint8Array(4) };
    expect(() => resizeAntialiasedBilinear(img, 0, 3)).toThrow(/positive integers/);
    expect(() => resizeAntialiasedBilinear({ ...img, data: new Uint8Array(3) }, 2, 2)).toThrow(/3 values/);
    expect(() => resizeAntialiasedBilinear({ ...img, bits: 16 }, 2, 2)).toThrow(/bits=16/);
  });
});

describe('rotation and flip (torchvision RandomAffine / RandomHorizontalFlip on PIL)', () => {
  it('equals PIL transform(AFFINE, NEAREST, fillcolor=0) with torchvision’s matrix for given angles', () => {
    expect(golden.rotate.length).toBeGreaterThanOrEqual(15);
    for (const c of golden.rotate) {
      const r = golden.resize[c.resize]!;
      const src: GrayImage = { width: r.size[1], height: r.size[0], bits: 8, data: bytes(r.data) };
      let out = rotateNearest(src, c.angle);
      if (c.flip) out = flipHorizontal(out);
      expect(maxAbsDiff(out.data, bytes(c.data)), `angle ${c.angle} flip ${c.flip} on ${r.size}`).toBe(0);
    }
  });

  it('flips a hand-checked 2x3 image and rotates 16-bit data the same way as 8-bit', () => {
    const img: GrayImage = { width: 3, height: 2, bits: 8, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
    expect(Array.from(flipHorizontal(img).data)).toEqual([3, 2, 1, 6, 5, 4]);
    const r = golden.resize[1]!;
    const src8: GrayImage = { width: r.size[1], height: r.size[0], bits: 8, data: bytes(r.data) };
    const src16: GrayImage = { ...src8, bits: 16, data: Uint16Array.from(src8.data, (v) => v * 257) };
    const a = rotateNearest(src8, 3.7).data;
    const b = rotateNearest(src16, 3.7).data;
    expect(maxAbsDiff(Array.from(a, (v) => v * 257), b)).toBe(0);
  });
});

describe('transformImage', () => {
  const pretrain = f32(golden.normalize.pretrain);
  const zeroShot = f32(golden.normalize.zeroShot);

  it('eval mode equals PIL resize -> torch ToTensor -> Normalize (both normalisations)', async () => {
    for (const [c, table, norm] of [
      [golden.resize[0]!, pretrain, PRETRAIN_NORMALIZATION],
      [golden.resize[2]!, zeroShot, ZERO_SHOT_NORMALIZATION],
    ] as const) {
      const out = transformImage(await resizeInput(c), { size: c.size, ...norm, augment: false }, new Rng(1));
      const expected = Array.from(bytes(c.data), (v) => table[v]!);
      expect(maxAbsDiff(out, expected)).toBeLessThanOrEqual(1e-6);
    }
  });

  it('train mode is resize, rotation by the first draw in [-5, 5], flip by the second draw, deterministically', async () => {
    const c = golden.resize[0]!;
    const img = await resizeInput(c);
    const opts = { size: [224, 224] as const, ...PRETRAIN_NORMALIZATION, augment: true };
    let flips = 0;
    for (let index = 0; index < 6; index++) {
      const probe = Rng.derive(7, 0, index);
      const angle = probe.uniform(-5, 5);
      const flip = probe.next() < 0.5;
      flips += flip ? 1 : 0;
      let expectedImg = rotateNearest(resizeAntialiasedBilinear(img, 224, 224), angle);
      if (flip) expectedImg = flipHorizontal(expectedImg);
      const expected = Array.from(expectedImg.data, (v) => pretrain[v]!);
      const out = transformImage(img, opts, Rng.derive(7, 0, index));
      expect(maxAbsDiff(out, expected)).toBe(0);
      expect(maxAbsDiff(transformImage(img, opts, Rng.derive(7, 0, index)), out)).toBe(0);
    }
    expect(flips).toBeGreaterThan(0);
    expect(flips).toBeLessThan(6);
    // Different items really differ.
    expect(maxAbsDiff(transformImage(img, opts, Rng.derive(7, 0, 0)), transformImage(img, opts, Rng.derive(7, 0, 1)))).toBeGreaterThan(0.5);
  });

  it('rejects bad options', async () => {
    const img = await source('cxr0001.jpg');
    expect(() => transformImage(img, { size: [8, 8], mean: 0.5, std: 0, augment: false }, new Rng(0))).toThrow(/positive std/);
    expect(() => transformImage(img, { size: [8, 8], mean: 0.5, std: 1, augment: true, flipProbability: 2 }, new Rng(0))).toThrow(/flipProbability/);
  });
});

describe('decodeImage', () => {
  it('decodes the real 8-bit JPEGs as PIL opens them (mode L, same size)', async () => {
    const img = await source('cxr0001.jpg');
    expect([img.width, img.height, img.bits]).toEqual([318, 320, 8]);
  });

  it('converts RGB, RGBA, LA, palette, 1/2/4-bit, 16-bit RGB PNGs and an RGB JPEG to gray exactly as PIL convert("L")', async () => {
    const eightBit = golden.gray.filter((g) => g.bits === 8);
    expect(eightBit.map((g) => g.name)).toEqual(['rgb.png', 'rgba.png', 'la.png', 'palette.png', 'gray1bit.png', 'gray2bit.png', 'gray4bit.png', 'rgb16.png', 'rgb.jpg']);
    for (const c of eightBit) {
      const img = await decodeImage(bytes(c.file), c.name);
      expect([img.height, img.width, img.bits], c.name).toEqual([...c.size, 8]);
      expect(maxAbsDiff(img.data, bytes(c.gray)), c.name).toBe(0);
    }
  });

  it('keeps 16-bit PNGs at 16 bits; the 16-bit resize equals PIL I;16 and the float resize PIL F', async () => {
    const c = golden.gray.find((g) => g.bits === 16)!;
    const img = await decodeImage(bytes(c.file), c.name);
    expect([img.height, img.width, img.bits]).toEqual([...c.size, 16]);
    expect(maxAbsDiff(img.data, u16(c.gray))).toBe(0);
    const [h, w] = c.resized!.size;
    expect(maxAbsDiff(resizeAntialiasedBilinear(img, h, w).data, u16(c.resized!.i16))).toBe(0);
    expect(maxAbsDiff(resizeFloat(new Float32Array(img.data), img.height, img.width, h, w), f32(c.resized!.f))).toBe(0);
    // ...and transformImage normalises the float resize by 1/65535.
    const out = transformImage(img, { size: [h, w], mean: 0.5, std: 0.25, augment: false }, new Rng(0));
    const expected = Array.from(f32(c.resized!.f), (v) => (v / 65535 - 0.5) / 0.25);
    expect(maxAbsDiff(out, expected)).toBeLessThan(1e-5);
  });

  describe('bad files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prior-image-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const jpeg = readFileSync(join(images, 'cxr0001.jpg'));

    it('names the file for empty, truncated, corrupt, unknown and missing files', async () => {
      const cases: [string, Uint8Array, RegExp][] = [
        ['empty.jpg', new Uint8Array(0), /empty\.jpg: empty image file/],
        ['truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length / 2)), /truncated\.jpg: cannot decode JPEG/],
        ['header-only.jpg', jpeg.subarray(0, 3), /header-only\.jpg: cannot decode JPEG/],
        ['corrupt.png', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5]), /corrupt\.png: cannot decode PNG/],
        ['notes.txt', new TextEncoder().encode('hello world'), /notes\.txt: not a JPEG, PNG or DICOM file \(starts with 68 65 6c/],
      ];
      for (const [name, data, pattern] of cases) {
        const path = join(dir, name);
        writeFileSync(path, data);
        await expect(readImage(path), name).rejects.toThrow(pattern);
        await expect(readImage(path), name).rejects.toBeInstanceOf(ImageError);
      }
      await expect(readImage(join(dir, 'missing.png'))).rejects.toThrow(/missing\.png: cannot read image file/);
    });

    it('refuses a truncated PNG', async () => {
      const png = await sharp(readFileSync(join(images, 'cxr0002.jpg'))).png().toBuffer();
      await expect(decodeImage(png.subarray(0, png.length - 200), 'cut.png')).rejects.toThrow(/cut\.png: cannot decode PNG/);
    });
  });
});
