// `prior train` and `prior plot`. A new run: preset ← --config file ← --set edits, validated,
// into --out (default runs/<time>-<preset>). `--resume DIR` continues DIR's run exactly, with
// its saved config.json. The default dataset (data/synth/) is generated when missing.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, DEFAULT_SYNTH_DIR, TRAIN_PRESETS, type TrainConfig, type TrainPreset, parseTrainConfig, resolveTrainConfig } from '../train/config.js';
import { RUN_FILES } from '../train/run-dir.js';
import type { ProgressStream } from '../util/progress.js';

export const TrainCliOptions = z.strictObject({
  config: z.string().min(1).optional(),
  set: z.array(z.string()).default([]),
  preset: z.enum(Object.keys(TRAIN_PRESETS) as [TrainPreset, ...TrainPreset[]]).optional(),
  out: z.string().min(1).optional(),
  resume: z.string().min(1).optional(),
});
export type TrainCliOptions = z.output<typeof TrainCliOptions>;

/** Validates raw commander options (exit code 2 on failure, by the caller). */
export function parseTrainCliOptions(raw: unknown): TrainCliOptions {
  const parsed = TrainCliOptions.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid options for 'prior train':\n${z.prettifyError(parsed.error)}`);
  const o = parsed.data;
  if (o.resume !== undefined && (o.config !== undefined || o.set.length > 0 || o.preset !== undefined || o.out !== undefined)) {
    throw new ConfigError("prior train --resume DIR continues DIR's run with its saved config.json; --config, --set, --preset and --out do not apply");
  }
  return o;
}

/** The config and run directory a `prior train` invocation means. */
export function trainPlan(o: TrainCliOptions, now = new Date()): { config: TrainConfig; runDir: string; resume: boolean } {
  if (o.resume !== undefined) {
    const file = join(o.resume, RUN_FILES.config);
    if (!existsSync(file)) throw new ConfigError(`--resume ${o.resume}: no ${RUN_FILES.config} there (not a run directory)`);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ConfigError(`${file}: ${(e as Error).message}`);
    }
    return { config: parseTrainConfig(raw, file), runDir: o.resume, resume: true };
  }
  const preset = o.preset ?? 'tiny';
  const config = resolveTrainConfig({ preset, ...(o.config === undefined ? {} : { file: o.config }), set: o.set });
  const stamp = now.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  return { config, runDir: o.out ?? join('runs', `${stamp}-${preset}`), resume: false };
}

/** Runs `prior train`; returns the process exit code (0, 1 on a training error, 130/143 on a signal). */
export async function runTrain(o: TrainCliOptions, err: ProgressStream = process.stderr): Promise<number> {
  const { config, runDir, resume } = trainPlan(o);
  const log = (line: string): void => void err.write(`${line}\n`);
  const { isDefaultSynthPath, preparePriorRun } = await import('../train/prior-run.js');
  if (!existsSync(config.data.dataset) && isDefaultSynthPath(config.data.dataset)) {
    const { generateSyntheticDataset, SYNTH_DEFAULTS } = await import('../data/synth/index.js');
    log(`no dataset at ${config.data.dataset}: generating the synthetic one in ${DEFAULT_SYNTH_DIR}/ (${SYNTH_DEFAULTS.n} cases)`);
    await generateSyntheticDataset({ out: DEFAULT_SYNTH_DIR, n: SYNTH_DEFAULTS.n, size: SYNTH_DEFAULTS.size, seed: SYNTH_DEFAULTS.seed });
  }
  const { Trainer, NonFiniteLossError } = await import('../train/trainer.js');
  const { options } = preparePriorRun(config);
  log(`run directory: ${runDir}`);
  const trainer = new Trainer({ ...options, runDir, log, progress: err });
  try {
    const result = resume ? await trainer.resume() : await trainer.run();
    return result.exitCode;
  } catch (e) {
    if (e instanceof NonFiniteLossError) {
      log(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

/** `prior plot RUN_DIR`: (re)writes RUN_DIR/losses.png. */
export async function runPlot(runDir: string, out: ProgressStream = process.stdout): Promise<void> {
  const { writeLossPlot } = await import('../train/loss-plot.js');
  out.write(`${await writeLossPlot(runDir)}\n`);
}
