// A PRIOR model for evaluation: from a training run (its config.json's model section and a
// checkpoint's model state, loaded strictly), or a preset with a seeded random initialisation
// (a baseline). Either way the model comes back in eval mode.
//
// A "checkpoint DIR" may be the run directory (its checkpoints/ latest is used), the
// checkpoints/ folder, a named folder inside it (best/, stage2_start/: their latest) or one
// step-NNNNNN directory. The model configuration comes from the nearest config.json at or
// above DIR (at most three levels: step-N/ -> best/ -> checkpoints/ -> run), else from the
// configuration the checkpoint itself recorded.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { loadCheckpoint } from '../io/checkpoint.js';
import { PRIOR_PRESETS, type PriorConfig, type PriorConfigOverrides, type PriorPreset, priorConfig } from '../models/prior/config.js';
import { Prior } from '../models/prior/prior.js';
import * as torch from '../torch/index.js';
import type { DeviceLike } from '../torch/index.js';
import { TrainConfigSchema } from '../train/config.js';
import { RUN_FILES } from '../train/run-dir.js';

export interface EvalModel {
  model: Prior;
  config: PriorConfig;
  /** What was loaded: the checkpoint step directory, or `random:<preset>:<seed>`. */
  source: string;
  /** The checkpoint's optimizer step; null for a random model. */
  step: number | null;
}

export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
}

/** Only the model section of a training config is read here; the rest may come from another version of the trainer. */
const ModelSection = z.object({ model: TrainConfigSchema.shape.model });

function modelConfigFrom(raw: unknown, source: string): PriorConfig {
  const parsed = ModelSection.safeParse(raw);
  if (!parsed.success) throw new ModelLoadError(`${source}: no valid 'model' section: ${z.prettifyError(parsed.error)}`);
  const { preset, overrides } = parsed.data.model;
  try {
    return priorConfig(preset, overrides as PriorConfigOverrides);
  } catch (e) {
    throw new ModelLoadError(`${source}: model (preset '${preset}' + overrides): ${(e as Error).message}`);
  }
}

/** The nearest run config.json at or above `dir` (three levels at most), or null. */
function findRunConfig(dir: string): string | null {
  let d = resolve(dir);
  for (let level = 0; level <= 3; level++) {
    const file = join(d, RUN_FILES.config);
    if (existsSync(file)) return file;
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return null;
}

/** Loads a trained PRIOR for evaluation (see the file comment for what DIR may be). */
export function loadPriorForEval(checkpointDir: string, { device }: { device?: DeviceLike } = {}): EvalModel {
  if (!existsSync(checkpointDir)) throw new ModelLoadError(`checkpoint '${checkpointDir}' does not exist`);
  const isRunDir = existsSync(join(checkpointDir, RUN_FILES.config));
  const ckpt = loadCheckpoint(isRunDir ? join(checkpointDir, RUN_FILES.checkpoints) : checkpointDir, device === undefined ? {} : { device });
  try {
    const configFile = findRunConfig(checkpointDir);
    let config: PriorConfig;
    if (configFile !== null) {
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(configFile, 'utf8'));
      } catch (e) {
        throw new ModelLoadError(`${configFile}: ${(e as Error).message}`);
      }
      config = modelConfigFrom(raw, configFile);
    } else {
      config = modelConfigFrom(ckpt.config, `checkpoint '${ckpt.path}' (recorded config)`);
    }
    const model = new Prior(config);
    if (device !== undefined && device !== 'cpu') model.to(device);
    try {
      model.loadStateDict(ckpt.model, { strict: true });
    } catch (e) {
      model.dispose();
      throw new ModelLoadError(`checkpoint '${ckpt.path}' does not fit the configured model${configFile ? ` (${configFile})` : ''}: ${(e as Error).message}`);
    }
    model.eval();
    return { model, config, source: ckpt.path, step: ckpt.step };
  } finally {
    torch.dispose([...ckpt.model.values(), ...ckpt.rng.values()]);
    torch.dispose(ckpt.optimizer);
    torch.dispose(ckpt.scheduler);
  }
}

/** A preset with its parameters drawn after torch.manualSeed(seed): the untrained baseline. */
export function randomPriorForEval(preset: PriorPreset, { seed = 0, overrides = {}, device }: { seed?: number; overrides?: PriorConfigOverrides; device?: DeviceLike } = {}): EvalModel {
  if (!Object.hasOwn(PRIOR_PRESETS, preset)) throw new ModelLoadError(`unknown preset '${String(preset)}' (known: ${Object.keys(PRIOR_PRESETS).join(', ')})`);
  const config = priorConfig(preset, overrides);
  torch.manualSeed(seed);
  const model = new Prior(config);
  if (device !== undefined && device !== 'cpu') model.to(device);
  model.eval();
  return { model, config, source: `random:${preset}:${seed}`, step: null };
}
