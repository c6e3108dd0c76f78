// `generateSyntheticDataset`: the built-in default data. Each case is a pure function of
// (seed, case index) through Rng.derive, with separate streams for the case plan, the image, the
// devices and the report, so cases can be made in any order and a template change in the report
// does not move a pixel. Writes, into one folder: images/*.png, dataset.json + classes.json,
// train/val/test.json (patient-grouped, split.ts), a CheXpert-5x200-style zero-shot index built
// from single-finding test cases, synth-truth.json (the generator's ground truth, kept out of the
// strict dataset schema) and README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../../util/rng.js';
import { type ClassInfo, type DatasetRecord, makeSection, writeDatasetFile } from '../dataset-file.js';
import { splitRecords } from '../split.js';
import { composeRadiograph, drawAnatomy, sampleAnatomy } from './anatomy.js';
import { type Devices, drawDevices, sampleDevices } from './devices.js';
import { adjustAnatomy, ALL_CLASSES, cardiothoracicRatio, drawFindings, type Finding, FINDING_CLASSES, type FindingClass, NO_FINDING, sampleFinding, ZERO_SHOT_CLASSES } from './findings.js';
import { type Mention, type Report, reportText, writeReport } from './reports.js';

export { ALL_CLASSES, FINDING_CLASSES, NO_FINDING, ZERO_SHOT_CLASSES, type Finding, type FindingClass } from './findings.js';
export { CLASS_WORDS, type Mention, type Report } from './reports.js';

export const SYNTH_DEFAULTS = { n: 2000, size: 128, seed: 114514, val: 0.1, test: 0.15 } as const;
export const SYNTH_DATASET_FILE = 'dataset.json';
export const SYNTH_TRUTH_FILE = 'synth-truth.json';

/** Share of cases by composition; single CheXpert-five cases are oversampled for the zero-shot index. */
const MIX = { normal: 0.2, singleZeroShot: 0.5, singlePneumothorax: 0.05 } as const;
/** Share of findings reported with a hedge, and left out of the report. */
const HEDGED = 0.025;
const OMITTED = 0.025;

/** Everything about one case except its pixels. */
export interface SynthCase {
  index: number;
  key: string;
  imagePath: string;
  findings: Finding[];
  mentions: Mention[];
  devices: Devices;
  /** Class names in classes.json order ("No Finding" when there are none). */
  labels: string[];
  report: Report;
}

// Stream numbers under (seed, index): one per concern.
const STREAM = { plan: 0, image: 1, report: 2, devices: 3 } as const;

export function caseKey(index: number): string {
  return `synth${String(index).padStart(6, '0')}`;
}

/** The findings, devices and report of case `index`. */
export function planCase(seed: number, index: number): SynthCase {
  const rng = Rng.derive(seed, index, STREAM.plan);
  const r = rng.next();
  let kinds: FindingClass[];
  if (r < MIX.normal) kinds = [];
  else if (r < MIX.normal + MIX.singleZeroShot) kinds = [rng.pick(ZERO_SHOT_CLASSES)];
  else if (r < MIX.normal + MIX.singleZeroShot + MIX.singlePneumothorax) kinds = ['Pneumothorax'];
  else kinds = rng.shuffle([...FINDING_CLASSES]).slice(0, 2 + (rng.bernoulli(0.3) ? 1 : 0));
  kinds.sort((a, b) => FINDING_CLASSES.indexOf(a) - FINDING_CLASSES.indexOf(b));
  const findings = kinds.map((k) => sampleFinding(k, rng));
  const mentions = findings.map((): Mention => {
    const m = rng.next();
    return m < OMITTED ? 'omitted' : m < OMITTED + HEDGED ? 'hedged' : 'stated';
  });
  const devices = sampleDevices(Rng.derive(seed, index, STREAM.devices));
  const key = caseKey(index);
  return {
    index,
    key,
    imagePath: `images/${key}.png`,
    findings,
    mentions,
    devices,
    labels: kinds.length === 0 ? [NO_FINDING] : [...kinds],
    report: writeReport(findings, mentions, devices, Rng.derive(seed, index, STREAM.report)),
  };
}

export interface RenderedCase {
  pixels: Uint8Array;
  /** Heart width / thorax width as drawn. */
  cardiothoracicRatio: number;
}

/** The case's film as size x size 8-bit grey pixels, row-major. */
export function renderCase(c: SynthCase, seed: number, size: number): RenderedCase {
  const rng = Rng.derive(seed, c.index, STREAM.image);
  const ratio = cardiothoracicRatio(c.findings, rng);
  const anatomy = sampleAnatomy(rng, ratio === undefined ? {} : { cardiothoracicRatio: ratio });
  adjustAnatomy(anatomy, c.findings, rng);
  const layers = drawAnatomy(anatomy, size, rng);
  drawFindings(layers, anatomy, c.findings, rng);
  drawDevices(layers, anatomy, c.devices, Rng.derive(seed, c.index, STREAM.devices, 1));
  return { pixels: composeRadiograph(layers, anatomy, rng), cardiothoracicRatio: anatomy.cardiothoracicRatio };
}

/** An 8-bit greyscale PNG of size x size pixels. */
export function encodePng(pixels: Uint8Array, size: number): Promise<Buffer> {
  return sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width: size, height: size, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 6, adaptiveFiltering: true })
    .toBuffer();
}

export interface SynthOptions {
  out: string;
  n: number;
  size: number;
  seed: number;
  /** Split shares (defaults in SYNTH_DEFAULTS). */
  val?: number;
  test?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface SynthSummary {
  out: string;
  n: number;
  classCounts: Record<string, number>;
  splits: { train: number; val: number; test: number };
  /** Zero-shot index file name and images per class. */
  zeroShot: { file: string; perClass: number };
  hedged: number;
  omitted: number;
  seconds: number;
}

export function synthClasses(): ClassInfo[] {
  return ALL_CLASSES.map((name) => ({ name, prompts: [`${name} is observed`] }));
}

function toRecord(c: SynthCase, out: string): DatasetRecord {
  const text = reportText(c.report);
  return {
    key: c.key,
    imagePaths: [join(out, c.imagePath)],
    patientId: c.key,
    impression: makeSection(text, c.report.impression),
    findings: makeSection(text, c.report.findings),
    labels: c.labels,
  };
}

/** The zero-shot cases: the test split's cases with exactly one of the five, and nothing else. */
function zeroShotIndex(test: readonly SynthCase[]): { perClass: number; entries: Record<string, { image_path: string; label: number[] }> } {
  const byClass = ZERO_SHOT_CLASSES.map((k) => test.filter((c) => c.findings.length === 1 && c.findings[0]?.kind === k));
  const perClass = Math.min(...byClass.map((list) => list.length));
  const entries: Record<string, { image_path: string; label: number[] }> = {};
  byClass.forEach((list, k) => {
    for (const c of list.slice(0, perClass)) entries[c.key] = { image_path: c.imagePath, label: ZERO_SHOT_CLASSES.map((_, j) => (j === k ? 1 : 0)) };
  });
  return { perClass, entries };
}

/** Generates the whole dataset folder; see the file comment. Deterministic for (n, size, seed). */
export async function generateSyntheticDataset(o: SynthOptions): Promise<SynthSummary> {
  if (!Number.isInteger(o.n) || o.n < 1) throw new RangeError(`synth: n must be a positive integer, got ${o.n}`);
  if (!Number.isInteger(o.size) || o.size < 32 || o.size > 1024) throw new RangeError(`synth: size must be an integer in [32, 1024], got ${o.size}`);
  const start = performance.now();
  mkdirSync(join(o.out, 'images'), { recursive: true });
  const cases: SynthCase[] = [];
  const truth: Record<string, unknown> = {};
  // Render on this thread while sharp encodes and writes earlier images on its own threads.
  const pending = new Set<Promise<void>>();
  for (let i = 0; i < o.n; i++) {
    const c = planCase(o.seed, i);
    const rendered = renderCase(c, o.seed, o.size);
    cases.push(c);
    truth[c.key] = { findings: c.findings, mentions: c.mentions, devices: c.devices, cardiothoracicRatio: Number(rendered.cardiothoracicRatio.toFixed(4)) };
    const job = encodePng(rendered.pixels, o.size).then((png) => writeFileSync(join(o.out, c.imagePath), png));
    pending.add(job);
    void job.finally(() => pending.delete(job));
    if (pending.size >= 8) await Promise.race(pending);
    o.onProgress?.(i + 1 - pending.size, o.n);
  }
  await Promise.all(pending);
  o.onProgress?.(o.n, o.n);

  const classes = synthClasses();
  const records = cases.map((c) => toRecord(c, o.out));
  writeDatasetFile(join(o.out, SYNTH_DATASET_FILE), records, classes);
  const val = o.val ?? SYNTH_DEFAULTS.val;
  const test = o.test ?? SYNTH_DEFAULTS.test;
  const splits = splitRecords(records, { val, test, seed: o.seed });
  for (const name of ['train', 'val', 'test'] as const) writeDatasetFile(join(o.out, `${name}.json`), splits[name]);
  const byKey = new Map(cases.map((c) => [c.key, c]));
  const testCases = splits.test.map((r) => byKey.get(r.key) as SynthCase).sort((a, b) => a.index - b.index);
  const zs = zeroShotIndex(testCases);
  const zeroShotFile = `zeroshot_5x${zs.perClass}.json`;
  writeFileSync(join(o.out, zeroShotFile), `${JSON.stringify(zs.entries, null, 1)}\n`);
  for (const name of ['train', 'val', 'test'] as const) for (const r of splits[name]) (truth[r.key] as Record<string, unknown>).split = name;
  writeFileSync(join(o.out, SYNTH_TRUTH_FILE), `${JSON.stringify(truth, null, 1)}\n`);

  const classCounts: Record<string, number> = Object.fromEntries(ALL_CLASSES.map((k) => [k, 0]));
  for (const c of cases) for (const l of c.labels) classCounts[l] = (classCounts[l] ?? 0) + 1;
  const summary: SynthSummary = {
    out: o.out,
    n: o.n,
    classCounts,
    splits: { train: splits.train.length, val: splits.val.length, test: splits.test.length },
    zeroShot: { file: zeroShotFile, perClass: zs.perClass },
    hedged: cases.reduce((k, c) => k + c.mentions.filter((m) => m === 'hedged').length, 0),
    omitted: cases.reduce((k, c) => k + c.mentions.filter((m) => m === 'omitted').length, 0),
    seconds: (performance.now() - start) / 1000,
  };
  writeFileSync(join(o.out, 'README.md'), readme(o, summary, val, test));
  return summary;
}

function readme(o: SynthOptions, s: SynthSummary, val: number, test: number): string {
  const rows = Object.entries(s.classCounts).map(([k, v]) => `| ${k} | ${v} | ${((100 * v) / s.n).toFixed(1)}% |`);
  return `# Synthetic chest radiographs and reports

Generated by \`prior data synth --out <dir> --n ${o.n} --size ${o.size} --seed ${o.seed} --val ${val} --test ${test}\`
(src/data/synth/). Same options, same bytes. The images are drawn, not real: a PA thorax with
findings (atelectasis, cardiomegaly, consolidation, edema, pleural effusion, pneumothorax) and
label-free distractors (tubes, lines, ECG leads, pacemaker, side marker), ${o.size}x${o.size} 8-bit PNG.

- \`images/\`: ${s.n} films.
- \`${SYNTH_DATASET_FILE}\` + \`classes.json\`: the dataset file (impression + findings sentences, labels).
- \`train.json\`, \`val.json\`, \`test.json\`: patient-grouped split (seed ${o.seed}): ${s.splits.train} / ${s.splits.val} / ${s.splits.test}.
- \`${s.zeroShot.file}\`: zero-shot index in the CheXpert 5x200 format, ${s.zeroShot.perClass} test images per class
  (${ZERO_SHOT_CLASSES.join(', ')}), each with exactly that one finding.
- \`${SYNTH_TRUTH_FILE}\`: the generator's truth per case (findings with side/zone/severity, how each is
  mentioned, devices, cardiothoracic ratio, split).

Reports mention ${s.hedged} findings only with a hedge and omit ${s.omitted} (label noise on purpose).

| class | cases | share |
|---|---|---|
${rows.join('\n')}
`;
}
