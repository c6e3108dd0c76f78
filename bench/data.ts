// The `data` suite: PRIOR's text item on every IU report (reports per second and peak RSS) and
// the pre-training loader at 224x224 with augmentation on ../shared/data/cxr-notes (images per
// second, for 0, 1 and 2 workers), each side in a fresh process (this file in child mode, and
// data_baseline.py). Both sides get the same inputs: the sentence lists and the dataset file are
// written once per run into a temp dir, deleted when the process exits.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { torchPython } from '../scripts/python.mjs';
import { buildFromCsv } from '../src/data/builders.js';
import { parseCsvRecords } from '../src/data/csv.js';
import { readDatasetFile, writeDatasetFile } from '../src/data/dataset-file.js';
import { encodePriorSentences } from '../src/data/prior-text.js';
import { splitSentences } from '../src/data/sentences.js';
import { BertTokenizer } from '../src/data/tokenizer.js';
import { Rng } from '../src/util/rng.js';
import { type MemoryMb, memoryMb } from './util.js';

const SHARED = fileURLToPath(new URL('../../shared/data/', import.meta.url));
export const IU_REPORTS = join(SHARED, 'iu-reports', 'reports.csv');
export const CXR_NOTES = join(SHARED, 'cxr-notes', 'metadata.csv');
export const LOADER_WORKERS = [0, 1, 2] as const;
export const LOADER_BATCH = 32;
/** Goal: images per second at 224x224 with augmentation, with 2 workers on 2 cores. */
export const LOADER_GOAL = 300;

/** A `data` suite row: time per report or image (ns), or peak RSS (MB). */
export interface DataCase {
  kind: 'data';
  name: string;
  label: string;
  suite: 'data';
  iters: number;
  target: number;
  metric: 'tokenize_time' | 'tokenize_peak' | 'loader';
  workers?: number;
  unit: 'ns' | 'MB';
}

export const DATA_CASES: DataCase[] = [
  { kind: 'data', metric: 'tokenize_time', unit: 'ns', name: 'prior_text_iu', label: 'PRIOR text item, per IU report', suite: 'data', iters: 1, target: 1.0 },
  { kind: 'data', metric: 'tokenize_peak', unit: 'MB', name: 'prior_text_iu_peak_rss', label: 'peak RSS tokenising all IU reports', suite: 'data', iters: 1, target: 1.0 },
  ...LOADER_WORKERS.map(
    (workers): DataCase => ({
      kind: 'data',
      metric: 'loader',
      unit: 'ns',
      workers,
      name: `pretrain_loader_w${workers}`,
      label: `loader 224px augmented, per image, ${workers} workers`,
      suite: 'data',
      iters: 1,
      target: 1.0,
    }),
  ),
];

const Mem = z.object({ rss: z.number(), peak: z.number() });
const TokenizeReport = z.object({ seconds: z.number(), reports: z.number(), before: Mem, after: Mem });
// cpu_seconds / cpu_images: CPU time of the process and all its threads (or, in Python, its worker
// processes) per image, which contention on a shared box inflates far less than wall time. prior-ts
// counts it after the first batch (worker start-up compiles the TypeScript sources under tsx);
// PyTorch over the whole epoch (its workers are forks and can only be counted once reaped).
const LoaderReport = z.object({ seconds: z.number(), images: z.number(), first_batch_seconds: z.number(), cpu_seconds: z.number(), cpu_images: z.number() });
type TokenizeReport = z.infer<typeof TokenizeReport>;
type LoaderReport = z.infer<typeof LoaderReport>;

interface Inputs {
  dir: string;
  sentences: string;
  dataset: string;
}

let inputs: Inputs | undefined;

/** Sentence lists of every IU report (impression, then findings) and a cxr-notes dataset file. */
function prepareInputs(): Inputs {
  if (inputs) return inputs;
  const dir = mkdtempSync(join(tmpdir(), 'prior-bench-data-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const { rows } = parseCsvRecords(readFileSync(IU_REPORTS, 'utf8'), IU_REPORTS);
  const split = (t: string | undefined): string[] => (t === undefined || t.trim() === '' ? [] : splitSentences(t));
  const reports = rows.map((r) => [...split(r.impression), ...split(r.findings)]).filter((s) => s.length > 0);
  const sentences = join(dir, 'sentences.json');
  writeFileSync(sentences, JSON.stringify(reports));
  const built = buildFromCsv({ csv: CXR_NOTES, imageCol: 'file', textCol: 'clinical_notes', labelSep: ',', dropLabels: [], patientCol: 'patientid', keyCol: 'id', minSentences: 1 });
  const dataset = join(dir, 'data.json');
  writeDatasetFile(dataset, built.records);
  inputs = { dir, sentences, dataset };
  return inputs;
}

function runJson<T>(cmd: string, args: readonly string[], who: string, schema: z.ZodType<T>): T {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${who} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return schema.parse(JSON.parse(r.stdout.trim().split('\n').pop() ?? ''));
}

const self = fileURLToPath(import.meta.url);
const baselineScript = fileURLToPath(new URL('./data_baseline.py', import.meta.url));
const measured = new Map<string, { priorTs: TokenizeReport | LoaderReport; pytorch: TokenizeReport | LoaderReport }>();

function measureTokenize(threads: number): { priorTs: TokenizeReport; pytorch: TokenizeReport } {
  const hit = measured.get('tokenize');
  if (hit) return hit as { priorTs: TokenizeReport; pytorch: TokenizeReport };
  const { sentences } = prepareInputs();
  const priorTs = runJson(process.execPath, [...process.execArgv, self, 'tokenize', sentences], 'data.ts tokenize', TokenizeReport);
  const pytorch = runJson(torchPython(), [baselineScript, 'tokenize', sentences, '--threads', String(threads)], 'data_baseline.py tokenize', TokenizeReport);
  const r = { priorTs, pytorch };
  measured.set('tokenize', r);
  return r;
}

function measureLoader(workers: number, threads: number): { priorTs: LoaderReport; pytorch: LoaderReport } {
  const { dataset } = prepareInputs();
  const args = [String(workers), String(LOADER_BATCH), String(threads)];
  const priorTs = runJson(process.execPath, [...process.execArgv, self, 'loader', dataset, ...args], 'data.ts loader', LoaderReport);
  const pytorch = runJson(
    torchPython(),
    [baselineScript, 'loader', dataset, '--workers', String(workers), '--batch', String(LOADER_BATCH), '--threads', String(threads)],
    'data_baseline.py loader',
    LoaderReport,
  );
  return { priorTs, pytorch };
}

interface Sides {
  priorTs: { median: number; samples: number[] };
  pytorch: { median: number; samples: number[] };
}

const one = (v: number): { median: number; samples: number[] } => ({ median: v, samples: [v] });
const perSecond = (n: number, seconds: number): string => `${(n / seconds).toFixed(0)}/s`;

/** Measures one `data` row (run.ts calls it), printing the throughput it stands for. */
export function runData(c: DataCase, threads: number): Sides {
  if (c.metric === 'loader') {
    const workers = c.workers ?? 0;
    const { priorTs, pytorch } = measureLoader(workers, threads);
    const goal = workers === 2 ? `; goal >= ${LOADER_GOAL}/s` : '';
    const cpu = (r: LoaderReport): string => `${((r.cpu_seconds / r.cpu_images) * 1e3).toFixed(1)} CPU-ms/image`;
    console.log(
      `  images/s, ${workers} workers: prior-ts ${perSecond(priorTs.images, priorTs.seconds)} (first batch ${priorTs.first_batch_seconds.toFixed(2)} s, ${cpu(priorTs)}), PyTorch DataLoader ${perSecond(pytorch.images, pytorch.seconds)} (first batch ${pytorch.first_batch_seconds.toFixed(2)} s, ${cpu(pytorch)})${goal}`,
    );
    return { priorTs: one((priorTs.seconds / priorTs.images) * 1e9), pytorch: one((pytorch.seconds / pytorch.images) * 1e9) };
  }
  const { priorTs, pytorch } = measureTokenize(threads);
  if (c.metric === 'tokenize_peak') {
    console.log(`  peak RSS tokenising ${priorTs.reports} reports: prior-ts ${priorTs.after.peak.toFixed(0)} MB (start ${priorTs.before.rss.toFixed(0)}), PyTorch ${pytorch.after.peak.toFixed(0)} MB (start ${pytorch.before.rss.toFixed(0)})`);
    return { priorTs: one(priorTs.after.peak), pytorch: one(pytorch.after.peak) };
  }
  console.log(`  reports/s: prior-ts ${perSecond(priorTs.reports, priorTs.seconds)}, BertTokenizerFast ${perSecond(pytorch.reports, pytorch.seconds)}`);
  return { priorTs: one((priorTs.seconds / priorTs.reports) * 1e9), pytorch: one((pytorch.seconds / pytorch.reports) * 1e9) };
}

// ---- child mode: `tsx bench/data.ts tokenize FILE` | `tsx bench/data.ts loader FILE WORKERS BATCH THREADS`

function childTokenize(file: string): void {
  const reports = z.array(z.array(z.string())).parse(JSON.parse(readFileSync(file, 'utf8')));
  const tokenizer = BertTokenizer.default();
  const rng = new Rng(0);
  const before: MemoryMb = memoryMb();
  const t0 = performance.now();
  for (const sentences of reports) encodePriorSentences(tokenizer, rng.shuffle([...sentences]));
  const seconds = (performance.now() - t0) / 1e3;
  process.stdout.write(`${JSON.stringify({ seconds, reports: reports.length, before, after: memoryMb() })}\n`);
}

async function childLoader(file: string, workers: number, batchSize: number, threads: number): Promise<void> {
  // Imported here, so that the tokenize child never maps libtorch (its peak RSS is the tokenizer's).
  const { torch } = await import('../src/index.js');
  const { PretrainLoader } = await import('../src/data/loader.js');
  const { disposeBatch } = await import('../src/data/batch.js');
  torch.setNumThreads(threads);
  const loader = new PretrainLoader(readDatasetFile(file), { batchSize, workers, augment: true, shuffle: true, seed: 0, prefetch: 2 });
  const t0 = performance.now();
  let t1 = 0;
  let cpu0 = process.cpuUsage();
  let images = 0;
  for await (const batch of loader.epoch(0)) {
    if (t1 === 0) {
      t1 = performance.now();
      cpu0 = process.cpuUsage();
    } else images += batch.keys.length;
    disposeBatch(batch);
  }
  const seconds = (performance.now() - t1) / 1e3;
  await loader.close();
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  process.stdout.write(`${JSON.stringify({ seconds, images, first_batch_seconds: (t1 - t0) / 1e3, cpu_seconds: cpuSeconds, cpu_images: images })}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === self) {
  const [mode, file, ...rest] = process.argv.slice(2);
  if (mode === 'tokenize' && file) childTokenize(file);
  else if (mode === 'loader' && file && rest.length === 3) await childLoader(file, ...(rest.map(Number) as [number, number, number]));
  else throw new Error('usage: data.ts tokenize FILE | data.ts loader FILE WORKERS BATCH THREADS');
}
