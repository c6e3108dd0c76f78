// `prior finetune`: option validation, and one in-process run on a COVIDx-format split file
// over real cxr-notes images (COVID-19 = positive).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FinetuneCliError, finetuneMode, parseFinetuneOptions, runFinetuneCli } from '../../src/cli/finetune.js';
import { parseCsvRecords } from '../../src/data/csv.js';

const dir = mkdtempSync(join(tmpdir(), 'cli-finetune-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prior finetune options', () => {
  it('needs exactly one encoder source and at most one of --linear / --full', () => {
    expect(() => parseFinetuneOptions('classify', { train: 'a.json' })).toThrow(/give exactly one of --checkpoint DIR, --encoder FILE.safetensors and --random/);
    expect(() => parseFinetuneOptions('classify', { train: 'a.json', random: true, encoder: 'e.safetensors' })).toThrow(FinetuneCliError);
    expect(() => parseFinetuneOptions('segment', { train: 'd', random: true, linear: true, full: true })).toThrow(/--linear and --full exclude each other/);
    expect(() => parseFinetuneOptions('detect', { train: 'd', random: true, format: 'chexpert' })).toThrow(/format/);
    expect(() => parseFinetuneOptions('classify', { train: 'd', random: true, fraction: '0' })).toThrow(/fraction/);
    const o = parseFinetuneOptions('segment', { train: 'd', random: true, depth: '18', fraction: '0.1' });
    expect(o).toMatchObject({ format: 'folder', depth: 18, fraction: 0.1, epochs: 10 });
    expect(finetuneMode(o)).toBe('full');
    expect(finetuneMode(parseFinetuneOptions('classify', { train: 'd', random: true }))).toBe('linear');
  });

  it('runs classification from a COVIDx split file', async () => {
    const notes = '../shared/data/cxr-notes';
    const { rows } = parseCsvRecords(readFileSync(join(notes, 'metadata.csv'), 'utf8'), 'metadata.csv');
    const lines = rows.slice(0, 48).map((r) => `${r.patientid} ${r.id}.jpg ${r.finding === 'COVID-19' ? 'positive' : 'negative'} cohen`);
    writeFileSync(join(dir, 'train.txt'), `${lines.join('\n')}\n`);
    const out = join(dir, 'run');
    const o = parseFinetuneOptions('classify', {
      train: join(dir, 'train.txt'),
      format: 'covidx',
      imageDir: resolve(notes, 'images'),
      valFraction: '0.25',
      random: true,
      depth: '18',
      imageSize: '32',
      epochs: '2',
      batchSize: '8',
      device: 'cpu',
      out,
    });
    expect(await runFinetuneCli(o)).toBe(0);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { classes: string[]; sizes: { train: number; val: number }; val: { metrics: Record<string, number> }; config: { format: string } };
    expect(metrics.classes).toEqual(['negative', 'positive']);
    expect(metrics.sizes).toMatchObject({ train: 36, val: 12 });
    expect(metrics.config.format).toBe('covidx');
    expect(Object.keys(metrics.val.metrics)).toContain('auroc_macro');
    expect(existsSync(join(out, 'roc-val.png'))).toBe(true);
  }, 60_000);
});
