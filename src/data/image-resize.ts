// Pillow's resampling and affine code, ported so that results match PIL bit for bit:
//  * `resizeAntialiasedBilinear` is `Image.resize(size, Image.BILINEAR)` (libImaging/Resample.c):
//    the triangle filter widened by the downscale factor (antialiasing), coefficients rounded to
//    22-bit fixed point for 8-bit images, a horizontal pass over only the rows the vertical pass
//    reads, then a vertical pass. 16-bit images follow PIL's "I;16" path (double sums, rounded).
//  * `resizeFloat` is the same resample on float32 data (PIL mode "F"), for 16-bit sources that
//    must not be re-quantised before normalisation.
//  * `rotationSourceIndex` is torchvision's `F.affine(img, angle, [0,0], 1, [0,0], NEAREST, fill=0)`
//    on a PIL image: the inverse matrix of `_get_inverse_affine_matrix` about the centre
//    (w/2, h/2) (no +0.5; torchvision >= 0.8), handed to PIL's `ImagingTransformAffine`, which
//    samples each output pixel centre in 16.16 fixed point (libImaging/Geometry.c `affine_fixed`).
//    A positive angle turns the picture clockwise as displayed (torchvision affine convention; PIL
//    `Image.rotate(-angle)` up to its 15-digit rounding of the matrix).
import { type GrayImage, ImageError, checkGrayImage } from './gray-image.js';

const PRECISION_BITS = 32 - 8 - 2;

interface Coefficients {
  /** Taps per output pixel (row stride of `weights`). */
  ksize: number;
  /** Per output pixel: first input index, then number of taps. */
  bounds: Int32Array;
  weights: Float64Array;
}

function bilinearFilter(x: number): number {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

/** `precompute_coeffs` for the bilinear filter (support 1) over the whole input (box 0..inSize). */
function precomputeCoeffs(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = scale < 1 ? 1 : scale;
  const support = 1 * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const weights = new Float64Array(outSize * ksize);
  const bounds = new Int32Array(outSize * 2);
  const ss = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = 0 + (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    const base = xx * ksize;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bilinearFilter((x + xmin - center + 0.5) * ss);
      weights[base + x] = w;
      ww += w;
    }
    if (ww !== 0) for (let x = 0; x < xmax; x++) weights[base + x] = weights[base + x]! / ww;
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

/** `normalize_coeffs_8bpc`: weights to PRECISION_BITS fixed point, rounded half away from zero. */
function fixedPointWeights(weights: Float64Array): Int32Array {
  const out = new Int32Array(weights.length);
  const one = 1 << PRECISION_BITS;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    out[i] = w < 0 ? Math.trunc(-0.5 + w * one) : Math.trunc(0.5 + w * one);
  }
  return out;
}

type Pass<T> = (src: T, srcWidth: number, rowOffset: number, dst: T, dstWidth: number, dstHeight: number, c: Coefficients) => void;

/** `ImagingResampleInner`: which passes run, and the row window the horizontal pass covers. */
function resampleTwoPass<T extends Uint8Array | Uint16Array | Float32Array>(
  src: T,
  inWidth: number,
  inHeight: number,
  outWidth: number,
  outHeight: number,
  alloc: (n: number) => T,
  horizontal: Pass<T>,
  vertical: Pass<T>,
): T {
  const needHorizontal = outWidth !== inWidth;
  const needVertical = outHeight !== inHeight;
  const vert = precomputeCoeffs(inHeight, outHeight);
  let image = src;
  let width = inWidth;
  if (needHorizontal) {
    const firstRow = vert.bounds[0]!;
    const lastRow = vert.bounds[outHeight * 2 - 2]! + vert.bounds[outHeight * 2 - 1]!;
    for (let i = 0; i < outHeight; i++) vert.bounds[i * 2] = vert.bounds[i * 2]! - firstRow;
    const temp = alloc(outWidth * (lastRow - firstRow));
    horizontal(src, inWidth, firstRow, temp, outWidth, lastRow - firstRow, precomputeCoeffs(inWidth, outWidth));
    image = temp;
    width = outWidth;
  }
  if (needVertical) {
    const out = alloc(width * outHeight);
    vertical(image, width, 0, out, width, outHeight, vert);
    return out;
  }
  return image === src ? (src.slice() as T) : image;
}

const horizontal8: Pass<Uint8Array> = (src, srcWidth, rowOffset, dst, dstWidth, dstHeight, c) => {
  const k = fixedPointWeights(c.weights);
  const { bounds, ksize } = c;
  const half = 1 << (PRECISION_BITS - 1);
  for (let yy = 0; yy < dstHeight; yy++) {
    const row = (yy + rowOffset) * srcWidth;
    const outRow = yy * dstWidth;
    for (let xx = 0; xx < dstWidth; xx++) {
      const first = row + bounds[xx * 2]!;
      const n = bounds[xx * 2 + 1]!;
      const kb = xx * ksize;
      let ss = half;
      for (let x = 0; x < n; x++) ss += src[first + x]! * k[kb + x]!;
      dst[outRow + xx] = clip8(ss);
    }
  }
};

// Row by row (contiguous reads) into an accumulator; integer sums, so the order does not matter.
const vertical8: Pass<Uint8Array> = (src, srcWidth, _rowOffset, dst, dstWidth, dstHeight, c) => {
  const k = fixedPointWeights(c.weights);
  const { bounds, ksize } = c;
  const half = 1 << (PRECISION_BITS - 1);
  const acc = new Float64Array(dstWidth);
  for (let yy = 0; yy < dstHeight; yy++) {
    const ymin = bounds[yy * 2]!;
    const n = bounds[yy * 2 + 1]!;
    const kb = yy * ksize;
    acc.fill(half);
    for (let y = 0; y < n; y++) {
      const w = k[kb + y]!;
      const row = (ymin + y) * srcWidth;
      for (let xx = 0; xx < dstWidth; xx++) acc[xx] = acc[xx]! + src[row + xx]! * w;
    }
    const outRow = yy * dstWidth;
    for (let xx = 0; xx < dstWidth; xx++) dst[outRow + xx] = clip8(acc[xx]!);
  }
};

function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** C's ROUND_UP: half away from zero, then truncation. */
function roundUp(f: number): number {
  return Math.trunc(f >= 0 ? f + 0.5 : f - 0.5);
}

function clip16(v: number): number {
  return v < 0 ? 0 : v > 65535 ? 65535 : v;
}

/** The horizontal and vertical passes of PIL's "I;16" and "F" modes: double sums, each stored through `store`. */
function horizontalPass<T extends Uint16Array | Float32Array>(store: (sum: number) => number): Pass<T> {
  return (src, srcWidth, rowOffset, dst, dstWidth, dstHeight, c) => {
    const k = c.weights;
    for (let yy = 0; yy < dstHeight; yy++) {
      const row = (yy + rowOffset) * srcWidth;
      for (let xx = 0; xx < dstWidth; xx++) {
        const xmin = c.bounds[xx * 2]!;
        const n = c.bounds[xx * 2 + 1]!;
        const kb = xx * c.ksize;
        let ss = 0;
        for (let x = 0; x < n; x++) ss += src[row + xmin + x]! * k[kb + x]!;
        dst[yy * dstWidth + xx] = store(ss);
      }
    }
  };
}

function verticalPass<T extends Uint16Array | Float32Array>(store: (sum: number) => number): Pass<T> {
  return (src, srcWidth, _rowOffset, dst, dstWidth, dstHeight, c) => {
    const k = c.weights;
    for (let yy = 0; yy < dstHeight; yy++) {
      const ymin = c.bounds[yy * 2]!;
      const n = c.bounds[yy * 2 + 1]!;
      const kb = yy * c.ksize;
      for (let xx = 0; xx < dstWidth; xx++) {
        let ss = 0;
        for (let y = 0; y < n; y++) ss += src[(ymin + y) * srcWidth + xx]! * k[kb + y]!;
        dst[yy * dstWidth + xx] = store(ss);
      }
    }
  };
}

// "I;16": sums rounded to integers after each pass. "F": stored as float32 (the array store rounds).
const roundClip16 = (ss: number): number => clip16(roundUp(ss));
const asIs = (ss: number): number => ss;
const horizontal16 = horizontalPass<Uint16Array>(roundClip16);
const vertical16 = verticalPass<Uint16Array>(roundClip16);
const horizontalF = horizontalPass<Float32Array>(asIs);
const verticalF = verticalPass<Float32Array>(asIs);

function checkSize(height: number, width: number, what: string): void {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height <= 0 || width <= 0) {
    throw new RangeError(`${what}: output size must be positive integers [height, width], got [${height}, ${width}]`);
  }
}

/**
 * PIL's `Image.resize((width, height), Image.BILINEAR)`: antialiased bilinear, aspect ratio not
 * kept. 8-bit results equal PIL's mode "L" bit for bit; 16-bit ones equal PIL's mode "I;16".
 */
export function resizeAntialiasedBilinear(img: GrayImage, height: number, width: number): GrayImage {
  checkGrayImage(img, 'resizeAntialiasedBilinear');
  checkSize(height, width, 'resizeAntialiasedBilinear');
  if (img.bits === 8) {
    const data = resampleTwoPass(img.data as Uint8Array, img.width, img.height, width, height, (n) => new Uint8Array(n), horizontal8, vertical8);
    return { width, height, bits: 8, data };
  }
  const data = resampleTwoPass(img.data as Uint16Array, img.width, img.height, width, height, (n) => new Uint16Array(n), horizontal16, vertical16);
  return { width, height, bits: 16, data };
}

/** The same resample on float32 values (PIL mode "F"); `values` is row-major inHeight x inWidth. */
export function resizeFloat(values: Float32Array, inHeight: number, inWidth: number, height: number, width: number): Float32Array {
  checkSize(height, width, 'resizeFloat');
  if (values.length !== inHeight * inWidth) {
    throw new ImageError(`resizeFloat: ${values.length} values do not make a ${inHeight}x${inWidth} image`);
  }
  return resampleTwoPass(values, inWidth, inHeight, width, height, (n) => new Float32Array(n), horizontalF, verticalF);
}

/** torchvision's inverse affine matrix for a pure rotation about (cx, cy), in its operation order. */
export function inverseRotationMatrix(angleDegrees: number, cx: number, cy: number): [number, number, number, number, number, number] {
  const rot = angleDegrees * (Math.PI / 180); // math.radians
  const a = Math.cos(rot);
  const b = -Math.sin(rot);
  const c = Math.sin(rot);
  const d = Math.cos(rot);
  const m: [number, number, number, number, number, number] = [d, -b, 0, -c, a, 0];
  m[2] += m[0] * (-cx - 0) + m[1] * (-cy - 0);
  m[5] += m[3] * (-cx - 0) + m[4] * (-cy - 0);
  m[2] += cx;
  m[5] += cy;
  return m;
}

function checkFixed(a: readonly number[], x: number, y: number): boolean {
  return Math.abs(x * a[0]! + y * a[1]! + a[2]!) < 32768 && Math.abs(x * a[3]! + y * a[4]! + a[5]!) < 32768;
}

/**
 * For a `width` x `height` image rotated by `angleDegrees` (torchvision RandomAffine with nearest
 * and fill 0), the source pixel index of every output pixel, or -1 where the fill shows.
 */
export function rotationSourceIndex(width: number, height: number, angleDegrees: number): Int32Array {
  const a = inverseRotationMatrix(angleDegrees, width * 0.5, height * 0.5);
  const index = new Int32Array(width * height).fill(-1);
  if (a[1] === 0 && a[3] === 0) {
    // ImagingScaleAffine (angle 0, or a multiple of 180 degrees whose sine rounds to 0).
    const xin = new Int32Array(width);
    let xo = a[2] + a[0] * 0.5;
    for (let x = 0; x < width; x++, xo += a[0]) xin[x] = coord(xo);
    let yo = a[5] + a[4] * 0.5;
    for (let y = 0; y < height; y++, yo += a[4]) {
      const yi = coord(yo);
      if (yi < 0 || yi >= height) continue;
      for (let x = 0; x < width; x++) {
        const xi = xin[x]!;
        if (xi >= 0 && xi < width) index[y * width + x] = yi * width + xi;
      }
    }
    return index;
  }
  if (checkFixed(a, 0, 0) && checkFixed(a, width, height) && checkFixed(a, 0, height) && checkFixed(a, width, 0)) {
    // affine_fixed: 16.16 fixed point, int32 arithmetic.
    const fix = (v: number): number => Math.floor(v * 65536 + 0.5) | 0;
    const a0 = fix(a[0]);
    const a1 = fix(a[1]);
    const a3 = fix(a[3]);
    const a4 = fix(a[4]);
    let a2 = fix(a[2] + a[0] * 0.5 + a[1] * 0.5);
    let a5 = fix(a[5] + a[3] * 0.5 + a[4] * 0.5);
    for (let y = 0; y < height; y++) {
      let xx = a2;
      let yy = a5;
      for (let x = 0; x < width; x++) {
        const xi = xx >> 16;
        if (xi >= 0 && xi < width) {
          const yi = yy >> 16;
          if (yi >= 0 && yi < height) index[y * width + x] = yi * width + xi;
        }
        xx = (xx + a0) | 0;
        yy = (yy + a3) | 0;
      }
      a2 = (a2 + a1) | 0;
      a5 = (a5 + a4) | 0;
    }
    return index;
  }
  // Floating-point path, for images too large for 16.16.
  let xo = a[2] + a[1] * 0.5 + a[0] * 0.5;
  let yo = a[5] + a[4] * 0.5 + a[3] * 0.5;
  for (let y = 0; y < height; y++) {
    let xx = xo;
    let yy = yo;
    for (let x = 0; x < width; x++) {
      const xi = coord(xx);
      if (xi >= 0 && xi < width) {
        const yi = coord(yy);
        if (yi >= 0 && yi < height) index[y * width + x] = yi * width + xi;
      }
      xx += a[0];
      yy += a[3];
    }
    xo += a[1];
    yo += a[4];
  }
  return index;
}

/** Geometry.c's COORD: negative coordinates are out, others truncate. */
function coord(v: number): number {
  return v < 0 ? -1 : Math.trunc(v);
}

/** Rotate (torchvision RandomAffine convention, nearest, fill 0); returns a new image. */
export function rotateNearest(img: GrayImage, angleDegrees: number): GrayImage {
  checkGrayImage(img, 'rotateNearest');
  const index = rotationSourceIndex(img.width, img.height, angleDegrees);
  const out = img.bits === 8 ? new Uint8Array(index.length) : new Uint16Array(index.length);
  const src = img.data;
  for (let i = 0; i < index.length; i++) {
    const j = index[i]!;
    if (j >= 0) out[i] = src[j]!;
  }
  return { width: img.width, height: img.height, bits: img.bits, data: out } as GrayImage;
}

/** Mirror left-right (PIL `Image.FLIP_LEFT_RIGHT`); returns a new image. */
export function flipHorizontal(img: GrayImage): GrayImage {
  checkGrayImage(img, 'flipHorizontal');
  const { width, height } = img;
  const out = img.bits === 8 ? new Uint8Array(width * height) : new Uint16Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) out[row + x] = img.data[row + width - 1 - x]!;
  }
  return { width, height, bits: img.bits, data: out } as GrayImage;
}
