// Things on a film that carry no label: support tubes and lines, ECG leads, a pacemaker and the
// side marker. They are sampled independently of the findings, so a model cannot use them as a
// shortcut, and they are mentioned in the report when present.
import type { Rng } from '../../util/rng.js';
import { type Anatomy, imageSign, type ThoraxLayers } from './anatomy.js';
import { type Layer, paintEllipse, paintStroke, type Point, quadratic } from './raster.js';

export type Device = 'endotracheal tube' | 'enteric tube' | 'central line' | 'ECG leads' | 'pacemaker';
export const DEVICES: readonly Device[] = ['endotracheal tube', 'enteric tube', 'central line', 'ECG leads', 'pacemaker'];

export interface Devices {
  present: Device[];
  /** The lead marker letter and which image corner it sits in. */
  marker: { letter: 'L' | 'R'; corner: 'left' | 'right' } | null;
}

export function sampleDevices(rng: Rng): Devices {
  const chance: Record<Device, number> = { 'endotracheal tube': 0.1, 'enteric tube': 0.1, 'central line': 0.12, 'ECG leads': 0.2, pacemaker: 0.06 };
  const present = DEVICES.filter((d) => rng.bernoulli(chance[d]));
  const marker = rng.bernoulli(0.7) ? { letter: rng.pick(['L', 'R'] as const), corner: rng.pick(['left', 'right'] as const) } : null;
  return { present, marker };
}

// 3x5 block letters, rows top to bottom.
const GLYPHS: Record<'L' | 'R', string[]> = {
  L: ['#..', '#..', '#..', '#..', '###'],
  R: ['##.', '#.#', '##.', '#.#', '#.#'],
};

function drawMarker(layer: Layer, letter: 'L' | 'R', u0: number, v0: number, cell: number): void {
  (GLYPHS[letter] ?? []).forEach((row, r) => {
    [...row].forEach((c, k) => {
      if (c !== '#') return;
      const cu = u0 + (k + 0.5) * cell;
      const cv = v0 + (r + 0.5) * cell;
      paintStroke(layer, [[cu - cell * 0.5, cv], [cu + cell * 0.5, cv]], cell, 1.2, 'max');
    });
  });
}

export function drawDevices(L: ThoraxLayers, a: Anatomy, d: Devices, rng: Rng): void {
  const c = a.bodyCentreU;
  const m = L.metal;
  for (const device of d.present) {
    switch (device) {
      case 'endotracheal tube': {
        const tip = rng.uniform(0.28, 0.34);
        paintStroke(m, [[c + 0.004, 0], [c, tip]], 0.016, 0.25);
        paintStroke(m, [[c + 0.004, 0], [c, tip]], 0.005, -0.12);
        break;
      }
      case 'enteric tube':
        paintStroke(m, [[c - 0.01, 0], [c - 0.005, 0.45], ...quadratic([c + 0.01, 0.7], [c + 0.08, 0.84], [c + 0.16, 0.82], 6)], 0.008, 0.35);
        break;
      case 'central line': {
        const s = rng.pick([-1, 1]);
        paintStroke(m, [...quadratic([c + s * 0.32, 0.24], [c + s * 0.1, 0.21], [c + s * 0.035, 0.3], 8), [c + s * 0.03, rng.uniform(0.36, 0.42)]], 0.007, 0.4);
        break;
      }
      case 'ECG leads': {
        const n = 2 + rng.int(3);
        for (let k = 0; k < n; k++) {
          const p: Point = [rng.uniform(0.12, 0.88), rng.uniform(0.12, 0.5)];
          paintEllipse(m, { cx: p[0], cy: p[1], rx: 0.018, ry: 0.018 }, 0.5);
          paintEllipse(m, { cx: p[0], cy: p[1], rx: 0.008, ry: 0.008 }, 0.3);
          const out: Point = [p[0] < 0.5 ? 0 : 1, p[1] + rng.uniform(-0.2, 0.2)];
          paintStroke(m, quadratic(p, [(p[0] + out[0]) / 2, p[1] + rng.uniform(-0.1, 0.1)], out, 8), 0.005, 0.3);
        }
        break;
      }
      case 'pacemaker': {
        const s = imageSign('left');
        const box: Point = [c + s * rng.uniform(0.22, 0.3), rng.uniform(0.2, 0.25)];
        paintEllipse(m, { cx: box[0], cy: box[1], rx: 0.045, ry: 0.032, angle: 0.2 }, 1.0, 'max');
        const heart = a.heart;
        paintStroke(m, quadratic(box, [c + 0.02, 0.3], [heart.cx - heart.rx * 0.3, heart.cy + heart.ry * 0.2], 10), 0.006, 0.6);
        break;
      }
    }
  }
  if (d.marker !== null) {
    const cell = 0.012;
    const u0 = d.marker.corner === 'left' ? rng.uniform(0.03, 0.08) : 1 - rng.uniform(0.08, 0.12);
    drawMarker(m, d.marker.letter, u0, rng.uniform(0.03, 0.08), cell);
  }
}
