// A training run's directory:
//   config.json        the resolved TrainConfig (what --resume trains with)
//   provenance.json    commit, libtorch, threads, seeds, Node, start time, and every resume
//   metrics.jsonl      one JSON line per optimizer step (stage, epoch, step, lr, spb_temp, terms, times)
//   validation.jsonl   one line per validation pass
//   checkpoints/       periodic step-NNNNNN dirs + latest; stage2_start/, stage3_start/, best/
//   losses.png         every loss term and the LR over steps, stages marked
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { currentProvenance, type Provenance } from '../io/checkpoint.js';

export const RUN_FILES = {
  config: 'config.json',
  provenance: 'provenance.json',
  metrics: 'metrics.jsonl',
  validation: 'validation.jsonl',
  checkpoints: 'checkpoints',
  plot: 'losses.png',
} as const;

export const runPath = (runDir: string, file: keyof typeof RUN_FILES): string => join(runDir, RUN_FILES[file]);

/** One metrics.jsonl line: the step's position, schedule values, every loss term and timings. */
export const MetricLineSchema = z
  .object({
    stage: z.number().int().min(1).max(3),
    epoch: z.number().int().nonnegative(),
    /** The optimizer step, counted from 0 over the whole run. */
    step: z.number().int().nonnegative(),
    /** The batch within the epoch, from 0. */
    batch: z.number().int().nonnegative(),
    lr: z.number(),
    spb_temp: z.number().nullable(),
    loss: z.number(),
    step_ms: z.number(),
    data_ms: z.number(),
  })
  .catchall(z.number().nullable());
export type MetricLine = z.infer<typeof MetricLineSchema>;

/** Keys of a metric line that are not loss terms. */
export const METRIC_META_KEYS = new Set(['stage', 'epoch', 'step', 'batch', 'lr', 'spb_temp', 'loss', 'step_ms', 'data_ms', 'grad_scale']);

export interface RunProvenance extends Provenance {
  libtorchPath: string | null;
  seed: number;
  argv: string[];
  startedAt: string;
  resumes: { at: string; fromStep: number }[];
}

/** The folder of the libtorch this process really loaded (Linux: from /proc/self/maps). */
function loadedLibtorchDir(): string | null {
  try {
    const m = /\s(\/\S*\/libtorch_cpu\.(?:so|dylib)\S*)$/m.exec(readFileSync('/proc/self/maps', 'utf8'));
    return m ? dirname(m[1]!) : null;
  } catch {
    return null;
  }
}

export function makeProvenance(seed: number): RunProvenance {
  const now = new Date().toISOString();
  return {
    ...currentProvenance(),
    libtorchPath: loadedLibtorchDir(),
    createdAt: now,
    startedAt: now,
    seed,
    argv: process.argv.slice(1),
    resumes: [],
  };
}

/** Replaces `file` by write-temp + rename, so a kill leaves the old or the new content. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export function writeJson(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

export function appendJsonLine(file: string, value: unknown): void {
  appendFileSync(file, `${JSON.stringify(value)}\n`);
}

/** The parsed lines of a JSONL file; a torn last line (a kill mid-write) is dropped. */
export function readJsonLines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  const out: Record<string, unknown>[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch (e) {
      if (i < lines.length - 2) throw new Error(`${file}: line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
  });
  return out;
}

export function readMetrics(runDir: string): MetricLine[] {
  const file = runPath(runDir, 'metrics');
  return readJsonLines(file).map((line, i) => {
    const parsed = MetricLineSchema.safeParse(line);
    if (!parsed.success) throw new Error(`${file}: line ${i + 1}: ${z.prettifyError(parsed.error)}`);
    return parsed.data;
  });
}

/** Keeps the lines whose `step` is below `step` (those a resume from that checkpoint repeats go). */
export function truncateJsonLines(file: string, step: number): void {
  if (!existsSync(file)) return;
  const kept = readJsonLines(file).filter((l) => typeof l.step === 'number' && l.step < step);
  writeFileAtomic(file, kept.map((l) => `${JSON.stringify(l)}\n`).join(''));
}

export function ensureRunDir(runDir: string): void {
  mkdirSync(join(runDir, RUN_FILES.checkpoints), { recursive: true });
}
