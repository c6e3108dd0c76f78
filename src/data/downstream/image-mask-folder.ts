// Image/mask folders: `images/` and `masks/` whose files pair up by name without extension
// (images/seg0001.jpg with masks/seg0001.png); a mask is foreground where non-zero.
import { existsSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { DownstreamFormatError, type SegmentationSample } from './types.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.dcm', '.tif', '.tiff']);

export function readImageMaskFolder(dir: string, { images = 'images', masks = 'masks' }: { images?: string; masks?: string } = {}): SegmentationSample[] {
  const imageDir = join(dir, images);
  const maskDir = join(dir, masks);
  for (const d of [imageDir, maskDir]) if (!existsSync(d)) throw new DownstreamFormatError(`${dir}: no folder '${d}'`);
  const stems = (d: string): Map<string, string> =>
    new Map(
      readdirSync(d)
        .filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()))
        .map((f) => [f.slice(0, -extname(f).length), join(d, f)]),
    );
  const imageFiles = stems(imageDir);
  const maskFiles = stems(maskDir);
  const missing = [...imageFiles.keys()].filter((s) => !maskFiles.has(s));
  if (missing.length > 0) throw new DownstreamFormatError(`${dir}: ${missing.length} image(s) without a mask in ${maskDir} (first: ${missing[0]})`);
  return [...imageFiles.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, image]) => ({ id, image, mask: { kind: 'file', path: maskFiles.get(id)! } }));
}
