import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BuildCsvCliOptions, parseCliOptions, SplitCliOptions } from '../../src/cli/data.js';
import { readDatasetFile } from '../../src/data/dataset-file.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const notesCsv = resolve(repo, '..', 'shared', 'data', 'cxr-notes', 'metadata.csv');

/** Runs `prior ...` from the TypeScript sources (tsx), as a user would after the build. */
function prior(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'src', 'cli', 'main.ts'), ...args], { cwd: repo, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('prior data (CLI)', () => {
  it('validates options with zod, naming the bad one', () => {
    expect(parseCliOptions(BuildCsvCliOptions, { csv: 'a.csv', imageCol: 'f', textCol: 't', labelSep: ',', dropLabels: 'todo, Unknown,', minSentences: '2', out: 'o.json' }, 'build-csv')).toMatchObject({ dropLabels: ['todo', 'Unknown'], minSentences: 2 });
    expect(() => parseCliOptions(SplitCliOptions, { dataset: 'd.json', out: 'o', val: '0.1', test: 'lots', seed: '0' }, 'split')).toThrow(/invalid options for 'prior data split'[\s\S]*test/);
  });

  it('build-csv then split, end to end', { timeout: 60_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'prior-cli-data-'));
    const built = prior('data', 'build-csv', '--csv', notesCsv, '--image-col', 'file', '--text-col', 'clinical_notes', '--label-col', 'finding', '--patient-col', 'patientid', '--key-col', 'id', '--out', join(dir, 'notes.json'));
    expect(built.stderr).toMatch(/337\/434 studies|434\/434 studies/);
    expect(built.stdout).toContain('read 434, kept 337, skipped 97');
    expect(built.status).toBe(0);

    const split = prior('data', 'split', '--dataset', join(dir, 'notes.json'), '--out', join(dir, 'splits'), '--seed', '1');
    expect(split.status).toBe(0);
    const parts = ['train', 'val', 'test'].map((s) => readDatasetFile(join(dir, 'splits', `${s}.json`), { strict: true }).records);
    expect(parts.reduce((n, p) => n + p.length, 0)).toBe(337);
    const patients = parts.map((p) => new Set(p.map((r) => r.patientId)));
    for (const [a, b] of [[0, 1], [0, 2], [1, 2]] as const) expect([...(patients[a] ?? [])].filter((p) => patients[b]?.has(p))).toEqual([]);

    const bad = prior('data', 'split', '--dataset', join(dir, 'notes.json'), '--out', dir, '--val', '2');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/invalid options for 'prior data split'[\s\S]*val/);
  });
});
