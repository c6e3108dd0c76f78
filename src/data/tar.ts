// A minimal tar reader (ustar and GNU long names) for report archives such as NLMCXR_reports.tgz;
// gzip is undone with node:zlib. Only regular files are returned.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface TarEntry {
  path: string;
  data: Buffer;
}

const BLOCK = 512;

function cString(buf: Buffer, start: number, length: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end === -1 || end > start + length ? start + length : end);
}

/** Regular files of a .tar or .tar.gz / .tgz buffer (gzip detected by its magic bytes). */
export function readTar(archive: Buffer): TarEntry[] {
  const tar = archive[0] === 0x1f && archive[1] === 0x8b ? gunzipSync(archive) : archive;
  const entries: TarEntry[] = [];
  let longName: string | undefined;
  for (let off = 0; off + BLOCK <= tar.length; ) {
    const header = tar.subarray(off, off + BLOCK);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    const size = Number.parseInt(cString(header, 124, 12).trim() || '0', 8);
    if (!Number.isFinite(size)) throw new SyntaxError(`tar: bad size field in the header at byte ${off}`);
    const type = String.fromCharCode(header[156] ?? 0);
    const prefix = header.toString('latin1', 257, 262) === 'ustar' ? cString(header, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/` : '') + cString(header, 0, 100);
    const data = tar.subarray(off + BLOCK, off + BLOCK + size);
    if (data.length < size) throw new SyntaxError(`tar: '${name}' is truncated`);
    longName = undefined;
    if (type === 'L') longName = cString(data, 0, size);
    else if (type === '0' || type === '\0') entries.push({ path: name, data });
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return entries;
}

export function readTarFile(path: string): TarEntry[] {
  return readTar(readFileSync(path));
}
