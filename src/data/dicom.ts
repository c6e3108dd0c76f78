// DICOM to a 16-bit GrayImage, with dicom-parser. The stored values go through the modality
// rescale (slope, intercept), then the VOI window (first WindowCenter/WindowWidth when several
// are given; without one, the image's own min..max) onto [0, 1], MONOCHROME1 is inverted, and the
// result is kept as round(y * 65535), so 0..65535 spans the window whatever the stored bit depth.
// Uncompressed little/big endian syntaxes are read directly; JPEG baseline fragments go to sharp;
// every other transfer syntax is refused by UID.
import dicomParser from 'dicom-parser';
import sharp from 'sharp';
import { type GrayImage, ImageError, luma601 } from './gray-image.js';

const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const DEFLATED_LE = '1.2.840.10008.1.2.1.99';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';
const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
const UNCOMPRESSED = new Set([IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE]);

const TAG = {
  transferSyntax: 'x00020010',
  samplesPerPixel: 'x00280002',
  photometric: 'x00280004',
  numberOfFrames: 'x00280008',
  rows: 'x00280010',
  columns: 'x00280011',
  bitsAllocated: 'x00280100',
  bitsStored: 'x00280101',
  pixelRepresentation: 'x00280103',
  windowCenter: 'x00281050',
  windowWidth: 'x00281051',
  rescaleIntercept: 'x00281052',
  rescaleSlope: 'x00281053',
  pixelData: 'x7fe00010',
} as const;

/** True when the bytes carry the Part-10 "DICM" marker after the 128-byte preamble. */
export function hasDicomMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/** Decodes the first frame of a single-channel DICOM image; `source` names the file in errors. */
export async function decodeDicom(bytes: Uint8Array, source: string): Promise<GrayImage> {
  const fail = (what: string): never => {
    throw new ImageError(`${source}: DICOM ${what}`);
  };
  let ds: dicomParser.DataSet;
  try {
    // Without the Part-10 header there is no transfer syntax element: assume implicit VR little endian (the default syntax).
    ds = dicomParser.parseDicom(bytes, hasDicomMagic(bytes) ? undefined : { TransferSyntaxUID: IMPLICIT_LE });
  } catch (e) {
    return fail(`cannot be parsed (truncated or not DICOM?): ${parserMessage(e)}`);
  }
  const syntax = (ds.string(TAG.transferSyntax) ?? IMPLICIT_LE).replace(/\0/g, '').trim();
  if (!UNCOMPRESSED.has(syntax) && syntax !== JPEG_BASELINE) {
    const hint = syntax === DEFLATED_LE ? ' (deflated)' : '';
    return fail(`transfer syntax ${syntax}${hint} is not supported (supported: implicit/explicit little endian, explicit big endian, JPEG baseline ${JPEG_BASELINE})`);
  }
  const rows = ds.uint16(TAG.rows);
  const columns = ds.uint16(TAG.columns);
  if (!rows || !columns) return fail(`has no Rows/Columns (got ${rows}x${columns})`);
  const photometric = (ds.string(TAG.photometric) ?? '').trim();
  const samples = ds.uint16(TAG.samplesPerPixel) ?? 1;
  const pixel = ds.elements[TAG.pixelData];
  if (!pixel) return fail('has no PixelData (7FE0,0010)');
  const slope = ds.floatString(TAG.rescaleSlope) ?? 1;
  const intercept = ds.floatString(TAG.rescaleIntercept) ?? 0;
  if (!Number.isFinite(slope) || !Number.isFinite(intercept)) return fail(`RescaleSlope/Intercept are not numbers (${slope}, ${intercept})`);

  let stored: Float64Array;
  if (syntax === JPEG_BASELINE) {
    stored = await decodeJpegFragment(ds, pixel, rows, columns, source);
  } else {
    if (samples !== 1 || (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2')) {
      return fail(`PhotometricInterpretation ${photometric || '(missing)'} with ${samples} samples per pixel is not supported (MONOCHROME1/2 only)`);
    }
    stored = readUncompressed(ds, pixel, rows, columns, syntax === EXPLICIT_BE, fail);
  }
  if (syntax === JPEG_BASELINE && photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2' && !photometric.startsWith('YBR') && photometric !== 'RGB') {
    return fail(`PhotometricInterpretation ${photometric || '(missing)'} is not supported`);
  }

  for (let i = 0; i < stored.length; i++) stored[i] = stored[i]! * slope + intercept;
  const center = ds.floatString(TAG.windowCenter, 0);
  const width = ds.floatString(TAG.windowWidth, 0);
  const unit = center !== undefined && width !== undefined && Number.isFinite(center) && Number.isFinite(width) ? windowToUnit(stored, center, width, fail) : minMaxToUnit(stored);
  const invert = photometric === 'MONOCHROME1';
  const data = new Uint16Array(unit.length);
  for (let i = 0; i < unit.length; i++) {
    const y = invert ? 1 - unit[i]! : unit[i]!;
    data[i] = Math.floor(y * 65535 + 0.5);
  }
  return { width: columns, height: rows, bits: 16, data };
}

/** dicom-parser throws strings or `{ exception, dataSet }` objects as well as Errors. */
function parserMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  if (typeof e === 'object' && e !== null && 'exception' in e) return String((e as { exception: unknown }).exception);
  return String(e);
}

function readUncompressed(ds: dicomParser.DataSet, pixel: dicomParser.Element, rows: number, columns: number, bigEndian: boolean, fail: (what: string) => never): Float64Array {
  const bitsAllocated = ds.uint16(TAG.bitsAllocated);
  const bitsStored = ds.uint16(TAG.bitsStored) ?? bitsAllocated;
  const signed = ds.uint16(TAG.pixelRepresentation) === 1;
  if (bitsAllocated !== 8 && bitsAllocated !== 16) return fail(`BitsAllocated ${bitsAllocated} is not supported (8 or 16)`);
  if (bitsStored === undefined || bitsStored < 1 || bitsStored > bitsAllocated) return fail(`BitsStored ${bitsStored} does not fit BitsAllocated ${bitsAllocated}`);
  const n = rows * columns;
  const bytesPer = bitsAllocated / 8;
  if (pixel.length < n * bytesPer) return fail(`PixelData holds ${pixel.length} bytes, ${rows}x${columns} pixels of ${bitsAllocated} bits need ${n * bytesPer}`);
  const buf = ds.byteArray;
  const start = pixel.dataOffset;
  if (start + n * bytesPer > buf.length) return fail(`PixelData runs past the end of the file (truncated?)`);
  const mask = bitsStored >= 32 ? 0xffffffff : 2 ** bitsStored - 1;
  const signBit = 2 ** (bitsStored - 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    if (bytesPer === 1) v = buf[start + i]!;
    else {
      const p = start + 2 * i;
      v = bigEndian ? (buf[p]! << 8) | buf[p + 1]! : buf[p]! | (buf[p + 1]! << 8);
    }
    // Bits above BitsStored may hold overlays or junk; the sign bit is the top stored bit.
    v &= mask;
    if (signed && v >= signBit) v -= 2 * signBit;
    out[i] = v;
  }
  return out;
}

async function decodeJpegFragment(ds: dicomParser.DataSet, pixel: dicomParser.Element, rows: number, columns: number, source: string): Promise<Float64Array> {
  const fragments = pixel.fragments;
  if (!pixel.encapsulatedPixelData || !fragments || fragments.length === 0) {
    throw new ImageError(`${source}: DICOM JPEG baseline PixelData is not encapsulated`);
  }
  // Single-frame files: all fragments form one JPEG stream.
  const frames = ds.intString(TAG.numberOfFrames) ?? 1;
  const jpeg = frames > 1 ? dicomParser.readEncapsulatedImageFrame(ds, pixel, 0) : dicomParser.readEncapsulatedPixelDataFromFragments(ds, pixel, 0, fragments.length);
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    raw = await sharp(jpeg, { ignoreIcc: true }).raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new ImageError(`${source}: DICOM JPEG baseline frame cannot be decoded: ${e instanceof Error ? e.message : String(e)}`);
  }
  const { width, height, channels } = raw.info;
  if (width !== columns || height !== rows) {
    throw new ImageError(`${source}: DICOM JPEG frame is ${height}x${width}, but Rows/Columns say ${rows}x${columns}`);
  }
  const out = new Float64Array(width * height);
  const d = raw.data;
  if (channels >= 3) {
    for (let i = 0; i < out.length; i++) out[i] = luma601(d[i * channels]!, d[i * channels + 1]!, d[i * channels + 2]!);
  } else {
    for (let i = 0; i < out.length; i++) out[i] = d[i * channels]!;
  }
  return out;
}

/** DICOM linear VOI LUT (PS3.3 C.11.2.1.2.1) onto [0, 1]. */
function windowToUnit(values: Float64Array, center: number, width: number, fail: (what: string) => never): Float64Array {
  if (width < 1) return fail(`WindowWidth ${width} is below 1`);
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (width === 1) out[i] = x <= center - 0.5 ? 0 : 1;
    else {
      const y = (x - (center - 0.5)) / (width - 1) + 0.5;
      out[i] = y < 0 ? 0 : y > 1 ? 1 : y;
    }
  }
  return out;
}

function minMaxToUnit(values: Float64Array): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const out = new Float64Array(values.length);
  if (hi > lo) for (let i = 0; i < values.length; i++) out[i] = (values[i]! - lo) / (hi - lo);
  return out;
}
