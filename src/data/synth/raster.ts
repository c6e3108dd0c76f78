// Soft-edged drawing on square Float32Array layers. Every shape is given in normalised image
// coordinates (u right, v down, both 0..1) so a case looks the same at 64 and at 512 pixels; edges
// ramp over about one pixel (or wider when asked), which is the anti-aliasing.
import type { Rng } from '../../util/rng.js';

export type Point = readonly [number, number];

/** One density layer of a size x size image. */
export class Layer {
  readonly data: Float32Array;
  constructor(readonly size: number) {
    this.data = new Float32Array(size * size);
  }

  /** Calls `paint(u, v, index)` for every pixel centre inside the normalised box. */
  forEachIn(u0: number, v0: number, u1: number, v1: number, paint: (u: number, v: number, i: number) => void): void {
    const n = this.size;
    const x0 = Math.max(0, Math.floor(u0 * n));
    const x1 = Math.min(n - 1, Math.ceil(u1 * n));
    const y0 = Math.max(0, Math.floor(v0 * n));
    const y1 = Math.min(n - 1, Math.ceil(v1 * n));
    for (let y = y0; y <= y1; y++) {
      const v = (y + 0.5) / n;
      for (let x = x0; x <= x1; x++) paint((x + 0.5) / n, v, y * n + x);
    }
  }

  /** Width of one pixel in normalised units. */
  get pixel(): number {
    return 1 / this.size;
  }
}

/** 1 inside, 0 outside, a linear ramp `edge` wide centred on signed distance 0. */
export function coverage(signedDistance: number, edge: number): number {
  const a = 0.5 - signedDistance / edge;
  return a <= 0 ? 0 : a >= 1 ? 1 : a;
}

export interface Ellipse {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  /** Radians, clockwise in the image. */
  angle?: number;
}

/** Approximate signed distance to an ellipse's outline (negative inside). */
export function ellipseDistance(e: Ellipse, u: number, v: number): number {
  return ellipseDistanceTo(e)(u, v);
}

/** ellipseDistance with the rotation worked out once, for per-pixel loops. */
export function ellipseDistanceTo(e: Ellipse): (u: number, v: number) => number {
  const c = Math.cos(e.angle ?? 0) / e.rx;
  const s = Math.sin(e.angle ?? 0) / e.rx;
  const c2 = Math.cos(e.angle ?? 0) / e.ry;
  const s2 = Math.sin(e.angle ?? 0) / e.ry;
  const r = Math.min(e.rx, e.ry);
  const { cx, cy } = e;
  return (u, v) => {
    const dx = u - cx;
    const dy = v - cy;
    const x = dx * c + dy * s;
    const y = -dx * s2 + dy * c2;
    return (Math.sqrt(x * x + y * y) - 1) * r;
  };
}

/** How a shape's value meets what is already in the layer. */
export type Blend = 'add' | 'max';

function put(layer: Layer, i: number, value: number, blend: Blend): void {
  const d = layer.data;
  if (blend === 'add') d[i] = (d[i] ?? 0) + value;
  else if (value > (d[i] ?? 0)) d[i] = value;
}

export function paintEllipse(layer: Layer, e: Ellipse, value: number, blend: Blend = 'add', edge = 0): void {
  const w = Math.max(edge, 1.2 * layer.pixel);
  const r = Math.max(e.rx, e.ry) + w;
  const distance = ellipseDistanceTo(e);
  layer.forEachIn(e.cx - r, e.cy - r, e.cx + r, e.cy + r, (u, v, i) => {
    const a = coverage(distance(u, v), w);
    if (a > 0) put(layer, i, value * a, blend);
  });
}

/** A polyline `width` wide; each pixel takes the nearest segment, so joints are not doubled. */
export function paintStroke(layer: Layer, points: readonly Point[], width: number, value: number, blend: Blend = 'add', edge = 0): void {
  if (points.length < 2) return;
  const n = layer.size;
  const w = Math.max(edge, 1.1 * layer.pixel);
  // A stroke thinner than a pixel keeps its total density but spreads over one pixel.
  const drawn = Math.max(width, layer.pixel);
  const strength = value * Math.min(1, width / layer.pixel);
  const pad = drawn / 2 + w;
  // Nearest squared distance per pixel, filled one segment's box at a time.
  const nearest = scratch(n);
  const touched: number[] = [];
  for (let k = 1; k < points.length; k++) {
    const [ax, ay] = points[k - 1] as Point;
    const [bx, by] = points[k] as Point;
    const dx = bx - ax;
    const dy = by - ay;
    const len2 = dx * dx + dy * dy;
    layer.forEachIn(Math.min(ax, bx) - pad, Math.min(ay, by) - pad, Math.max(ax, bx) + pad, Math.max(ay, by) + pad, (u, v, i) => {
      const t = len2 > 0 ? Math.min(1, Math.max(0, ((u - ax) * dx + (v - ay) * dy) / len2)) : 0;
      const ex = u - ax - t * dx;
      const ey = v - ay - t * dy;
      const d2 = ex * ex + ey * ey;
      const old = nearest[i] ?? Infinity;
      if (old === Infinity) touched.push(i);
      if (d2 < old) nearest[i] = d2;
    });
  }
  for (const i of touched) {
    const a = coverage(Math.sqrt(nearest[i] ?? Infinity) - drawn / 2, w);
    nearest[i] = Infinity;
    if (a > 0) put(layer, i, strength * a, blend);
  }
}

const scratchBuffers = new Map<number, Float32Array>();

/** A per-size buffer of +Infinity that paintStroke restores after each use. */
function scratch(size: number): Float32Array {
  let buffer = scratchBuffers.get(size);
  if (buffer === undefined) {
    buffer = new Float32Array(size * size).fill(Infinity);
    scratchBuffers.set(size, buffer);
  }
  return buffer;
}

/** Points along a quadratic Bezier curve. */
export function quadratic(p0: Point, p1: Point, p2: Point, steps = 12): Point[] {
  const out: Point[] = [];
  for (let k = 0; k <= steps; k++) {
    const t = k / steps;
    const a = (1 - t) * (1 - t);
    const b = 2 * (1 - t) * t;
    const c = t * t;
    out.push([a * p0[0] + b * p1[0] + c * p2[0], a * p0[1] + b * p1[1] + c * p2[1]]);
  }
  return out;
}

/** An isotropic Gaussian bump of peak `amplitude`, added (cut at 3 sigma). */
export function paintGaussian(layer: Layer, cx: number, cy: number, sigmaU: number, sigmaV: number, amplitude: number): void {
  layer.forEachIn(cx - 3 * sigmaU, cy - 3 * sigmaV, cx + 3 * sigmaU, cy + 3 * sigmaV, (u, v, i) => {
    const x = (u - cx) / sigmaU;
    const y = (v - cy) / sigmaV;
    layer.data[i] = (layer.data[i] ?? 0) + amplitude * Math.exp(-0.5 * (x * x + y * y));
  });
}

/** Smooth random field in [0, 1): a grid x grid lattice of uniforms, bilinearly interpolated. */
export function valueNoise(size: number, grid: number, rng: Rng): Float32Array {
  const g = grid + 1;
  const lattice = Float32Array.from({ length: g * g }, () => rng.next());
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const fy = ((y + 0.5) / size) * grid;
    const gy = Math.min(grid - 1, Math.floor(fy));
    const ty = smooth(fy - gy);
    for (let x = 0; x < size; x++) {
      const fx = ((x + 0.5) / size) * grid;
      const gx = Math.min(grid - 1, Math.floor(fx));
      const tx = smooth(fx - gx);
      const a = lattice[gy * g + gx] ?? 0;
      const b = lattice[gy * g + gx + 1] ?? 0;
      const c = lattice[(gy + 1) * g + gx] ?? 0;
      const d = lattice[(gy + 1) * g + gx + 1] ?? 0;
      out[y * size + x] = (a * (1 - tx) + b * tx) * (1 - ty) + (c * (1 - tx) + d * tx) * ty;
    }
  }
  return out;
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/** In-place [1 2 1]/4 blur along both axes, `passes` times (edges clamp). */
export function blur121(data: Float32Array, size: number, passes: number): void {
  const tmp = new Float32Array(size);
  for (let p = 0; p < passes; p++) {
    for (let y = 0; y < size; y++) {
      const row = y * size;
      for (let x = 0; x < size; x++) tmp[x] = data[row + x] ?? 0;
      for (let x = 0; x < size; x++) data[row + x] = 0.25 * ((tmp[Math.max(0, x - 1)] ?? 0) + 2 * (tmp[x] ?? 0) + (tmp[Math.min(size - 1, x + 1)] ?? 0));
    }
    for (let x = 0; x < size; x++) {
      for (let y = 0; y < size; y++) tmp[y] = data[y * size + x] ?? 0;
      for (let y = 0; y < size; y++) data[y * size + x] = 0.25 * ((tmp[Math.max(0, y - 1)] ?? 0) + 2 * (tmp[y] ?? 0) + (tmp[Math.min(size - 1, y + 1)] ?? 0));
    }
  }
}
