// Patient-grouped train/val/test splits: records of one patient (and, optionally, records that
// share a byte-identical image) always land in the same split, so no patient leaks across splits.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLASSES_FILE, type DatasetRecord, readDatasetFile, type ReadDatasetOptions, writeDatasetFile } from './dataset-file.js';

export interface SplitOptions {
  val: number;
  test: number;
  seed: number;
  /** Also group records whose images have the same bytes (sha256). */
  groupDuplicates?: boolean;
}

export interface Splits {
  train: DatasetRecord[];
  val: DatasetRecord[];
  test: DatasetRecord[];
}

/** mulberry32: a small seeded generator, so a seed gives the same split everywhere. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Groups of record indices joined by patient id and, optionally, by identical image bytes. */
function groupRecords(records: readonly DatasetRecord[], groupDuplicates: boolean): number[][] {
  const parent = records.map((_, i) => i);
  const find = (i: number): number => {
    // Path halving: each step points i at its grandparent.
    while (parent[i] !== i) i = parent[i] = parent[parent[i] ?? i] ?? i;
    return i;
  };
  const firstByKey = new Map<string, number>();
  const join = (key: string, i: number): void => {
    const j = firstByKey.get(key);
    if (j === undefined) firstByKey.set(key, i);
    else parent[find(i)] = find(j);
  };
  records.forEach((r, i) => {
    join(`patient:${r.patientId}`, i);
    if (groupDuplicates) for (const p of r.imagePaths) join(`sha256:${createHash('sha256').update(readFileSync(p)).digest('hex')}`, i);
  });
  const groups = new Map<number, number[]>();
  records.forEach((_, i) => {
    const root = find(i);
    const group = groups.get(root);
    if (group === undefined) groups.set(root, [i]);
    else group.push(i);
  });
  return [...groups.values()];
}

/** Shuffles the groups with the seed, then fills test, then val, up to their shares of records. */
export function splitRecords(records: readonly DatasetRecord[], o: SplitOptions): Splits {
  if (!(o.val >= 0 && o.test >= 0 && o.val + o.test < 1)) throw new RangeError(`split: val (${o.val}) and test (${o.test}) must be >= 0 with a sum below 1`);
  const groups = groupRecords(records, o.groupDuplicates ?? false);
  const random = rng(o.seed);
  for (let i = groups.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [groups[i], groups[j]] = [groups[j] ?? [], groups[i] ?? []];
  }
  const targets = { test: Math.round(o.test * records.length), val: Math.round(o.val * records.length) };
  const out: Splits = { train: [], val: [], test: [] };
  for (const g of groups) {
    const name = out.test.length < targets.test ? 'test' : out.val.length < targets.val ? 'val' : 'train';
    out[name].push(...g.map((i) => records[i] as DatasetRecord));
  }
  return out;
}

/** Reads a dataset file, splits it and writes DIR/{train,val,test}.json (+ classes.json). */
export function splitDatasetFile(dataset: string, outDir: string, o: SplitOptions, read: ReadDatasetOptions = {}): Splits {
  const file = readDatasetFile(dataset, read);
  const splits = splitRecords(file.records, o);
  for (const name of ['train', 'val', 'test'] as const) writeDatasetFile(join(outDir, `${name}.json`), splits[name]);
  const classes = join(dirname(dataset), CLASSES_FILE);
  if (existsSync(classes)) copyFileSync(classes, join(outDir, CLASSES_FILE));
  return splits;
}
