// The one-channel image every decoder produces and the resize/augment code consumes. Plain typed
// arrays only, so decoding and augmentation run in worker threads that never load libtorch.

/** A row-major, single-channel image. 16-bit images use the full 0..65535 range. */
export interface GrayImage {
  width: number;
  height: number;
  bits: 8 | 16;
  data: Uint8Array | Uint16Array;
}

/** A file that cannot be decoded; the message names the file and what was wrong. */
export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}

/** Checks that width, height, bits and the data length agree; `what` names the image in errors. */
export function checkGrayImage(img: GrayImage, what: string): void {
  const { width, height, bits, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageError(`${what}: size must be positive integers, got ${width}x${height}`);
  }
  const ok = bits === 8 ? data instanceof Uint8Array : bits === 16 ? data instanceof Uint16Array : false;
  if (!ok) throw new ImageError(`${what}: bits=${String(bits)} does not match its ${data.constructor.name} data`);
  if (data.length !== width * height) {
    throw new ImageError(`${what}: data has ${data.length} values, expected width*height = ${width}*${height} = ${width * height}`);
  }
}

/** PIL's `convert('L')` luma (ITU-R 601-2 in 16-bit fixed point, rounded): Convert.c L24. */
export function luma601(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
}
