// The `prior` suite (issue 7): one PRIOR training step (stageStep forward, backward, AdamW and
// schedule step; src/train/synthetic-step.ts) against the PyTorch reference model with the
// original's per-sample loops (prior_baseline.py), for the tiny preset (batch 8, 64x64, 64
// tokens) and the paper's size (batch 2, 224x224, 256 tokens), fp32 and CPU bf16 autocast,
// stages 1-3. Each side runs each case in a fresh process (this file in child mode), so the
// peak RSS of the same run is a fair per-side number; the stage-3 cases also get a peak-RSS row.
//
// The paper-size step takes minutes on a loaded 2-core box: pick cases with
// PRIOR_BENCH_CASES, comma-separated alternatives of '_'-joined words that must all be in a
// case's name (prior_<preset>_<precision>_s<stage>), e.g. PRIOR_BENCH_CASES=tiny or
// PRIOR_BENCH_CASES=paper_fp32_s1,paper_fp32_s3. Default: every tiny case, and paper fp32 1 and 3.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { torchPython } from '../scripts/python.mjs';
import { type MemoryMb, median, memoryMb } from './util.js';

export const PRIOR_PRESETS = {
  tiny: { batch: 8, warmup: 2, maxRepeats: 20, target: 0.9 },
  paper: { batch: 2, warmup: 1, maxRepeats: 3, target: 1.05 },
} as const;
type PresetName = keyof typeof PRIOR_PRESETS;
type Precision = 'fp32' | 'bf16';
type Stage = 1 | 2 | 3;
export const PRIOR_PEAK_TARGET = 1.0;
const DEFAULT_SELECTION = 'tiny,paper_fp32_s1,paper_fp32_s3';
/** A child that runs longer is killed (a paper-size fp32 step is minutes on a loaded box). */
const CHILD_TIMEOUT_MS = 60 * 60 * 1000;

/** A `prior` suite row: ns per training step, or the run's peak RSS (MB). */
export interface PriorCase {
  kind: 'prior';
  name: string;
  label: string;
  suite: 'prior';
  iters: number;
  target: number;
  preset: PresetName;
  precision: Precision;
  stage: Stage;
  metric: 'time' | 'peak';
}

const selection = (process.env.PRIOR_BENCH_CASES ?? DEFAULT_SELECTION).split(',').map((alt) => alt.trim().split('_').filter((w) => w !== ''));
const selected = (name: string): boolean => {
  const words = name.split('_');
  return selection.some((alt) => alt.length > 0 && alt.every((w) => words.includes(w)));
};

const caseKey = (preset: PresetName, precision: Precision, stage: Stage): string => `prior_${preset}_${precision}_s${stage}`;

export const PRIOR_CASES: PriorCase[] = (Object.keys(PRIOR_PRESETS) as PresetName[]).flatMap((preset) =>
  (['fp32', 'bf16'] as const).flatMap((precision) =>
    ([1, 2, 3] as const).flatMap((stage): PriorCase[] => {
      const key = caseKey(preset, precision, stage);
      if (!selected(key)) return [];
      const { batch, target } = PRIOR_PRESETS[preset];
      const base = { kind: 'prior', suite: 'prior', iters: 1, preset, precision, stage } as const;
      const rows: PriorCase[] = [{ ...base, name: key, label: `PRIOR ${preset} b${batch} ${precision} stage ${stage} step`, target, metric: 'time' }];
      if (stage === 3) rows.push({ ...base, name: `${key}_peak_rss`, label: `  peak RSS, ${preset} ${precision} stage 3 run`, target: PRIOR_PEAK_TARGET, metric: 'peak' });
      return rows;
    }),
  ),
);

const Mem = z.object({ rss: z.number(), peak: z.number() });
const StepReport = z.object({ samples_ns: z.array(z.number()), loss: z.number(), before: Mem, after: Mem });
type StepReport = z.infer<typeof StepReport>;

const self = fileURLToPath(import.meta.url);
const baselineScript = fileURLToPath(new URL('./prior_baseline.py', import.meta.url));
const measured = new Map<string, { priorTs: StepReport; pytorch: StepReport }>();

function runJson(cmd: string, args: readonly string[], who: string): StepReport {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`${who} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return StepReport.parse(JSON.parse(r.stdout.trim().split('\n').pop() ?? ''));
}

function measureCase(c: PriorCase, threads: number, repeats: number): { priorTs: StepReport; pytorch: StepReport } {
  const key = caseKey(c.preset, c.precision, c.stage);
  const hit = measured.get(key);
  if (hit) return hit;
  const { batch, warmup, maxRepeats } = PRIOR_PRESETS[c.preset];
  const n = Math.min(repeats, maxRepeats);
  const common = [c.preset, String(c.stage), c.precision, String(batch), String(warmup), String(n), String(threads)];
  const priorTs = runJson(process.execPath, [...process.execArgv, self, 'step', ...common], `prior.ts step ${key}`);
  const [preset, stage, precision, b, w, r, t] = common;
  const pyArgs = ['--preset', preset!, '--stage', stage!, '--precision', precision!, '--batch', b!, '--warmup', w!, '--repeats', r!, '--threads', t!];
  const pytorch = runJson(torchPython(), [baselineScript, ...pyArgs], `prior_baseline.py ${key}`);
  const result = { priorTs, pytorch };
  measured.set(key, result);
  return result;
}

interface Side {
  median: number;
  samples: number[];
}

/** Measures one `prior` row (run.ts calls it); the time row prints the losses and peak RSS it came with. */
export function runPrior(c: PriorCase, threads: number, repeats: number): { priorTs: Side; pytorch: Side } {
  const { priorTs, pytorch } = measureCase(c, threads, repeats);
  if (c.metric === 'peak') return { priorTs: { median: priorTs.after.peak, samples: [priorTs.after.peak] }, pytorch: { median: pytorch.after.peak, samples: [pytorch.after.peak] } };
  const secs = (r: StepReport): string => r.samples_ns.map((s) => (s / 1e9).toFixed(2)).join(' ');
  console.log(
    `  steps [s]: prior-ts ${secs(priorTs)} (loss ${priorTs.loss.toFixed(3)}, peak ${priorTs.after.peak.toFixed(0)} MB), PyTorch ${secs(pytorch)} (loss ${pytorch.loss.toFixed(3)}, peak ${pytorch.after.peak.toFixed(0)} MB)`,
  );
  return { priorTs: { median: median(priorTs.samples_ns), samples: priorTs.samples_ns }, pytorch: { median: median(pytorch.samples_ns), samples: pytorch.samples_ns } };
}

// ---- child mode: `tsx bench/prior.ts step PRESET STAGE PRECISION BATCH WARMUP REPEATS THREADS`

async function childStep(args: readonly string[]): Promise<void> {
  const Args = z.tuple([
    z.enum(['tiny', 'paper']),
    z.coerce.number().pipe(z.union([z.literal(1), z.literal(2), z.literal(3)])),
    z.enum(['fp32', 'bf16']),
    z.coerce.number().int().positive(),
    z.coerce.number().int().nonnegative(),
    z.coerce.number().int().positive(),
    z.coerce.number().int().positive(),
  ]);
  const [preset, stage, precision, batchSize, warmup, repeats, threads] = Args.parse(args);
  const before: MemoryMb = memoryMb();
  // Imported here, so that the main process (run.ts) never loads the model code it does not run.
  const { torch } = await import('../src/index.js');
  const { priorConfig } = await import('../src/models/prior/index.js');
  const { syntheticStep } = await import('../src/train/synthetic-step.js');
  torch.setNumThreads(threads);
  const { step } = syntheticStep(priorConfig(preset), { stage, batchSize, precision });
  for (let i = 0; i < warmup; i++) step();
  const samples: number[] = [];
  let loss = Number.NaN;
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    loss = step();
    samples.push(Number(process.hrtime.bigint() - t0));
  }
  process.stdout.write(`${JSON.stringify({ samples_ns: samples, loss, before, after: memoryMb() })}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === self) {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === 'step' && rest.length === 7) await childStep(rest);
  else throw new Error('usage: prior.ts step PRESET STAGE PRECISION BATCH WARMUP REPEATS THREADS');
}
