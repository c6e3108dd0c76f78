// Evaluation figures as SVG rendered to PNG by sharp (librsvg, DejaVu Sans), in the style of
// src/util/plot.ts: a confusion-matrix heat map, and the pieces the alignment maps need (a
// colormap, wrapped captions, raster images embedded as PNG data URIs). Self-contained so that
// it can move into src/util/plot.ts.
import sharp from 'sharp';

export const FONT = 'DejaVu Sans';

export const escapeXml = (s: string): string => s.replace(/[<>&'"]/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[c]};`);

export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}

// matplotlib's viridis at 9 evenly spaced points; linear in between.
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** viridis(t) for t in [0, 1] (clamped) as [r, g, b] bytes. */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i]!;
  const b = VIRIDIS[i + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * f)) as [number, number, number];
}

export const rgb = ([r, g, b]: readonly [number, number, number]): string => `rgb(${r},${g},${b})`;

/** Greedy word wrap to lines of at most `maxChars` (a longer word is cut). */
export function wrapText(text: string, maxChars: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (let word of text.split(/\s+/).filter((w) => w !== '')) {
    while (word.length > maxChars) {
      if (line !== '') lines.push(line);
      lines.push(word.slice(0, maxChars));
      word = word.slice(maxChars);
      line = '';
    }
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= maxChars) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** Characters of DejaVu Sans at `fontSize` that fit in `width` pixels (its average advance is about 0.6 em). */
export const charsFitting = (width: number, fontSize: number): number => Math.max(8, Math.floor(width / (fontSize * 0.6)));

/** SVG <text> of several lines starting at (x, y) (the first baseline). */
export function textLines(lines: readonly string[], x: number, y: number, { size = 12, lineHeight = size * 1.3, anchor = 'start', color = '#222', weight = 'normal' }: { size?: number; lineHeight?: number; anchor?: 'start' | 'middle' | 'end'; color?: string; weight?: string } = {}): string {
  const spans = lines.map((l, i) => `<tspan x="${x}" dy="${i === 0 ? 0 : lineHeight}">${escapeXml(l)}</tspan>`).join('');
  return `<text x="${x}" y="${y}" font-family="${FONT}" font-size="${size}" font-weight="${weight}" fill="${color}" text-anchor="${anchor}">${spans}</text>`;
}

/** An RGB raster as an SVG <image> (PNG data URI) placed at (x, y). */
export async function rasterImage(pixels: Uint8Array, width: number, height: number, x: number, y: number): Promise<string> {
  const png = await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width, height, channels: 3 } }).png().toBuffer();
  const href = `data:image/png;base64,${png.toString('base64')}`;
  return `<image x="${x}" y="${y}" width="${width}" height="${height}" href="${href}" xlink:href="${href}"/>`;
}

export function svgDocument(width: number, height: number, body: string, background = '#ffffff'): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="${width}" height="${height}" fill="${background}"/>${body}</svg>`;
}

/** A horizontal colour bar from lo to hi with end labels, `width` x 12 at (x, y). */
export function colorBar(x: number, y: number, width: number, lo: number, hi: number, label: string): string {
  const stops = VIRIDIS.map((c, i) => `<stop offset="${(i / (VIRIDIS.length - 1)).toFixed(3)}" stop-color="${rgb(c)}"/>`).join('');
  return [
    `<defs><linearGradient id="cbar" x1="0" x2="1" y1="0" y2="0">${stops}</linearGradient></defs>`,
    `<rect x="${x}" y="${y}" width="${width}" height="12" fill="url(#cbar)" stroke="#444" stroke-width="0.5"/>`,
    textLines([lo.toPrecision(4)], x, y + 26, { size: 11 }),
    textLines([hi.toPrecision(4)], x + width, y + 26, { size: 11, anchor: 'end' }),
    textLines([label], x + width / 2, y + 26, { size: 11, anchor: 'middle' }),
  ].join('');
}

export interface ConfusionFigureOptions {
  title?: string;
  /** Side of one cell in pixels (default 72). */
  cell?: number;
}

/**
 * The confusion matrix as a heat map: rows = true class, columns = predicted, each cell the
 * count and its share of the row (recall on the diagonal); colour by the row share.
 */
export function confusionMatrixSvg(confusion: readonly (readonly number[])[], names: readonly string[], { title = 'Confusion matrix', cell = 72 }: ConfusionFigureOptions = {}): string {
  const n = names.length;
  if (confusion.length !== n || confusion.some((r) => r.length !== n)) throw new RangeError(`confusionMatrixSvg: the matrix must be ${n}x${n} for ${n} class names`);
  const labelWidth = Math.min(220, Math.max(60, ...names.map((s) => s.length * 7.5))) + 16;
  const top = 56;
  const left = labelWidth + 28;
  const bottomLabels = Math.min(120, Math.max(30, ...names.map((s) => s.length * 4.8))) + 40;
  const width = left + n * cell + 24;
  const height = top + n * cell + bottomLabels;
  const parts: string[] = [
    textLines([title], width / 2, 22, { size: 15, anchor: 'middle', weight: 'bold' }),
    textLines(['count and share of the true class (colour: the share)'], width / 2, 40, { size: 11, anchor: 'middle', color: '#555' }),
  ];
  for (let t = 0; t < n; t++) {
    const rowTotal = confusion[t]!.reduce((a, b) => a + b, 0);
    for (let p = 0; p < n; p++) {
      const count = confusion[t]![p]!;
      const share = rowTotal > 0 ? count / rowTotal : 0;
      const [r, g, b] = viridis(share);
      const x = left + p * cell;
      const y = top + t * cell;
      const ink = 0.299 * r + 0.587 * g + 0.114 * b > 140 ? '#111' : '#fff';
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${rgb([r, g, b])}" stroke="#fff" stroke-width="1"/>`);
      parts.push(textLines([String(count)], x + cell / 2, y + cell / 2, { size: 14, anchor: 'middle', color: ink, weight: 'bold' }));
      parts.push(textLines([`${(100 * share).toFixed(1)}%`], x + cell / 2, y + cell / 2 + 16, { size: 10, anchor: 'middle', color: ink }));
    }
    parts.push(textLines([names[t]!], left - 8, top + t * cell + cell / 2 + 4, { size: 12, anchor: 'end' }));
  }
  for (let p = 0; p < n; p++) {
    const x = left + p * cell + cell / 2;
    const y = top + n * cell + 10;
    parts.push(`<text x="${x}" y="${y}" font-family="${FONT}" font-size="12" fill="#222" text-anchor="end" transform="rotate(-40 ${x} ${y})">${escapeXml(names[p]!)}</text>`);
  }
  parts.push(textLines(['true class'], 14, top + (n * cell) / 2, { size: 12, anchor: 'middle' }).replace('<text ', `<text transform="rotate(-90 14 ${top + (n * cell) / 2})" `));
  parts.push(textLines(['predicted class'], left + (n * cell) / 2, height - 8, { size: 12, anchor: 'middle' }));
  return svgDocument(width, height, parts.join(''));
}

export async function confusionMatrixPng(confusion: readonly (readonly number[])[], names: readonly string[], options: ConfusionFigureOptions = {}): Promise<Buffer> {
  return svgToPng(confusionMatrixSvg(confusion, names, options));
}
