// Report text for a synthetic film: an impression and a findings section that describe the drawn
// findings (side, zone, severity), the normal structures that are truly normal, explicit negations
// of some absent classes, and the devices. Templates vary and the findings sentences are shuffled.
// A finding can be reported with a hedge ("possible ...") or left out; the case records which, so
// labels and text can be checked against each other. Positive sentences never start with "No" and
// every negation of a class word does, which is what the label/text test relies on.
import type { Rng } from '../../util/rng.js';
import type { Side } from './anatomy.js';
import type { Devices } from './devices.js';
import { type Finding, type FindingClass, FINDING_CLASSES, type Severity, type Zone } from './findings.js';

/** How a finding appears in the report. */
export type Mention = 'stated' | 'hedged' | 'omitted';

export interface Report {
  impression: string[];
  findings: string[];
}

/** Words that name each class in a report (lower case); a test checks mentions with them. */
export const CLASS_WORDS: Record<FindingClass, RegExp> = {
  Atelectasis: /atelecta/i,
  Cardiomegaly: /cardiomegaly|heart is \w* ?enlarged|enlarged cardiac|silhouette is enlarged|heart may be/i,
  Consolidation: /consolidation/i,
  Edema: /edema/i,
  'Pleural Effusion': /effusion/i,
  Pneumothorax: /pneumothorax/i,
};

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function sideWord(sides: readonly Side[]): string {
  return sides.length === 2 ? 'bilateral' : (sides[0] ?? 'right');
}

const SIZE: Record<Severity, string[]> = { mild: ['small', 'trace', 'small'], moderate: ['moderate'], severe: ['large'] };
const DEGREE: Record<Severity, string[]> = { mild: ['mild', 'minimal'], moderate: ['moderate'], severe: ['severe', 'marked', 'extensive'] };
const ADVERB: Record<Severity, string[]> = { mild: ['mildly'], moderate: ['moderately'], severe: ['markedly', 'severely'] };

function lobe(side: Side, zone: Zone): string {
  if (zone === 'middle') return side === 'right' ? 'right middle lobe' : 'lingula';
  return `${side} ${zone} lobe`;
}

/** One sentence stating (or hedging) a finding; `short` for the impression. */
function describe(f: Finding, hedged: boolean, short: boolean, rng: Rng): string {
  const side = sideWord(f.sides);
  const both = f.sides.length === 2;
  const deg = rng.pick(DEGREE[f.severity]);
  switch (f.kind) {
    case 'Atelectasis': {
      const where = both ? rng.pick(['bibasilar', 'bilateral basilar']) : `${side} basilar`;
      const at = both ? 'at both lung bases' : `at the ${side} ${rng.pick(['base', 'lung base'])}`;
      if (hedged) return rng.pick([`Possible ${where} atelectasis.`, `Linear opacity ${at} may represent atelectasis.`]);
      if (short) return rng.pick([`${cap(deg)} ${where} atelectasis.`, `${cap(where)} atelectasis.`]);
      return rng.pick([
        `There is ${deg} plate-like atelectasis ${at}.`,
        `Linear opacity ${at} consistent with atelectasis.`,
        `Atelectasis is present ${at}.`,
        `${cap(where)} atelectasis with slight volume loss.`,
        `${cap(deg)} ${where} atelectasis.`,
      ]);
    }
    case 'Cardiomegaly': {
      const adv = rng.pick(ADVERB[f.severity]);
      if (hedged) return rng.pick(['Possible mild cardiomegaly.', 'The heart may be mildly enlarged.']);
      if (short) return rng.pick([`${cap(deg)} cardiomegaly.`, 'Cardiomegaly.']);
      return rng.pick([
        'Cardiomegaly is present.',
        `There is ${deg} cardiomegaly.`,
        `The heart is ${adv} enlarged.`,
        'The cardiac silhouette is enlarged, consistent with cardiomegaly.',
        `${cap(deg)} cardiomegaly.`,
      ]);
    }
    case 'Consolidation': {
      const zone = f.zone ?? 'lower';
      const where = both ? `both ${zone} zones` : `the ${lobe(f.sides[0] ?? 'right', zone)}`;
      if (hedged) return rng.pick([`Possible early consolidation in ${where}.`, `Subtle opacity in ${where} may represent consolidation.`]);
      if (short) return rng.pick([`Consolidation in ${where}.`, `Consolidation in ${where}, concerning for pneumonia.`]);
      return rng.pick([
        `There is ${deg} consolidation in ${where}.`,
        `Focal consolidation in ${where}, concerning for pneumonia.`,
        `Dense airspace consolidation is seen in ${where}.`,
        `Consolidation is present in ${where}.`,
        `${cap(both ? 'bilateral' : `${side} ${zone} zone`)} consolidation.`,
      ]);
    }
    case 'Edema': {
      if (hedged) return rng.pick(['Possible mild interstitial edema.', 'Perihilar haziness may reflect early edema.']);
      if (short) return rng.pick([`${cap(deg)} pulmonary edema.`, 'Pulmonary edema.']);
      return rng.pick([
        `There is ${deg} pulmonary edema.`,
        `Perihilar haziness consistent with ${deg} pulmonary edema.`,
        'Edema is present with bilateral perihilar opacities.',
        'Bilateral perihilar opacities and septal lines, compatible with pulmonary edema.',
        `${cap(deg)} interstitial edema.`,
      ]);
    }
    case 'Pleural Effusion': {
      const size = rng.pick(SIZE[f.severity]);
      const angle = both ? 'both costophrenic angles' : `the ${side} costophrenic angle`;
      const effusions = both ? 'bilateral pleural effusions' : `${side} pleural effusion`;
      if (hedged) return rng.pick([`Possible small ${both ? 'bilateral effusions' : `${side} effusion`}.`, `Blunting of ${angle} may reflect a small effusion.`]);
      if (short) return rng.pick([`${cap(size)} ${effusions}.`, `${cap(effusions)}.`]);
      return rng.pick([
        both ? `There are ${size} bilateral pleural effusions.` : `There is a ${size} ${side} pleural effusion.`,
        `${cap(size)} ${effusions}.`,
        `Blunting of ${angle} consistent with ${both ? `${size} pleural effusions` : `a ${size} pleural effusion`}.`,
        `Pleural effusion is seen on ${both ? 'both sides' : `the ${side}`}.`,
        `${cap(size)} ${both ? 'bilateral' : side} effusion${both ? 's' : ''} with a meniscus at the base.`,
      ]);
    }
    case 'Pneumothorax': {
      const size = rng.pick(SIZE[f.severity]);
      if (hedged) return `Possible small ${side} apical pneumothorax.`;
      if (short) return rng.pick([`${cap(size)} ${side} pneumothorax.`, `${cap(side)} pneumothorax.`]);
      return rng.pick([
        `There is a ${size} ${side} pneumothorax.`,
        `${cap(size)} ${side}-sided pneumothorax.`,
        `A ${side} pneumothorax is present with a visible pleural line.`,
        `${cap(size)} ${side} pneumothorax without mediastinal shift.`,
      ]);
    }
  }
}

const NEGATIONS: Record<FindingClass, string[]> = {
  Atelectasis: ['No atelectasis.', 'No focal atelectasis.'],
  Cardiomegaly: ['No cardiomegaly.', 'Heart size is normal.', 'The cardiac silhouette is within normal limits.', 'Normal heart size.'],
  Consolidation: ['No focal consolidation.', 'No consolidation.', 'There is no focal consolidation.'],
  Edema: ['No pulmonary edema.', 'No edema.', 'There is no pulmonary edema.'],
  'Pleural Effusion': ['No pleural effusion.', 'No pleural effusions.', 'There is no pleural effusion.', 'The costophrenic angles are sharp.'],
  Pneumothorax: ['No pneumothorax.', 'There is no pneumothorax.'],
};

const DEVICE_SENTENCES: Record<Devices['present'][number], string[]> = {
  'endotracheal tube': ['An endotracheal tube is in place.', 'Endotracheal tube tip above the carina.'],
  'enteric tube': ['An enteric tube courses below the diaphragm.', 'Nasogastric tube tip in the stomach.'],
  'central line': ['A central venous catheter tip projects over the superior vena cava.', 'Central line in place.'],
  'ECG leads': ['ECG leads overlie the chest.', 'Monitoring leads project over the chest.'],
  pacemaker: ['A left chest wall pacemaker is in place.', 'Cardiac pacing device with lead in the heart.'],
};

const NORMAL_IMPRESSIONS = ['No acute cardiopulmonary process.', 'No acute cardiopulmonary abnormality.', 'Normal chest radiograph.'];
const OTHER_NORMALS = ['The mediastinal contours are normal.', 'No acute osseous abnormality.', 'The visualized osseous structures are unremarkable.', 'The hila are unremarkable.'];

/** The shortest and longest reports (impression + findings sentences). */
export const REPORT_SENTENCES = { min: 4, max: 9 } as const;

export function writeReport(findings: readonly Finding[], mentions: readonly Mention[], devices: Devices, rng: Rng): Report {
  const shown = findings.map((f, i) => ({ f, m: mentions[i] ?? 'stated' })).filter((x) => x.m !== 'omitted');
  const present = new Set(findings.map((f) => f.kind));
  const impression = shown.length === 0 ? [rng.pick(NORMAL_IMPRESSIONS)] : shown.slice(0, 2).map((x) => describe(x.f, x.m === 'hedged', true, rng));
  const required = shown.map((x) => describe(x.f, x.m === 'hedged', false, rng));
  const optional: string[] = [];
  // Negations only for classes that are truly absent; some absent classes go unmentioned.
  for (const kind of FINDING_CLASSES) if (!present.has(kind) && rng.bernoulli(0.55)) optional.push(rng.pick(NEGATIONS[kind]));
  const lungFinding = findings.some((f) => f.kind !== 'Cardiomegaly');
  if (!lungFinding) optional.push(rng.pick(['The lungs are clear.', 'Lungs are clear bilaterally.', 'The lungs are well expanded and clear.']));
  else if (!present.has('Edema')) optional.push(rng.pick(['The lungs are otherwise clear.', 'Elsewhere the lungs are clear.']));
  optional.push(...rng.shuffle([...OTHER_NORMALS]).slice(0, 2));
  for (const d of devices.present) required.push(rng.pick(DEVICE_SENTENCES[d]));
  rng.shuffle(optional);
  const target = REPORT_SENTENCES.min + rng.int(REPORT_SENTENCES.max - REPORT_SENTENCES.min + 1);
  const room = Math.max(0, Math.min(optional.length, target - impression.length - required.length));
  const body = rng.shuffle([...required, ...optional.slice(0, Math.max(room, REPORT_SENTENCES.min - impression.length - required.length))]);
  // Devices can push a busy case past the maximum; device sentences go first, findings never.
  const findingSentences = new Set(required.slice(0, shown.length));
  while (impression.length + body.length > REPORT_SENTENCES.max) {
    const device = body.findIndex((s) => Object.values(DEVICE_SENTENCES).some((list) => list.includes(s)));
    const k = device >= 0 ? device : body.findIndex((s) => !findingSentences.has(s));
    if (k < 0) break;
    body.splice(k, 1);
  }
  return { impression, findings: body };
}

/** "FINDINGS: ... IMPRESSION: ..." as one report text. */
export function reportText(r: Report): string {
  return `FINDINGS: ${r.findings.join(' ')}\n\nIMPRESSION: ${r.impression.join(' ')}`;
}
