import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseCliOptions, runSynth, SynthCliOptions } from '../../src/cli/data.js';
import { readDatasetFile } from '../../src/data/dataset-file.js';
import { splitSentences } from '../../src/data/sentences.js';
import { FINDING_CLASSES, generateSyntheticDataset, planCase, renderCase, type SynthCase, ZERO_SHOT_CLASSES } from '../../src/data/synth/index.js';

// Written here, not imported, so that the report templates are checked against an outside view of
// which words name each class.
const NAMES: Record<string, RegExp> = {
  Atelectasis: /atelecta/i,
  Cardiomegaly: /cardiomegaly|enlarged/i,
  Consolidation: /consolidation/i,
  Edema: /edema/i,
  'Pleural Effusion': /effusion/i,
  Pneumothorax: /pneumothorax/i,
};
const NEGATION = /^(No|There is no)\b/;

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(dir, join(prefix, e.name)) : [join(prefix, e.name)])).sort();
}

const ZeroShotIndex = z.record(z.string(), z.object({ image_path: z.string(), label: z.array(z.number().int()).length(5) }));

describe('synthetic dataset', () => {
  it('is byte-identical for the same seed and different for another', { timeout: 60_000 }, async () => {
    const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'prior-synth-')));
    await generateSyntheticDataset({ out: dirs[0] as string, n: 24, size: 64, seed: 7 });
    await generateSyntheticDataset({ out: dirs[1] as string, n: 24, size: 64, seed: 7 });
    await generateSyntheticDataset({ out: dirs[2] as string, n: 24, size: 64, seed: 8 });
    const files = listFiles(dirs[0] as string);
    expect(files.filter((f) => f.startsWith('images/'))).toHaveLength(24);
    expect(listFiles(dirs[1] as string)).toEqual(files);
    for (const f of files) expect(readFileSync(join(dirs[1] as string, f)).equals(readFileSync(join(dirs[0] as string, f))), f).toBe(true);
    const image = 'images/synth000003.png';
    expect(readFileSync(join(dirs[2] as string, image)).equals(readFileSync(join(dirs[0] as string, image)))).toBe(false);
  });

  it('writes files that the dataset reader and a 5x200-style zero-shot reader accept', { timeout: 60_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'prior-synth-'));
    const summary = await generateSyntheticDataset({ out, n: 160, size: 64, seed: 3, val: 0.1, test: 0.5 });
    const all = readDatasetFile(join(out, 'dataset.json'), { strict: true });
    expect(all.records).toHaveLength(160);
    expect(all.classes?.map((c) => c.name)).toEqual([...FINDING_CLASSES, 'No Finding']);
    expect(all.classes?.[4]?.prompts).toEqual(['Pleural Effusion is observed']);
    const meta = await sharp(all.records[0]?.imagePaths[0]).metadata();
    expect([meta.width, meta.height, meta.channels, meta.format]).toEqual([64, 64, 1, 'png']);
    for (const r of all.records) {
      expect(r.label?.reduce((a, b) => a + b, 0)).toBe(r.labels?.length);
      expect(r.impression.sentences.length + r.findings.sentences.length).toBeGreaterThanOrEqual(4);
    }
    const parts = ['train', 'val', 'test'].map((s) => readDatasetFile(join(out, `${s}.json`), { strict: true }).records);
    expect(parts.map((p) => p.length)).toEqual([summary.splits.train, summary.splits.val, summary.splits.test]);
    expect(parts.reduce((n, p) => n + p.length, 0)).toBe(160);

    const index = ZeroShotIndex.parse(JSON.parse(readFileSync(join(out, summary.zeroShot.file), 'utf8')));
    const perClass = [0, 0, 0, 0, 0];
    const truth = JSON.parse(readFileSync(join(out, 'synth-truth.json'), 'utf8')) as Record<string, { findings: { kind: string }[]; split: string }>;
    for (const [key, entry] of Object.entries(index)) {
      expect(entry.label.filter((x) => x === 1)).toHaveLength(1);
      expect(entry.label.filter((x) => x === 0)).toHaveLength(4);
      const k = entry.label.indexOf(1);
      perClass[k] = (perClass[k] ?? 0) + 1;
      // Only test-split cases with exactly that one finding.
      expect(truth[key]?.split).toBe('test');
      expect(truth[key]?.findings.map((f) => f.kind)).toEqual([ZERO_SHOT_CLASSES[k]]);
      const meta = await sharp(join(out, entry.image_path)).metadata();
      expect(meta.width).toBe(64);
    }
    expect(summary.zeroShot.perClass).toBeGreaterThanOrEqual(3);
    expect(perClass).toEqual(new Array(5).fill(summary.zeroShot.perClass));
    expect(summary.zeroShot.file).toBe(`zeroshot_5x${summary.zeroShot.perClass}.json`);
  });

  it('reports mention every labelled finding unless omitted, and negate only absent classes', () => {
    let hedged = 0;
    let omitted = 0;
    let findings = 0;
    let negations = 0;
    for (let i = 0; i < 1500; i++) {
      const c = planCase(114514, i);
      const sentences = [...c.report.impression, ...c.report.findings];
      expect(sentences.length, c.key).toBeGreaterThanOrEqual(4);
      expect(sentences.length, c.key).toBeLessThanOrEqual(9);
      for (const section of [c.report.impression, c.report.findings]) {
        for (const s of section) expect(s, c.key).toMatch(/^[A-Z].*\.$/);
        expect(splitSentences(section.join(' ')), c.key).toEqual(section);
      }
      const kinds = new Set(c.findings.map((f) => f.kind));
      for (const [name, words] of Object.entries(NAMES)) {
        const mentioning = sentences.filter((s) => words.test(s));
        const positive = mentioning.filter((s) => !NEGATION.test(s));
        const finding = c.findings.findIndex((f) => f.kind === name);
        if (finding < 0) {
          expect(positive, `${c.key} ${name}`).toEqual([]);
          negations += mentioning.length;
        } else if (c.mentions[finding] === 'omitted') {
          expect(positive, `${c.key} ${name}`).toEqual([]);
        } else {
          expect(positive.length, `${c.key} ${name}`).toBeGreaterThan(0);
          if (c.mentions[finding] === 'hedged') expect(positive.some((s) => /possible|may /i.test(s)), `${c.key} ${name}`).toBe(true);
          const sides = c.findings[finding]?.sides ?? [];
          // The side is in the text (patient's side), for the side-specific classes.
          if (['Pleural Effusion', 'Pneumothorax', 'Atelectasis'].includes(name)) {
            const side = sides.length === 2 ? /bilateral|both|bibasilar/i : new RegExp(`\\b${sides[0]}\\b`, 'i');
            expect(positive.some((s) => side.test(s)), `${c.key} ${name} ${sides.join('+')}`).toBe(true);
          }
        }
      }
      expect(c.labels, c.key).toEqual(kinds.size === 0 ? ['No Finding'] : FINDING_CLASSES.filter((k) => kinds.has(k)));
      findings += c.findings.length;
      hedged += c.mentions.filter((m) => m === 'hedged').length;
      omitted += c.mentions.filter((m) => m === 'omitted').length;
    }
    // About 5% of findings hedged or omitted; explicit negations are common.
    expect((hedged + omitted) / findings).toBeGreaterThan(0.03);
    expect((hedged + omitted) / findings).toBeLessThan(0.08);
    expect(negations).toBeGreaterThan(1500);
  });

  it('draws findings that a simple image statistic can see', async () => {
    const size = 64;
    /** Mean grey level (0..1) of a box in normalised coordinates. */
    const boxMean = (px: Uint8Array, u0: number, v0: number, u1: number, v1: number): number => {
      let sum = 0;
      let n = 0;
      for (let y = Math.floor(v0 * size); y < Math.ceil(v1 * size); y++) {
        for (let x = Math.floor(u0 * size); x < Math.ceil(u1 * size); x++) {
          sum += px[y * size + x] ?? 0;
          n++;
        }
      }
      return sum / n / 255;
    };
    /** Share of (a, b) pairs with a > b: 1 is perfect separation, 0.5 none. */
    const separation = (a: number[], b: number[]): number => a.reduce((n, x) => n + b.filter((y) => x > y).length, 0) / (a.length * b.length);
    const groups = new Map<string, SynthCase[]>();
    for (let i = 0; groups.size < 4 || [...groups.values()].some((g) => g.length < 24); i++) {
      const c = planCase(99, i);
      const key = c.findings.length === 0 ? 'normal' : c.findings.length === 1 ? (c.findings[0]?.kind ?? '') : 'multi';
      if (!['normal', 'Cardiomegaly', 'Pleural Effusion', 'Consolidation'].includes(key)) continue;
      const g = groups.get(key) ?? [];
      if (g.length < 24) g.push(c);
      groups.set(key, g);
    }
    const render = (key: string): { c: SynthCase; px: Uint8Array; ctr: number }[] =>
      (groups.get(key) ?? []).map((c) => {
        const r = renderCase(c, 99, size);
        return { c, px: r.pixels, ctr: r.cardiothoracicRatio };
      });
    const normal = render('normal');
    const cardio = render('Cardiomegaly');
    const effusion = render('Pleural Effusion');

    // Cardiomegaly: heart/thorax width above 0.55 as drawn (normal below 0.5), and the lower left
    // heart border region (image right of centre, above the dome) is brighter.
    for (const x of cardio) expect(x.ctr).toBeGreaterThan(0.55);
    for (const x of normal) expect(x.ctr).toBeLessThan(0.5);
    const heartRegion = (px: Uint8Array): number => boxMean(px, 0.62, 0.5, 0.76, 0.62);
    expect(separation(cardio.map((x) => heartRegion(x.px)), normal.map((x) => heartRegion(x.px)))).toBeGreaterThan(0.85);

    // Effusion: the costophrenic region of the labelled side is brighter than the other side's.
    const base = (px: Uint8Array, side: 'left' | 'right'): number => (side === 'right' ? boxMean(px, 0.16, 0.6, 0.32, 0.74) : boxMean(px, 0.68, 0.6, 0.84, 0.74));
    const asymmetry = effusion.filter((x) => x.c.findings[0]?.sides.length === 1).map((x) => {
      const side = x.c.findings[0]?.sides[0] ?? 'right';
      return base(x.px, side) - base(x.px, side === 'right' ? 'left' : 'right');
    });
    const normalAsymmetry = normal.map((x) => Math.abs(base(x.px, 'right') - base(x.px, 'left')));
    expect(asymmetry.length).toBeGreaterThan(8);
    expect(separation(asymmetry, normalAsymmetry)).toBeGreaterThan(0.85);

    // Consolidation: the largest left/right difference between mirrored lung patches.
    const patchAsymmetry = (px: Uint8Array): number => {
      let best = 0;
      for (const u of [0.12, 0.18, 0.24]) for (const v of [0.2, 0.28, 0.36, 0.44, 0.52]) best = Math.max(best, Math.abs(boxMean(px, u, v, u + 0.12, v + 0.12) - boxMean(px, 1 - u - 0.12, v, 1 - u, v + 0.12)));
      return best;
    };
    const consolidation = render('Consolidation');
    expect(separation(consolidation.map((x) => patchAsymmetry(x.px)), normal.map((x) => patchAsymmetry(x.px)))).toBeGreaterThan(0.85);
  });

  it('validates CLI options and runs from them', { timeout: 60_000 }, async () => {
    expect(() => parseCliOptions(SynthCliOptions, { out: 'o', n: '0', size: '128', seed: '1', val: '0.1', test: '0.1' }, 'synth')).toThrow(/invalid options for 'prior data synth'[\s\S]*n/);
    expect(() => parseCliOptions(SynthCliOptions, { out: 'o', n: '10', size: 'big', seed: '1', val: '0.1', test: '0.1' }, 'synth')).toThrow(/size/);
    const out = mkdtempSync(join(tmpdir(), 'prior-synth-cli-'));
    const o = parseCliOptions(SynthCliOptions, { out, n: '12', size: '48', seed: '5', val: '0.1', test: '0.2' }, 'synth');
    let printed = '';
    let progress = '';
    const s = await runSynth(o, { write: (t: string) => (printed += t) }, { write: (t: string) => (progress += t) });
    expect(s.n).toBe(12);
    expect(printed).toMatch(/^12 cases in .*train \d+, val \d+, test \d+; zeroshot_5x\d+\.json\)/);
    expect(progress).toContain('12/12 images');
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('--n 12 --size 48 --seed 5');
  });
});
