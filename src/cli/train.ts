// `prior train` and `prior plot`. A new run: preset ← --config file ← --set edits, validated,
// into --out (default runs/<time>-<preset>). `--resume DIR` continues DIR's run exactly, with
// its saved config.json. The default dataset (data/synth/) is generated when missing.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Prior } from '../models/prior/prior.js';
import type { DeviceLike } from '../torch/index.js';
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
  const { model, options } = preparePriorRun(config);
  log(`run directory: ${runDir}`);
  const trainer = new Trainer({ ...options, runDir, log, progress: err });
  try {
    const result = resume ? await trainer.resume() : await trainer.run();
    if (result.status === 'completed') await reportZeroShot(config, model, options.device ?? 'cpu', runDir, log);
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

/**
 * After a completed run on data that carries a zero-shot index (the synthetic default does):
 * the trained model's zero-shot accuracy on it next to a randomly initialised model's, both
 * variants, printed and saved as RUN_DIR/zeroshot.json.
 */
async function reportZeroShot(config: TrainConfig, trained: Prior, device: DeviceLike, runDir: string, log: (line: string) => void): Promise<void> {
  const dataDir = dirname(config.data.dataset);
  const index = existsSync(dataDir) ? readdirSync(dataDir).find((f) => /^zeroshot_5x\d+\.json$/.test(f)) : undefined;
  if (index === undefined) return;
  const { evaluateZeroShot, readZeroShotIndex } = await import('../eval/zeroshot.js');
  const { PRETRAIN_NORMALIZATION } = await import('../data/image.js');
  const { manualSeed } = await import('../torch/index.js');
  const dataset = readZeroShotIndex(join(dataDir, index), dataDir, { strict: true });
  // A fresh model of the same configuration; its seed differs from the run's so it is not the trained model's starting point.
  manualSeed(config.seed + 1);
  const random = new Prior(trained.config);
  if (device !== 'cpu') random.to(device);
  // Synthetic films share the training images' statistics, so they are normalised the same way (spec 9.1 / B21 uses per-dataset statistics).
  const opts = { normalization: PRETRAIN_NORMALIZATION, seed: config.seed, ...(config.data.vocab === undefined ? {} : { vocabPath: config.data.vocab }) };
  const rows: { model: string; variant: string; accuracy: number; macroF1: number; kappa: number }[] = [];
  for (const [name, m] of [['trained', trained], ['random init', random]] as const) {
    for (const variant of ['faithful', 'intended'] as const) {
      const r = await evaluateZeroShot(m, dataset, { ...opts, variant });
      rows.push({ model: name, variant, accuracy: r.accuracy, macroF1: r.macro.f1, kappa: r.kappa });
    }
  }
  random.dispose();
  log(`zero-shot on ${index} (${dataset.items.length} held-out images, ${dataset.classNames.length} classes, chance ${(1 / dataset.classNames.length).toFixed(2)}):`);
  log(`  ${'model'.padEnd(12)} ${'variant'.padEnd(9)} ${'accuracy'.padStart(8)} ${'macro F1'.padStart(8)} ${'kappa'.padStart(7)}`);
  for (const r of rows) log(`  ${r.model.padEnd(12)} ${r.variant.padEnd(9)} ${r.accuracy.toFixed(3).padStart(8)} ${r.macroF1.toFixed(3).padStart(8)} ${r.kappa.toFixed(3).padStart(7)}`);
  writeFileSync(join(runDir, 'zeroshot.json'), `${JSON.stringify({ index, images: dataset.items.length, rows }, null, 2)}\n`);
}
