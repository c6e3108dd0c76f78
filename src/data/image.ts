// The image half of a dataset item (spec 3.2 step 1 and 9.1): decode a JPEG/PNG/DICOM file to one
// gray channel, then PRIOR's torchvision pipeline on a PIL image,
//   Resize([H, W], bilinear) -> RandomAffine(degrees=5, nearest, fill 0) -> RandomHorizontalFlip(0.5)
//   -> ToTensor -> Normalize(mean, std),
// reproduced with PIL's own arithmetic (see image-resize.ts). Pure TypeScript + sharp +
// dicom-parser: no libtorch, so it runs in loader worker threads.
//
// Decoding follows PIL's `open(...)` / `convert('L')`: gray stays as stored, RGB(A) and palette
// images become PIL's integer ITU-R 601 luma, alpha is ignored (as `convert('L')` ignores it),
// embedded ICC profiles and EXIF orientation are ignored (PIL applies neither). 16-bit gray PNGs
// keep 16 bits; 16-bit colour PNGs become 8-bit RGB by their high bytes, as PIL opens them; 1/2/4-bit
// gray becomes 0..255 (PIL's "1" mode would resize with NEAREST; we resize it as "L", which is what
// the zero-shot path's convert('L') does). DICOM gives 16 bits spanning its window (dicom.ts).
//
// 16-bit images are resized in float (PIL mode "F") and scaled by 1/65535, never re-quantised
// to 8 bits before normalisation.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { Rng } from '../util/rng.js';
import { decodeDicom, hasDicomMagic } from './dicom.js';
import { type GrayImage, ImageError, checkGrayImage, luma601 } from './gray-image.js';
import { resizeAntialiasedBilinear, resizeFloat, rotationSourceIndex } from './image-resize.js';

export { type GrayImage, ImageError, luma601 } from './gray-image.js';
export { resizeAntialiasedBilinear, resizeFloat, rotateNearest, flipHorizontal } from './image-resize.js';

/** PRIOR pre-training (MIMIC-CXR) statistics, spec 3.2. */
export const PRETRAIN_NORMALIZATION = { mean: 0.4755, std: 0.3011 } as const;
/** Zero-shot CheXpert 5x200 statistics, spec 9.1. */
export const ZERO_SHOT_NORMALIZATION = { mean: 0.5062731200407803, std: 0.28946775394688107 } as const;

export interface ImageTransformOptions {
  /** Output [height, width]. */
  size: readonly [number, number];
  mean: number;
  std: number;
  /** Train mode: random rotation then random horizontal flip; eval mode: neither. */
  augment: boolean;
  /** RandomAffine degrees: the angle is uniform in [-d, d]. Default 5. */
  maxRotationDegrees?: number;
  /** RandomHorizontalFlip p. Default 0.5. */
  flipProbability?: number;
}

/** Reads and decodes an image file (content sniffed: JPEG, PNG, or DICOM by marker or `.dcm`). */
export async function readImage(path: string): Promise<GrayImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new ImageError(`${path}: cannot read image file: ${e instanceof Error ? e.message : String(e)}`);
  }
  return decodeImage(bytes, path);
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Decodes image bytes from memory; `source` names them in errors. */
export async function decodeImage(bytes: Uint8Array, source: string): Promise<GrayImage> {
  if (bytes.length === 0) throw new ImageError(`${source}: empty image file`);
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  const isPng = bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b);
  if (!isJpeg && !isPng && (hasDicomMagic(bytes) || source.toLowerCase().endsWith('.dcm'))) return decodeDicom(bytes, source);
  if (!isJpeg && !isPng) {
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new ImageError(`${source}: not a JPEG, PNG or DICOM file (starts with ${head})`);
  }
  try {
    return await decodeWithSharp(bytes);
  } catch (e) {
    throw new ImageError(`${source}: cannot decode ${isJpeg ? 'JPEG' : 'PNG'}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function decodeWithSharp(bytes: Uint8Array): Promise<GrayImage> {
  // ignoreIcc: PIL does not colour-manage; failOn 'warning' (sharp's default) refuses truncated data as PIL does.
  let layout = sniffLayout(bytes);
  if (!layout) {
    const meta = await sharp(bytes, { ignoreIcc: true }).metadata();
    layout = { gray: meta.channels === 1 || meta.channels === 2, sixteen: meta.depth === 'ushort' };
  }
  const { gray, sixteen } = layout;
  let pipeline = sharp(bytes, { ignoreIcc: true });
  if (gray) pipeline = pipeline.toColourspace(sixteen ? 'grey16' : 'b-w');
  // Colour images become 8-bit RGB first, as PIL opens them; luma is then PIL's.
  const { data, info } = await pipeline.raw({ depth: gray && sixteen ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  const n = width * height;
  if (gray && sixteen) {
    const words = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = words[i * channels]!;
    return { width, height, bits: 16, data: out };
  }
  const out = new Uint8Array(n);
  if (channels >= 3) {
    for (let i = 0; i < n; i++) out[i] = luma601(data[i * channels]!, data[i * channels + 1]!, data[i * channels + 2]!);
  } else if (channels === 1) {
    out.set(data.subarray(0, n));
  } else {
    for (let i = 0; i < n; i++) out[i] = data[i * channels]!;
  }
  return { width, height, bits: 8, data: out };
}

/**
 * Gray or colour, 8 or 16 bits, read from the PNG IHDR or the JPEG SOF header so that sharp
 * parses the file once; null when the header is not where expected (sharp's metadata decides).
 */
function sniffLayout(bytes: Uint8Array): { gray: boolean; sixteen: boolean } | null {
  if (bytes[0] === 0x89) {
    // IHDR is the first chunk: bit depth at 24, colour type at 25 (0 gray, 4 gray+alpha).
    if (bytes.length < 26 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return null;
    const colourType = bytes[25]!;
    return { gray: colourType === 0 || colourType === 4, sixteen: bytes[24] === 16 };
  }
  let p = 2;
  while (p + 9 < bytes.length) {
    if (bytes[p] !== 0xff) return null;
    const marker = bytes[p + 1]!;
    if (marker === 0xff) {
      p++;
      continue;
    }
    const length = (bytes[p + 2]! << 8) | bytes[p + 3]!;
    // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC): component count after precision, height, width.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return bytes[p + 4] === 8 ? { gray: bytes[p + 9] === 1, sixteen: false } : null;
    }
    p += 2 + length;
  }
  return null;
}

// ToTensor + Normalize for every uint8 value, in float32 as torch computes it:
// f32(v/255), then f32(x - f32(mean)), then f32(. / f32(std)).
const tableCache = new Map<string, Float32Array>();
function normalizationTable(mean: number, std: number): Float32Array {
  const key = `${mean},${std}`;
  let table = tableCache.get(key);
  if (!table) {
    table = new Float32Array(256);
    const m = Math.fround(mean);
    const s = Math.fround(std);
    for (let v = 0; v < 256; v++) table[v] = Math.fround(Math.fround(Math.fround(v / 255) - m) / s);
    tableCache.set(key, table);
  }
  return table;
}

/**
 * PRIOR's image transform: resize to `size`, then (augment only) a rotation by an angle drawn
 * first from `rng`, uniform in [-maxRotationDegrees, maxRotationDegrees], and a horizontal flip
 * drawn second (`rng.next() < flipProbability`), then /255 (or /65535) and (x - mean) / std.
 * Returns the [height, width] plane as float32.
 */
export function transformImage(img: GrayImage, opts: ImageTransformOptions, rng: Rng): Float32Array {
  checkGrayImage(img, 'transformImage');
  const [height, width] = opts.size;
  if (!(opts.std > 0) || !Number.isFinite(opts.mean)) throw new RangeError(`transformImage: need a finite mean and a positive std, got mean=${opts.mean} std=${opts.std}`);
  const maxDegrees = opts.maxRotationDegrees ?? 5;
  const flipP = opts.flipProbability ?? 0.5;
  if (!(maxDegrees >= 0) || !(flipP >= 0 && flipP <= 1)) {
    throw new RangeError(`transformImage: maxRotationDegrees must be >= 0 and flipProbability in [0, 1], got ${maxDegrees} and ${flipP}`);
  }

  let index: Int32Array | null = null;
  let flip = false;
  if (opts.augment) {
    const angle = rng.uniform(-maxDegrees, maxDegrees);
    flip = rng.next() < flipP;
    index = rotationSourceIndex(width, height, angle);
  }

  const out = new Float32Array(height * width);
  if (img.bits === 8) {
    const resized = resizeAntialiasedBilinear(img, height, width).data as Uint8Array;
    const table = normalizationTable(opts.mean, opts.std);
    if (!index) {
      for (let i = 0; i < out.length; i++) out[i] = table[resized[i]!]!;
    } else {
      // Rotation sources, mirrored when flipping; fill pixels are value 0 before normalisation.
      const fill = table[0]!;
      for (let y = 0; y < height; y++) {
        const row = y * width;
        for (let x = 0; x < width; x++) {
          const j = index[row + (flip ? width - 1 - x : x)]!;
          out[row + x] = j < 0 ? fill : table[resized[j]!]!;
        }
      }
    }
    return out;
  }
  const resized = resizeFloat(new Float32Array(img.data), img.height, img.width, height, width);
  const m = Math.fround(opts.mean);
  const s = Math.fround(opts.std);
  const norm = (v: number): number => Math.fround(Math.fround(Math.fround(v / 65535) - m) / s);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const from = row + (flip ? width - 1 - x : x);
      const j = index ? index[from]! : from;
      out[row + x] = norm(j < 0 ? 0 : resized[j]!);
    }
  }
  return out;
}
