// The labelled findings of the synthetic films: what a case has (side, zone, severity), how a
// finding changes the anatomy before drawing (cardiomegaly, volume loss), and how it is drawn into
// the density layers. Shapes are chosen to stay apart at 64 px: atelectasis is a thin basal band,
// consolidation a large dense patch, edema a bilateral perihilar haze, effusion a basal fluid level
// with a meniscus, pneumothorax a dark vessel-free rim outside a thin pleural line.
import type { Rng } from '../../util/rng.js';
import { type Anatomy, domeV, imageSign, lateralEdge, type LungGeometry, type Side, SIDES, type ThoraxLayers } from './anatomy.js';
import { coverage, type Ellipse, ellipseDistanceTo, paintGaussian, paintStroke, type Point, valueNoise } from './raster.js';

/** The CheXpert five used for zero-shot evaluation, in the 5x200 index's one-hot order. */
export const ZERO_SHOT_CLASSES = ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion'] as const;
export const FINDING_CLASSES = [...ZERO_SHOT_CLASSES, 'Pneumothorax'] as const;
export const NO_FINDING = 'No Finding';
export const ALL_CLASSES = [...FINDING_CLASSES, NO_FINDING] as const;

export type FindingClass = (typeof FINDING_CLASSES)[number];
export type Zone = 'upper' | 'middle' | 'lower';
export type Severity = 'mild' | 'moderate' | 'severe';
export const SEVERITIES: readonly Severity[] = ['mild', 'moderate', 'severe'];

export interface Finding {
  kind: FindingClass;
  /** Patient sides involved; empty for the heart. */
  sides: Side[];
  /** Lung zone, for consolidation. */
  zone?: Zone;
  severity: Severity;
}

function sidesOf(rng: Rng, bilateralChance: number): Side[] {
  if (rng.bernoulli(bilateralChance)) return ['right', 'left'];
  return [rng.pick(SIDES)];
}

/** One finding of `kind` with random side, zone and severity. */
export function sampleFinding(kind: FindingClass, rng: Rng): Finding {
  const severity = rng.pick(SEVERITIES);
  switch (kind) {
    case 'Atelectasis':
      return { kind, sides: sidesOf(rng, 0.25), severity };
    case 'Cardiomegaly':
      return { kind, sides: [], severity };
    case 'Consolidation':
      return { kind, sides: sidesOf(rng, 0.1), zone: rng.pick(['upper', 'middle', 'lower'] as const), severity };
    case 'Edema':
      return { kind, sides: ['right', 'left'], severity };
    case 'Pleural Effusion':
      return { kind, sides: sidesOf(rng, 0.3), severity };
    case 'Pneumothorax':
      return { kind, sides: [rng.pick(SIDES)], severity };
  }
}

const SEVERITY_INDEX: Record<Severity, number> = { mild: 0, moderate: 1, severe: 2 };

/** Heart width / thorax width for a case: normal below 0.5, enlarged from 0.56 up. */
export function cardiothoracicRatio(findings: readonly Finding[], rng: Rng): number | undefined {
  const f = findings.find((x) => x.kind === 'Cardiomegaly');
  if (f === undefined) return undefined;
  const s = SEVERITY_INDEX[f.severity];
  return rng.uniform(0.58 + 0.04 * s, 0.61 + 0.045 * s);
}

/** Changes to the geometry that findings cause before anything is drawn (volume loss). */
export function adjustAnatomy(a: Anatomy, findings: readonly Finding[], rng: Rng): void {
  for (const f of findings) {
    if (f.kind !== 'Atelectasis') continue;
    // Volume loss: the hemidiaphragm rises on the collapsed side.
    for (const side of f.sides) a.lungs[side].domePeakV -= rng.uniform(0.015, 0.03) * (1 + SEVERITY_INDEX[f.severity] * 0.5);
  }
}

/** Draws every finding of a case into the layers. */
export function drawFindings(L: ThoraxLayers, a: Anatomy, findings: readonly Finding[], rng: Rng): void {
  for (const f of findings) {
    for (const side of f.kind === 'Cardiomegaly' ? [] : f.sides) {
      const lung = a.lungs[side];
      switch (f.kind) {
        case 'Atelectasis':
          drawAtelectasis(L, lung, f.severity, rng);
          break;
        case 'Consolidation':
          drawConsolidation(L, lung, f.zone ?? 'lower', f.severity, rng);
          break;
        case 'Edema':
          drawEdema(L, lung, f.severity, rng);
          break;
        case 'Pleural Effusion':
          drawEffusion(L, lung, f.severity, rng);
          break;
        case 'Pneumothorax':
          drawPneumothorax(L, lung, f.severity, rng);
          break;
      }
    }
  }
}

/** Vertical extent of a lung field: apex to the dome peak. */
function lungHeight(lung: LungGeometry): [number, number] {
  return [lung.outline.cy - lung.outline.ry, lung.domePeakV];
}

/** Plate-like atelectasis: one or two thin oblique bands just above the dome. */
function drawAtelectasis(L: ThoraxLayers, lung: LungGeometry, severity: Severity, rng: Rng): void {
  const s = SEVERITY_INDEX[severity];
  const sign = imageSign(lung.side);
  const lateral = lateralEdge(lung);
  const medial = lung.hilum[0];
  const bands = 1 + (rng.bernoulli(0.3 + 0.2 * s) ? 1 : 0);
  for (let b = 0; b < bands; b++) {
    const t0 = rng.uniform(0.1, 0.3);
    const t1 = rng.uniform(0.75, 0.95);
    const uA = medial + (lateral - medial) * t0;
    const uB = medial + (lateral - medial) * t1;
    const lift = rng.uniform(0.035, 0.06) + b * 0.045;
    const tiltV = rng.uniform(-0.02, 0.03);
    const p0: Point = [uA, domeV(lung, uA) - lift - tiltV];
    const p1: Point = [uB, domeV(lung, uB) - lift + tiltV];
    paintStroke(L.opacity, [p0, [(p0[0] + p1[0]) / 2 + sign * 0.005, (p0[1] + p1[1]) / 2 - 0.006], p1], 0.012 + 0.005 * s, 0.85);
  }
  // A faint haze at the base from the collapsed segments.
  paintGaussian(L.opacity, medial + (lateral - medial) * 0.5, domeV(lung, lung.domePeakU) - 0.025, 0.06, 0.02, 0.12 + 0.05 * s);
}

/** Dense, patchy airspace opacity: a cluster of overlapping blobs centred in one zone. */
function drawConsolidation(L: ThoraxLayers, lung: LungGeometry, zone: Zone, severity: Severity, rng: Rng): void {
  const s = SEVERITY_INDEX[severity];
  const [top, bottom] = lungHeight(lung);
  const zoneT = zone === 'upper' ? 0.25 : zone === 'middle' ? 0.55 : 0.8;
  const sign = imageSign(lung.side);
  const centre: Point = [lung.outline.cx + sign * rng.uniform(-0.02, 0.04), top + (bottom - top) * zoneT + rng.uniform(-0.03, 0.03)];
  const radius = 0.085 + 0.02 * s + rng.uniform(0, 0.015);
  const density = 0.7 + 0.08 * s;
  const patch = valueNoise(L.size, 9, rng);
  const blobs: Ellipse[] = [];
  const count = 5 + rng.int(4);
  for (let k = 0; k < count; k++) {
    const r = radius * rng.uniform(0.35, 0.65);
    const ang = rng.uniform(0, 2 * Math.PI);
    const dist = radius * rng.uniform(0.1, 0.7);
    blobs.push({ cx: centre[0] + Math.cos(ang) * dist, cy: centre[1] + Math.sin(ang) * dist, rx: r * rng.uniform(0.9, 1.2), ry: r * rng.uniform(0.8, 1.1) });
  }
  const edge = 0.035;
  const blobDistances = blobs.map(ellipseDistanceTo);
  L.opacity.forEachIn(centre[0] - 2 * radius, centre[1] - 2 * radius, centre[0] + 2 * radius, centre[1] + 2 * radius, (u, v, i) => {
    let d = Infinity;
    for (const distance of blobDistances) d = Math.min(d, distance(u, v));
    const a = coverage(d, edge);
    if (a > 0) L.opacity.data[i] = Math.max(L.opacity.data[i] ?? 0, a * density * (0.6 + 0.5 * (patch[i] ?? 0)));
  });
}

/** Perihilar ("bat-wing") haze, thickened vessels and Kerley lines at the lateral bases. */
function drawEdema(L: ThoraxLayers, lung: LungGeometry, severity: Severity, rng: Rng): void {
  const s = SEVERITY_INDEX[severity];
  const sign = imageSign(lung.side);
  const [hu, hv] = lung.hilum;
  paintGaussian(L.opacity, hu + sign * 0.05, hv + 0.02, 0.075 + 0.015 * s, 0.1 + 0.02 * s, 0.28 + 0.12 * s);
  paintGaussian(L.opacity, hu + sign * 0.1, hv + 0.1, 0.09, 0.1, 0.1 + 0.06 * s);
  // Kerley B lines: short horizontal lines reaching the pleura in the lower zones.
  const lateral = lateralEdge(lung);
  const lines = 4 + 2 * s + rng.int(3);
  for (let k = 0; k < lines; k++) {
    const v = domeV(lung, lateral) - rng.uniform(0.03, 0.16);
    const u = lateral - sign * rng.uniform(0.01, 0.03);
    paintStroke(L.opacity, [[u, v], [u - sign * rng.uniform(0.03, 0.05), v + rng.uniform(-0.004, 0.004)]], 0.004, 0.5);
  }
}

/** Pleural fluid at the base: a level that climbs laterally (meniscus), blunting the angle. */
function drawEffusion(L: ThoraxLayers, lung: LungGeometry, severity: Severity, rng: Rng): void {
  const s = SEVERITY_INDEX[severity];
  const lateral = lateralEdge(lung);
  const medial = lung.hilum[0];
  const base = domeV(lung, lateral);
  const depth = [rng.uniform(0.08, 0.11), rng.uniform(0.14, 0.19), rng.uniform(0.22, 0.3)][s] ?? 0.1;
  const meniscus = rng.uniform(0.04, 0.07) + 0.02 * s;
  const o = lung.outline;
  const px = 1 / L.size;
  L.fluid.forEachIn(o.cx - o.rx - 0.02, base - depth - meniscus - 0.05, o.cx + o.rx + 0.02, 1, (u, v, i) => {
    const t = Math.min(1.2, Math.max(0, (u - medial) / (lateral - medial)));
    // The fluid level climbs towards the chest wall; its top is soft as the fluid layers out.
    const level = base - depth - meniscus * t * t;
    const a = coverage(level - v, 3 * px + 0.012);
    if (a > 0) L.fluid.data[i] = Math.max(L.fluid.data[i] ?? 0, a);
  });
}

/** Pleural air: the lung edge falls away from the chest wall; the rim is dark and vessel-free. */
function drawPneumothorax(L: ThoraxLayers, lung: LungGeometry, severity: Severity, rng: Rng): void {
  const s = SEVERITY_INDEX[severity];
  const o = lung.outline;
  const sign = imageSign(lung.side);
  const rim = [rng.uniform(0.05, 0.065), rng.uniform(0.08, 0.1), rng.uniform(0.12, 0.15)][s] ?? 0.05;
  // The collapsed lung: the outline shrunk towards the hilum, most at the apex and laterally.
  const collapsed: Ellipse = { cx: o.cx - sign * rim * 0.5, cy: o.cy + rim * 0.6, rx: o.rx - rim * 0.5, ry: o.ry - rim * 0.6, angle: o.angle ?? 0 };
  const px = 1 / L.size;
  const lungMask = L.lung[lung.side];
  const collapsedDistance = ellipseDistanceTo(collapsed);
  L.pleuralAir.forEachIn(o.cx - o.rx, o.cy - o.ry, o.cx + o.rx, o.cy + o.ry, (u, v, i) => {
    const inLung = lungMask.data[i] ?? 0;
    if (inLung === 0) return;
    const outside = 1 - coverage(collapsedDistance(u, v), 1.5 * px);
    if (outside > 0) L.pleuralAir.data[i] = Math.max(L.pleuralAir.data[i] ?? 0, outside);
  });
  // The visceral pleural line, a thin white line at the collapsed lung's edge.
  L.opacity.forEachIn(collapsed.cx - collapsed.rx - 0.01, collapsed.cy - collapsed.ry - 0.01, collapsed.cx + collapsed.rx + 0.01, collapsed.cy + collapsed.ry + 0.01, (u, v, i) => {
    if ((lungMask.data[i] ?? 0) === 0) return;
    const d = Math.abs(collapsedDistance(u, v));
    const a = coverage(d - 0.003, 1.2 * px);
    if (a > 0) L.opacity.data[i] = (L.opacity.data[i] ?? 0) + 0.5 * a;
  });
  // The collapsed lung is a little denser.
  paintGaussian(L.opacity, collapsed.cx, collapsed.cy, collapsed.rx * 0.7, collapsed.ry * 0.7, 0.05 + 0.05 * s);
}
