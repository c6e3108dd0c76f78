// Shared fixtures of the evaluation tests: a tiny randomly initialised PRIOR and small datasets
// over real X-rays of ../shared/data/cxr-notes (a missing data folder fails loudly).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DatasetRecord, makeSection, writeDatasetFile } from '../../src/data/dataset-file.js';
import { randomPriorForEval } from '../../src/eval/load.js';
import { type Json, saveCheckpoint } from '../../src/io/checkpoint.js';
import { TRAIN_PRESETS } from '../../src/train/config.js';
import type { PriorConfigOverrides } from '../../src/models/prior/config.js';
import type { Prior } from '../../src/models/prior/prior.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CXR_ROOT = join(REPO, '..', 'shared', 'data', 'cxr-notes');
if (!existsSync(join(CXR_ROOT, 'images', 'cxr0001.jpg'))) throw new Error(`test data missing: ${CXR_ROOT} (the shared data folder must sit beside the repository)`);
export const CHEXPERT_INDEX = join(REPO, '..', 'shared', 'data', 'chexpert-5x200', 'chexpert_5x200.json');

export const cxr = (i: number): string => `images/cxr${String(i).padStart(4, '0')}.jpg`;

/** A fresh temporary folder, removed after the calling test file. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'prior-eval-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function tinyPrior(seed = 1, overrides: PriorConfigOverrides = {}): Prior {
  return randomPriorForEval('tiny', { seed, overrides }).model;
}

/**
 * A CheXpert-5x200-format index over cxr-notes images 1..n (class i mod 5), plus `missing`
 * entries whose image does not exist. Image paths are relative to CXR_ROOT.
 */
export function writeIndex(dir: string, n: number, missing = 0, name = 'index.json'): string {
  const index: Record<string, { image_path: string; label: number[] }> = {};
  const hot = (k: number): number[] => [0, 1, 2, 3, 4].map((j) => (j === k ? 1 : 0));
  for (let i = 1; i <= n; i++) index[String(100 + i)] = { image_path: cxr(i), label: hot(i % 5) };
  for (let i = 1; i <= missing; i++) index[String(900 + i)] = { image_path: `images/absent${i}.jpg`, label: hot(0) };
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(index));
  return file;
}

/** A dataset file of the builders over cxr-notes images: one record per [image number, report, labels]. */
export function writeDataset(dir: string, rows: readonly [number, string, string[]][], classes: string[]): string {
  const records: DatasetRecord[] = rows.map(([i, report, labels]) => {
    const sentences = report.split(/(?<=\.)\s+/).filter((s) => s !== '');
    return { key: `r${i}`, imagePaths: [join(CXR_ROOT, cxr(i))], patientId: `p${i}`, impression: makeSection(report, []), findings: makeSection(report, sentences), labels };
  });
  const file = join(dir, 'dataset.json');
  writeDatasetFile(file, records, classes.map((name) => ({ name })));
  return file;
}

/**
 * A training run directory as the trainer leaves it: config.json (the tiny training preset) and
 * checkpoints/step-000007 holding `model`'s state. Returns the run directory.
 */
export function writeRun(dir: string, model: Prior, { dropKey }: { dropKey?: string } = {}): string {
  const run = join(dir, 'run');
  mkdirSync(run, { recursive: true });
  const config = structuredClone(TRAIN_PRESETS.tiny) as unknown as Json;
  writeFileSync(join(run, 'config.json'), JSON.stringify(config, null, 2));
  const state = model.stateDict();
  if (dropKey !== undefined) state.delete(dropKey);
  saveCheckpoint(join(run, 'checkpoints'), { step: 7, stage: 'stage3', model: state, config });
  return run;
}
