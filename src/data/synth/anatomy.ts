// The normal thorax of a synthetic PA chest radiograph: sampled geometry (body, lungs, heart,
// mediastinum, diaphragm domes, ribs, clavicles, spine) drawn as separate density layers, and the
// exposure that turns the layers into an 8-bit image. Findings (findings.ts) and devices
// (devices.ts) draw into the same layers before composeRadiograph() runs.
//
// Sides are the patient's: the patient's right lung is on the image's left (u < 0.5), the heart
// bulges to the patient's left (image right), as on a PA film.
import { Rng } from '../../util/rng.js';
import { blur121, coverage, type Ellipse, ellipseDistance, ellipseDistanceTo, Layer, paintEllipse, paintStroke, type Point, quadratic, valueNoise } from './raster.js';

export type Side = 'left' | 'right';
export const SIDES: readonly Side[] = ['right', 'left'];

/** -1 for the patient's right (image left), +1 for the patient's left. */
export function imageSign(side: Side): number {
  return side === 'right' ? -1 : 1;
}

export interface LungGeometry {
  side: Side;
  /** The lung field before the diaphragm and the mediastinum cut it. */
  outline: Ellipse;
  /** Diaphragm dome: v = peakV + curvature * (u - peakU)^2; the lung lies above it. */
  domePeakU: number;
  domePeakV: number;
  domeCurvature: number;
  /** Hilum, where vessels start and perihilar disease centres. */
  hilum: Point;
}

export interface Anatomy {
  bodyCentreU: number;
  bodyHalfWidth: number;
  lungs: Record<Side, LungGeometry>;
  heart: Ellipse;
  /** Heart width / thorax width, measured on the drawn shapes. */
  cardiothoracicRatio: number;
  /** Half-width of the upper mediastinum at the lung apices and at the hila. */
  mediastinumHalfWidth: readonly [number, number];
  ribSpacing: number;
  ribWidth: number;
  /** Whole-film pose: small rotation (radians), zoom and shift applied at the end. */
  pose: { angle: number; zoom: number; shiftU: number; shiftV: number };
  exposure: { contrast: number; offset: number; gamma: number; noise: number };
  /** Share of a healthy lung pixel that is air (the rest: vessels and tissue). */
  airFraction: number;
}

/** v of the diaphragm under a lung at u. */
export function domeV(lung: LungGeometry, u: number): number {
  const d = u - lung.domePeakU;
  return lung.domePeakV + lung.domeCurvature * d * d;
}

/** Horizontal extent [min u, max u] of a (rotated) ellipse. */
export function ellipseSpan(e: Ellipse): [number, number] {
  const c = Math.cos(e.angle ?? 0);
  const s = Math.sin(e.angle ?? 0);
  const half = Math.sqrt(e.rx * e.rx * c * c + e.ry * e.ry * s * s);
  return [e.cx - half, e.cx + half];
}

/** Lateral u of a lung at the height of its costophrenic angle (where the dome meets the outline). */
export function lateralEdge(lung: LungGeometry): number {
  const sign = imageSign(lung.side);
  // Walk outwards from the dome peak until the dome leaves the outline.
  let u = lung.domePeakU;
  for (let k = 0; k < 200; k++) {
    const next = u + sign * 0.002;
    if (ellipseDistance(lung.outline, next, domeV(lung, next)) > 0) break;
    u = next;
  }
  return u;
}

export interface AnatomyOptions {
  /** Heart width / thorax width wanted; a normal heart when absent. */
  cardiothoracicRatio?: number;
}

/** Samples a plausible adult PA thorax. */
export function sampleAnatomy(rng: Rng, o: AnatomyOptions = {}): Anatomy {
  const bodyCentreU = 0.5 + rng.uniform(-0.012, 0.012);
  const bodyHalfWidth = rng.uniform(0.41, 0.46);
  const lungScale = rng.uniform(0.92, 1.06);
  const domeBase = rng.uniform(0.66, 0.71);
  const lungs = {} as Record<Side, LungGeometry>;
  for (const side of SIDES) {
    const sign = imageSign(side);
    const cx = bodyCentreU + sign * rng.uniform(0.19, 0.215) * lungScale;
    const outline: Ellipse = { cx, cy: rng.uniform(0.54, 0.57), rx: rng.uniform(0.17, 0.195) * lungScale, ry: rng.uniform(0.41, 0.44), angle: sign * rng.uniform(-0.04, 0.02) };
    // The right hemidiaphragm usually sits a little higher than the left.
    const domePeakV = domeBase + (side === 'right' ? -rng.uniform(0.005, 0.03) : 0);
    lungs[side] = {
      side,
      outline,
      domePeakU: cx + sign * rng.uniform(-0.02, 0.02),
      domePeakV,
      domeCurvature: rng.uniform(3.2, 4.6),
      hilum: [bodyCentreU + sign * rng.uniform(0.1, 0.125), rng.uniform(0.43, 0.47)],
    };
  }
  const thoraxWidth = lateralEdge(lungs.left) - lateralEdge(lungs.right);
  const ratio = o.cardiothoracicRatio ?? rng.uniform(0.38, 0.48);
  const angle = rng.uniform(0.25, 0.45);
  const ry = rng.uniform(0.11, 0.13) * (1 + 1.5 * Math.max(0, ratio - 0.5));
  // Choose rx so that the rotated ellipse is ratio * thoraxWidth wide.
  const halfWidth = (ratio * thoraxWidth) / 2;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const rx = Math.sqrt(Math.max(1e-4, halfWidth * halfWidth - ry * ry * s * s)) / c;
  // About a third of the heart lies right of the midline.
  const heart: Ellipse = { cx: bodyCentreU + halfWidth / 3, cy: lungs.left.domePeakV - rng.uniform(0.03, 0.055), rx, ry, angle };
  const span = ellipseSpan(heart);
  return {
    bodyCentreU,
    bodyHalfWidth,
    lungs,
    heart,
    cardiothoracicRatio: (span[1] - span[0]) / thoraxWidth,
    mediastinumHalfWidth: [rng.uniform(0.04, 0.05), rng.uniform(0.06, 0.075)],
    ribSpacing: rng.uniform(0.052, 0.062),
    ribWidth: rng.uniform(0.016, 0.022),
    pose: { angle: rng.uniform(-0.04, 0.04), zoom: rng.uniform(0.95, 1.06), shiftU: rng.uniform(-0.025, 0.025), shiftV: rng.uniform(-0.025, 0.025) },
    exposure: { contrast: rng.uniform(0.9, 1.2), offset: rng.uniform(0.03, 0.1), gamma: rng.uniform(0.85, 1.2), noise: rng.uniform(0.008, 0.03) },
    airFraction: rng.uniform(0.74, 0.84),
  };
}

/** The density layers of one film; findings and devices add to them before composition. */
export class ThoraxLayers {
  /** Soft tissue of the body (1 inside). */
  readonly body: Layer;
  /** Lung field per side (1 = lung), with the mediastinum and heart cut out. */
  readonly lung: Record<Side, Layer>;
  readonly heart: Layer;
  /** Vessels and interstitium inside the lungs (reduce the air). */
  readonly markings: Layer;
  readonly bone: Layer;
  /** Airspace or interstitial opacity from findings (replaces air). */
  readonly opacity: Layer;
  /** Pleural fluid (replaces air and is as dense as soft tissue). */
  readonly fluid: Layer;
  /** Pleural air: no lung markings, all air. */
  readonly pleuralAir: Layer;
  /** Metal and other dense foreign bodies. */
  readonly metal: Layer;

  constructor(readonly size: number) {
    const make = (): Layer => new Layer(size);
    this.body = make();
    this.lung = { right: make(), left: make() };
    this.heart = make();
    this.markings = make();
    this.bone = make();
    this.opacity = make();
    this.fluid = make();
    this.pleuralAir = make();
    this.metal = make();
  }
}

function mediastinumEdge(a: Anatomy, v: number): number {
  const [top, hilar] = a.mediastinumHalfWidth;
  const t = Math.min(1, Math.max(0, (v - 0.15) / 0.3));
  return top + (hilar - top) * t;
}

/** Draws the body, lungs, heart, vessels and bones of `a` into fresh layers. */
export function drawAnatomy(a: Anatomy, size: number, rng: Rng): ThoraxLayers {
  const L = new ThoraxLayers(size);
  const px = 1 / size;
  // Body: a rounded box (superellipse) with a neck, thinner towards the flanks.
  const top = 0.02;
  const bottom = 1.15;
  const cv = (top + bottom) / 2;
  const hb = (bottom - top) / 2;
  L.body.forEachIn(0, 0, 1, 1, (u, v, i) => {
    const x = Math.abs(u - a.bodyCentreU) / a.bodyHalfWidth;
    const y = Math.abs(v - cv) / hb;
    const r = Math.sqrt(Math.sqrt(x * x * x * x + y * y * y * y));
    const trunk = coverage((r - 1) * a.bodyHalfWidth, 2.5 * px);
    const neck = coverage(Math.abs(u - a.bodyCentreU) - 0.09, 2 * px);
    const thickness = 0.75 + 0.25 * Math.sqrt(Math.max(0, 1 - x * x));
    L.body.data[i] = Math.max(trunk, neck) * thickness;
  });

  const heartShape = a.heart;
  for (const side of SIDES) {
    const lung = a.lungs[side];
    const sign = imageSign(side);
    const o = lung.outline;
    const outlineDistance = ellipseDistanceTo(o);
    const heartDistance = ellipseDistanceTo(heartShape);
    L.lung[side].forEachIn(o.cx - o.rx - 0.01, o.cy - o.ry - 0.01, o.cx + o.rx + 0.01, o.cy + o.ry + 0.01, (u, v, i) => {
      const inOutline = coverage(outlineDistance(u, v), 1.5 * px);
      if (inOutline === 0) return;
      const aboveDome = coverage(v - domeV(lung, u), 1.5 * px);
      const lateralOfMediastinum = coverage(sign * (a.bodyCentreU - u) + mediastinumEdge(a, v), 1.5 * px);
      const outsideHeart = 1 - coverage(heartDistance(u, v), 1.5 * px);
      L.lung[side].data[i] = inOutline * aboveDome * lateralOfMediastinum * outsideHeart;
    });
    drawVessels(L.markings, lung, rng);
  }
  paintEllipse(L.heart, heartShape, 1, 'max', 1.5 * px);
  // Aortic knob, upper left of the mediastinum.
  paintEllipse(L.heart, { cx: a.bodyCentreU + a.mediastinumHalfWidth[1] * 0.7, cy: 0.35, rx: 0.035, ry: 0.03 }, 0.7, 'max');
  // Fine lung texture: a little low-frequency mottling on top of the vessels.
  const mottle = valueNoise(size, 12, rng);
  for (let i = 0; i < mottle.length; i++) L.markings.data[i] = (L.markings.data[i] ?? 0) + 0.06 * (mottle[i] ?? 0);
  drawBones(L.bone, a, rng);
  return L;
}

/** Branching vessels fanning out of the hilum, thinner and fainter towards the periphery. */
function drawVessels(layer: Layer, lung: LungGeometry, rng: Rng): void {
  const sign = imageSign(lung.side);
  const branches = 7 + rng.int(4);
  for (let b = 0; b < branches; b++) {
    // Angles from straight up (-pi/2) through lateral to down; lower lobes get more.
    const theta = -1.3 + (2.5 * (b + rng.uniform(0.2, 0.8))) / branches;
    const len = rng.uniform(0.14, 0.24);
    let p: Point = lung.hilum;
    const width = 0.011;
    let dir = theta;
    const pts: Point[] = [p];
    for (let k = 0; k < 5; k++) {
      dir += rng.uniform(-0.25, 0.25);
      const step = len / 5;
      p = [p[0] + sign * Math.cos(dir) * step, p[1] + Math.sin(dir) * step];
      pts.push(p);
      if (k >= 1 && rng.bernoulli(0.5)) {
        const side = dir + rng.pick([-0.6, 0.6]);
        const q: Point = [p[0] + sign * Math.cos(side) * step * 1.5, p[1] + Math.sin(side) * step * 1.5];
        paintStroke(layer, [p, q], width * 0.5, 0.12);
      }
    }
    paintStroke(layer, pts, width, 0.16);
  }
}

function drawBones(layer: Layer, a: Anatomy, rng: Rng): void {
  const c = a.bodyCentreU;
  // Spine: a column with brighter vertebral bodies.
  paintStroke(layer, [[c, 0], [c, 1]], 0.045, 0.05);
  for (let v = 0.02; v < 1; v += 0.052) paintEllipse(layer, { cx: c, cy: v, rx: 0.028, ry: 0.019 }, 0.05);
  for (const side of SIDES) {
    const s = imageSign(side);
    // Clavicle: from the sternal notch out and up towards the shoulder.
    const clavicleV = rng.uniform(0.17, 0.21);
    paintStroke(layer, quadratic([c + s * 0.045, clavicleV + 0.01], [c + s * 0.2, clavicleV + 0.02], [c + s * 0.34, clavicleV - 0.06]), 0.026, 0.3);
    // Humeral head at the top corner.
    paintEllipse(layer, { cx: c + s * (a.bodyHalfWidth + 0.03), cy: 0.14, rx: 0.06, ry: 0.07 }, 0.3);
    // Posterior ribs: from the spine out, slightly up, then down along the chest wall.
    const first = rng.uniform(0.1, 0.13);
    for (let k = 0; k < 10; k++) {
      const v0 = first + k * a.ribSpacing;
      const reach = a.bodyHalfWidth * (0.82 + 0.1 * Math.min(1, k / 4));
      const back = quadratic([c + s * 0.03, v0], [c + s * reach * 0.55, v0 - 0.045], [c + s * reach, v0 + 0.07 + 0.006 * k], 10);
      paintStroke(layer, back, a.ribWidth, 0.1);
      // Anterior rib: fainter, from the chest wall down towards the sternum.
      if (k < 7) {
        const front = quadratic([c + s * reach, v0 + 0.07 + 0.006 * k], [c + s * reach * 0.7, v0 + 0.11], [c + s * 0.16, v0 + 0.2], 8);
        paintStroke(layer, front, a.ribWidth * 0.9, 0.04);
      }
    }
  }
}

/** Turns the layers into an 8-bit film: densities, exposure, pose, slight blur and noise. */
export function composeRadiograph(L: ThoraxLayers, a: Anatomy, rng: Rng): Uint8Array {
  const n = L.size;
  const density = new Float32Array(n * n);
  const tissue = 0.58;
  const airDensity = 0.42;
  const { body, heart, markings, bone, opacity, fluid, pleuralAir, metal } = L;
  for (let i = 0; i < n * n; i++) {
    const b = body.data[i] ?? 0;
    const lung = Math.min(1, (L.lung.right.data[i] ?? 0) + (L.lung.left.data[i] ?? 0));
    const pa = Math.min(1, pleuralAir.data[i] ?? 0);
    const healthyAir = a.airFraction - (markings.data[i] ?? 0);
    const air = lung * Math.max(0, Math.min(1, healthyAir * (1 - pa) + pa - (opacity.data[i] ?? 0))) * (1 - Math.min(1, fluid.data[i] ?? 0));
    density[i] = b * (tissue + 0.03 * (heart.data[i] ?? 0) + 0.8 * (bone.data[i] ?? 0)) - air * airDensity + (metal.data[i] ?? 0);
  }
  const posed = applyPose(density, n, a.pose);
  blur121(posed, n, Math.max(1, Math.round(n / 128)));
  const { contrast, offset, gamma, noise } = a.exposure;
  const out = new Uint8Array(n * n);
  // The gamma curve as a table: a power per pixel is the slowest part otherwise.
  const steps = 4096;
  const curve = Float32Array.from({ length: steps + 1 }, (_, k) => Math.pow(k / steps, gamma));
  for (let i = 0; i < n * n; i++) {
    const x = Math.max(0, Math.min(1, offset + contrast * (posed[i] ?? 0)));
    const y = (curve[Math.round(x * steps)] ?? 0) + noise * (NORMAL_TABLE[rng.nextUint32() & (NORMAL_TABLE.length - 1)] ?? 0);
    out[i] = Math.round(255 * Math.max(0, Math.min(1, y)));
  }
  return out;
}

// Pixel noise draws from a fixed table of normals: one generator call per pixel instead of a log
// and a square root, and the table is the same in every process.
const NORMAL_TABLE: Float32Array = (() => {
  const gen = new Rng(0x5eed);
  return Float32Array.from({ length: 4096 }, () => gen.normal());
})();

/** Bilinear resampling for a small rotation, zoom and shift about the image centre. */
function applyPose(src: Float32Array, n: number, pose: Anatomy['pose']): Float32Array {
  const out = new Float32Array(n * n);
  const c = Math.cos(pose.angle) / pose.zoom;
  const s = Math.sin(pose.angle) / pose.zoom;
  const half = n / 2;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const dx = x + 0.5 - half - pose.shiftU * n;
      const dy = y + 0.5 - half - pose.shiftV * n;
      const sx = c * dx + s * dy + half - 0.5;
      const sy = -s * dx + c * dy + half - 0.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const tx = sx - x0;
      const ty = sy - y0;
      if (x0 < 0 || y0 < 0 || x0 + 1 >= n || y0 + 1 >= n) continue;
      const k = y0 * n + x0;
      out[y * n + x] = ((src[k] ?? 0) * (1 - tx) + (src[k + 1] ?? 0) * tx) * (1 - ty) + ((src[k + n] ?? 0) * (1 - tx) + (src[k + n + 1] ?? 0) * tx) * ty;
    }
  }
  return out;
}
