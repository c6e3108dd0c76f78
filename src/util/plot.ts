// Line charts as SVG (axes, ticks, legend, log scales, vertical markers, a grid of panels),
// rendered to PNG by sharp (librsvg, with the system's fonts: DejaVu Sans). General enough for
// loss curves, ROC curves and the like; long series are averaged into buckets of about one
// pixel, so a million-step log still draws quickly.
import sharp from 'sharp';

export interface Series {
  name: string;
  x: ArrayLike<number>;
  /** null or NaN leave a gap in the line. */
  y: ArrayLike<number | null>;
  color?: string;
  /** SVG stroke-dasharray, e.g. '4 3'. */
  dash?: string;
  width?: number;
}

export interface VerticalLine {
  x: number;
  label?: string;
  color?: string;
}

export interface Panel {
  title?: string;
  series: Series[];
  xLabel?: string;
  yLabel?: string;
  logX?: boolean;
  logY?: boolean;
  /** Fixed axis ranges; by default the data's (padded 5% on linear axes). */
  xRange?: [number, number];
  yRange?: [number, number];
  vLines?: VerticalLine[];
  /** Draw the legend (default: when there are two or more series). */
  legend?: boolean;
}

export interface PlotOptions {
  /** Panels per row (default: up to 2). */
  columns?: number;
  panelWidth?: number;
  panelHeight?: number;
  title?: string;
  fontFamily?: string;
  background?: string;
}

/** Tableau 10, the matplotlib default cycle. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const MARGIN = { left: 64, right: 16, top: 28, bottom: 42 };

/** m·10^e as the nearest double (10 ** -6 is not quite 1e-6). */
const decimal = (m: number, e: number): number => Number(`${m}e${e}`);

/** Round ticks covering [min, max]: steps of 1, 2 or 5 × 10^k, about `count` of them (d3's rule). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const raw = (max - min) / Math.max(1, count);
  const e = Math.floor(Math.log10(raw));
  const error = raw / 10 ** e;
  const m = error >= Math.sqrt(50) ? 10 : error >= Math.sqrt(10) ? 5 : error >= Math.SQRT2 ? 2 : 1;
  const step = decimal(m, e);
  const ticks: number[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k <= Math.floor(max / step + 1e-9); k++) ticks.push(k === 0 ? 0 : decimal(k * m, e));
  return ticks;
}

/** Powers of ten within [min, max] (both > 0); 2 and 5 multiples too when it spans under 2 decades. */
export function logTicks(min: number, max: number): number[] {
  if (!(min > 0) || !(max > 0)) return [];
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const mults = Math.log10(max / min) < 2 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e++) for (const m of mults) {
    const v = decimal(m, e);
    if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) ticks.push(v);
  }
  return ticks;
}

/** A tick label: plain decimals at ordinary magnitudes, '1e-5' / '2.5e-6' otherwise. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e6) {
    const [m, e] = v.toExponential(2).split('e') as [string, string];
    return `${m.replace(/\.?0+$/, '')}e${Number(e)}`;
  }
  return String(Number(v.toPrecision(6)));
}

const escapeXml = (s: string): string => s.replace(/[<>&'"]/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[c]};`);

interface Axis {
  lo: number;
  hi: number;
  log: boolean;
}

function axisFrom(values: number[], log: boolean, fixed: [number, number] | undefined): Axis {
  if (fixed) return { lo: fixed[0], hi: fixed[1], log };
  const usable = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (usable.length === 0) return { lo: log ? 1 : 0, hi: log ? 10 : 1, log };
  let lo = Math.min(...usable);
  let hi = Math.max(...usable);
  if (log) {
    if (lo === hi) [lo, hi] = [lo / 2, hi * 2];
    const pad = (hi / lo) ** 0.05;
    return { lo: lo / pad, hi: hi * pad, log };
  }
  if (lo === hi) [lo, hi] = [lo - (Math.abs(lo) || 1) / 2, hi + (Math.abs(hi) || 1) / 2];
  const pad = (hi - lo) * 0.05;
  return { lo: lo - pad, hi: hi + pad, log };
}

function project(a: Axis, v: number, from: number, to: number): number {
  const t = a.log ? (Math.log10(v) - Math.log10(a.lo)) / (Math.log10(a.hi) - Math.log10(a.lo)) : (v - a.lo) / (a.hi - a.lo);
  return from + t * (to - from);
}

/** Points of one series, averaged into at most `buckets` buckets of equal count; gaps kept as null. */
function bucketed(s: Series, buckets: number): ([number, number] | null)[] {
  const n = Math.min(s.x.length, s.y.length);
  const per = Math.max(1, Math.ceil(n / buckets));
  const out: ([number, number] | null)[] = [];
  for (let i = 0; i < n; i += per) {
    let sx = 0;
    let sy = 0;
    let k = 0;
    for (let j = i; j < Math.min(n, i + per); j++) {
      const y = s.y[j];
      if (y === null || y === undefined || !Number.isFinite(y) || !Number.isFinite(s.x[j]!)) continue;
      sx += s.x[j]!;
      sy += y;
      k++;
    }
    out.push(k === 0 ? null : [sx / k, sy / k]);
  }
  return out;
}

function panelSvg(p: Panel, x0: number, y0: number, w: number, h: number, font: string): string {
  const left = x0 + MARGIN.left;
  const right = x0 + w - MARGIN.right;
  const top = y0 + MARGIN.top;
  const bottom = y0 + h - MARGIN.bottom;
  const pts = p.series.map((s) => bucketed(s, Math.max(2, Math.round(right - left))));
  const xs = pts.flat().flatMap((q) => (q ? [q[0]] : []));
  const ys = pts.flat().flatMap((q) => (q ? [q[1]] : []));
  const xa = axisFrom(xs, p.logX ?? false, p.xRange);
  const ya = axisFrom(ys, p.logY ?? false, p.yRange);
  const px = (v: number): number => project(xa, v, left, right);
  const py = (v: number): number => project(ya, v, bottom, top);
  const out: string[] = [];
  const text = (x: number, y: number, s: string, attrs = '', size = 11): string =>
    `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="${font}" font-size="${size}" ${attrs}>${escapeXml(s)}</text>`;

  out.push(`<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#444" stroke-width="1"/>`);
  const xticks = xa.log ? logTicks(xa.lo, xa.hi) : niceTicks(xa.lo, xa.hi, Math.max(2, Math.floor((right - left) / 80)));
  const yticks = ya.log ? logTicks(ya.lo, ya.hi) : niceTicks(ya.lo, ya.hi, Math.max(2, Math.floor((bottom - top) / 40)));
  for (const t of xticks) {
    const x = px(t);
    out.push(`<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${bottom}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${x.toFixed(1)}" y1="${bottom}" x2="${x.toFixed(1)}" y2="${bottom + 4}" stroke="#444"/>`);
    out.push(text(x, bottom + 16, formatTick(t), 'text-anchor="middle"'));
  }
  for (const t of yticks) {
    const y = py(t);
    out.push(`<line x1="${left}" y1="${y.toFixed(1)}" x2="${right}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${left - 4}" y1="${y.toFixed(1)}" x2="${left}" y2="${y.toFixed(1)}" stroke="#444"/>`);
    out.push(text(left - 6, y + 4, formatTick(t), 'text-anchor="end"'));
  }
  for (const v of p.vLines ?? []) {
    if (!(v.x >= xa.lo && v.x <= xa.hi)) continue;
    const x = px(v.x);
    out.push(`<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${bottom}" stroke="${v.color ?? '#888'}" stroke-dasharray="5 4"/>`);
    if (v.label) out.push(text(x + 3, top + 12, v.label, 'fill="#666"'));
  }
  // Clip the data to the plot area; everything else is drawn outside it.
  const clip = `clip${Math.round(x0)}_${Math.round(y0)}`;
  out.push(`<clipPath id="${clip}"><rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}"/></clipPath>`);
  p.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const segments: string[] = [];
    let current = '';
    for (const q of pts[i]!) {
      const ok = q !== null && (!xa.log || q[0] > 0) && (!ya.log || q[1] > 0);
      if (!ok) {
        if (current) segments.push(current);
        current = '';
        continue;
      }
      current += `${current ? 'L' : 'M'}${px(q[0]).toFixed(1)},${py(q[1]).toFixed(1)}`;
    }
    if (current) segments.push(current);
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    if (segments.length > 0) out.push(`<path d="${segments.join('')}" fill="none" stroke="${color}" stroke-width="${s.width ?? 1.5}"${dash} clip-path="url(#${clip})"/>`);
  });
  if (p.title) out.push(text((left + right) / 2, y0 + 18, p.title, 'text-anchor="middle" font-weight="bold"', 13));
  if (p.xLabel) out.push(text((left + right) / 2, bottom + 34, p.xLabel, 'text-anchor="middle"'));
  if (p.yLabel) out.push(`<g transform="translate(${x0 + 14},${(top + bottom) / 2}) rotate(-90)">${text(0, 0, p.yLabel, 'text-anchor="middle"')}</g>`);
  if (p.legend ?? p.series.length > 1) {
    // DejaVu Sans at 11 px averages about 6.6 px per character.
    const width = Math.min(right - left - 8, 34 + 6.6 * Math.max(...p.series.map((s) => s.name.length)));
    const x = right - 4 - width;
    const rows = p.series.map((s, i) => {
      const y = top + 14 + i * 15;
      const color = s.color ?? PALETTE[i % PALETTE.length]!;
      return `<line x1="${(x + 6).toFixed(1)}" y1="${y - 4}" x2="${(x + 24).toFixed(1)}" y2="${y - 4}" stroke="${color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>${text(x + 28, y, s.name)}`;
    });
    out.push(`<rect x="${x.toFixed(1)}" y="${top + 4}" width="${width.toFixed(1)}" height="${p.series.length * 15 + 4}" fill="white" fill-opacity="0.85" stroke="#ccc"/>`, ...rows);
  }
  return out.join('\n');
}

/** The chart as an SVG document: panels laid out in rows of `columns`. */
export function linePlotSvg(panels: readonly Panel[], options: PlotOptions = {}): string {
  if (panels.length === 0) throw new RangeError('linePlot: no panels');
  const { panelWidth = 520, panelHeight = 300, fontFamily = 'DejaVu Sans', background = 'white' } = options;
  const columns = Math.max(1, Math.min(options.columns ?? 2, panels.length));
  const rows = Math.ceil(panels.length / columns);
  const head = options.title ? 30 : 0;
  const width = columns * panelWidth;
  const height = head + rows * panelHeight;
  const body = panels.map((p, i) => panelSvg(p, (i % columns) * panelWidth, head + Math.floor(i / columns) * panelHeight, panelWidth, panelHeight, fontFamily));
  const title = options.title ? `<text x="${width / 2}" y="21" font-family="${fontFamily}" font-size="16" font-weight="bold" text-anchor="middle">${escapeXml(options.title)}</text>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n<rect width="100%" height="100%" fill="${background}"/>\n${title}\n${body.join('\n')}\n</svg>\n`;
}

/** The chart as a PNG. */
export async function linePlot(panels: readonly Panel[], options: PlotOptions = {}): Promise<Buffer> {
  return sharp(Buffer.from(linePlotSvg(panels, options))).png().toBuffer();
}
