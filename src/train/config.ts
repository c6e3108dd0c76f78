// The training configuration (spec §0, §8): model preset and overrides, data, the three stages'
// epochs and LR schedules, precision, seeds, checkpointing and validation. Strict zod: a
// misspelt key is an error naming its path. A config is a preset, then a config file merged
// over it, then `--set key.path=value` edits, validated once at the end.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PRIOR_PRESETS, priorConfig, type PriorConfig, type PriorConfigOverrides, type PriorPreset } from '../models/prior/config.js';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

export const StageConfigSchema = z
  .strictObject({
    /** Epochs in this stage (paper 20 / 30 / 100); 0 skips the stage. */
    epochs: nonNegativeInt,
    /**
     * Linear warm-up length in epochs (paper 1 / 1 / 5). At least 1: with 0, Bolts' recursive
     * schedule starts at startLr and never reaches peakLr.
     */
    warmupEpochs: positiveInt,
    /** The LR at the end of warm-up (paper 1e-5 / 1e-5 / 5e-6). */
    peakLr: z.number().positive(),
    /** The LR of the first step (paper 1e-7 / 1e-7 / 1e-8). */
    startLr: z.number().nonnegative(),
    /** The cosine minimum, reached after `epochs` (paper 0). */
    endLr: z.number().nonnegative(),
    /** AdamW's decoupled weight decay, on every parameter (paper 1e-6). */
    weightDecay: z.number().nonnegative(),
    /** This stage's batch size, when it differs from data.batchSize. */
    batchSize: positiveInt.optional(),
  })
  .refine((s) => s.epochs === 0 || s.warmupEpochs < s.epochs, { message: 'warmupEpochs must be less than epochs', path: ['warmupEpochs'] });
export type StageConfig = z.output<typeof StageConfigSchema>;

export const TrainConfigSchema = z.strictObject({
  model: z.strictObject({
    preset: z.enum(Object.keys(PRIOR_PRESETS) as [PriorPreset, ...PriorPreset[]]),
    /** Fields of PriorConfig replacing the preset's (validated by PriorConfigSchema). */
    overrides: z.record(z.string(), z.unknown()).default({}),
  }),
  data: z.strictObject({
    /** The training dataset file (src/data/dataset-file.ts). */
    dataset: z.string().min(1),
    /** Folder the dataset's relative image paths resolve against (default: the dataset file's folder). */
    imageRoot: z.string().min(1).optional(),
    /** A validation dataset file; validation runs only with one. */
    val: z.string().min(1).optional(),
    /** WordPiece vocab.txt matching the text encoder (default: the bundled bert-base-uncased, bert-tiny's). */
    vocab: z.string().min(1).optional(),
    batchSize: positiveInt,
    /** Square image side fed to the model; must equal the model's imageSize. */
    imageSize: positiveInt,
    workers: nonNegativeInt,
    /** B15: how report sentences are joined before tokenising ('faithful' = no separator). */
    textJoin: z.enum(['faithful', 'space']),
    augment: z.boolean(),
  }),
  stages: z.tuple([StageConfigSchema, StageConfigSchema, StageConfigSchema]),
  /** fp32, or autocast to bf16 / fp16 (fp16 with a dynamic GradScaler, as the paper's native AMP). */
  precision: z.enum(['fp32', 'bf16', 'fp16']),
  /** 'auto' takes CUDA when libtorch sees a device. */
  device: z.enum(['auto', 'cpu', 'cuda']),
  /** torch.manualSeed and the data Rng's seed (paper 114514). */
  seed: nonNegativeInt.max(2 ** 32 - 1),
  /** libtorch intra-op threads; null keeps the process default. */
  threads: positiveInt.nullable(),
  checkpoint: z.strictObject({
    /** Save every N optimizer steps (0: only at stage boundaries, the end and on a signal). */
    everySteps: nonNegativeInt,
    /** Periodic checkpoints kept (the stage-start and best ones are kept apart). */
    keepLast: positiveInt,
  }),
  validation: z.strictObject({
    /** Mean stage loss on data.val every N epochs (0: never). */
    everyEpochs: nonNegativeInt,
  }),
  /** B11: schedules count ⌊N/B⌋ steps per epoch ('faithful') or the steps really taken ('actual'). */
  stepsPerEpoch: z.enum(['faithful', 'actual']),
  /** B7: the SPB temperature schedule over stages 2-3. */
  spbTemperature: z.enum(['fixed', 'linear', 'exp']),
});

export type TrainConfig = z.output<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
export type Precision = TrainConfig['precision'];
export type SpbTemperatureStrategy = TrainConfig['spbTemperature'];

/** Where `prior data synth` writes the default dataset (gitignored). */
export const DEFAULT_SYNTH_DIR = 'data/synth';

const PAPER_STAGES: TrainConfigInput['stages'] = [
  { epochs: 20, warmupEpochs: 1, peakLr: 1e-5, startLr: 1e-7, endLr: 0, weightDecay: 1e-6 },
  { epochs: 30, warmupEpochs: 1, peakLr: 1e-5, startLr: 1e-7, endLr: 0, weightDecay: 1e-6 },
  { epochs: 100, warmupEpochs: 5, peakLr: 5e-6, startLr: 1e-8, endLr: 0, weightDecay: 1e-6 },
];

export const TRAIN_PRESETS = {
  /** The released run (spec §0, §8) on one device: per-device batch 98, fp16 AMP, 20/30/100 epochs. */
  paper: {
    model: { preset: 'paper', overrides: {} },
    data: { dataset: 'data/mimic/train.json', batchSize: 98, imageSize: 224, workers: 16, textJoin: 'faithful', augment: true },
    stages: PAPER_STAGES,
    precision: 'fp16',
    device: 'auto',
    seed: 114514,
    threads: null,
    checkpoint: { everySteps: 1000, keepLast: 3 },
    validation: { everyEpochs: 0 },
    stepsPerEpoch: 'faithful',
    spbTemperature: 'fixed',
  },
  /**
   * `npm run train`: every stage on the synthetic dataset, on 2 CPU cores in about 10 minutes
   * (one intra-op thread, one loader worker). Two departures from the paper's recipe, because
   * these encoders start from random weights (the paper's were ImageNet/ClinicalBERT-pretrained):
   * temperature 0.07 (CLIP's from-scratch value) instead of 0.01, where the global loss stays at
   * ln B, and a peak LR of 3e-4; with 0.01 or with LR >= 2e-4 at 0.01 the global alignment does
   * not leave chance in this budget or collapses.
   */
  tiny: {
    model: { preset: 'tiny', overrides: { temperature: 0.07, localTemperature: 0.07 } },
    data: { dataset: `${DEFAULT_SYNTH_DIR}/train.json`, val: `${DEFAULT_SYNTH_DIR}/val.json`, batchSize: 16, imageSize: 64, workers: 1, textJoin: 'faithful', augment: true },
    stages: [
      { epochs: 4, warmupEpochs: 1, peakLr: 3e-4, startLr: 1e-6, endLr: 0, weightDecay: 1e-6 },
      { epochs: 3, warmupEpochs: 1, peakLr: 3e-4, startLr: 1e-6, endLr: 0, weightDecay: 1e-6 },
      { epochs: 2, warmupEpochs: 1, peakLr: 3e-4, startLr: 1e-7, endLr: 0, weightDecay: 1e-6 },
    ],
    precision: 'fp32',
    device: 'auto',
    seed: 114514,
    threads: 1,
    checkpoint: { everySteps: 200, keepLast: 3 },
    validation: { everyEpochs: 0 },
    stepsPerEpoch: 'faithful',
    spbTemperature: 'fixed',
  },
} as const satisfies Record<string, TrainConfigInput>;

export type TrainPreset = keyof typeof TRAIN_PRESETS;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `over` merged into `base`: objects key by key, arrays element by element, anything else replaced. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (isPlain(base) && isPlain(over)) {
    const out: Plain = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : v;
    return out;
  }
  if (Array.isArray(base) && Array.isArray(over)) return over.map((v, i) => (i < base.length ? deepMerge(base[i], v) : v));
  return structuredClone(over);
}

/** A `--set` value: JSON when it parses (numbers, booleans, null, arrays, objects), else the string. */
export function parseSetValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Applies one `key.path=value` edit to `config` in place. The parent of the last key must exist
 * (so a misspelt section is reported here, with its path); a new last key is caught by the
 * strict validation that follows. Array elements are addressed by index (`stages.2.epochs`).
 */
export function applySet(config: Plain, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set '${assignment}': expected key.path=value`);
  const path = assignment.slice(0, eq).split('.');
  if (path.some((k) => k === '')) throw new ConfigError(`--set '${assignment}': empty key in the path`);
  const value = parseSetValue(assignment.slice(eq + 1));
  let node: unknown = config;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    const next = Array.isArray(node) ? (/^\d+$/.test(key) ? node[Number(key)] : undefined) : isPlain(node) ? node[key] : undefined;
    if (next === undefined || next === null || typeof next !== 'object') {
      const where = path.slice(0, i + 1).join('.');
      throw new ConfigError(`--set ${path.join('.')}: '${where}' is not a config section (${next === undefined ? 'no such key' : `it is ${JSON.stringify(next)}`})`);
    }
    node = next;
  }
  const last = path.at(-1)!;
  if (Array.isArray(node)) {
    if (!/^\d+$/.test(last) || Number(last) >= node.length) throw new ConfigError(`--set ${path.join('.')}: '${last}' is not an index of '${path.slice(0, -1).join('.')}' (length ${node.length})`);
    node[Number(last)] = value;
  } else (node as Plain)[last] = value;
}

/** Validates a whole training config; the error lists every bad key path. Checks the model section with PriorConfigSchema. */
export function parseTrainConfig(raw: unknown, source = 'training config'): TrainConfig {
  const result = TrainConfigSchema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => {
      const keys = 'keys' in i && Array.isArray(i.keys) ? ` (${(i.keys as string[]).map((k) => [...i.path, k].join('.')).join(', ')})` : '';
      return `${i.path.join('.') || '(root)'}: ${i.message}${keys}`;
    });
    throw new ConfigError(`${source}: invalid configuration:\n  ${issues.join('\n  ')}`);
  }
  const config = result.data;
  let model: PriorConfig;
  try {
    model = modelConfig(config);
  } catch (e) {
    throw new ConfigError(`${source}: model (preset '${config.model.preset}' + overrides): ${(e as Error).message}`);
  }
  if (model.imageSize !== config.data.imageSize) {
    throw new ConfigError(`${source}: data.imageSize ${config.data.imageSize} differs from the model's imageSize ${model.imageSize} (set both, e.g. --set model.overrides.imageSize=${config.data.imageSize})`);
  }
  return config;
}

/** The validated PriorConfig a training config describes. */
export function modelConfig(config: TrainConfig): PriorConfig {
  const overrides = config.model.overrides as PriorConfigOverrides;
  return priorConfig(config.model.preset, overrides);
}

export interface ResolveOptions {
  /** The preset the file is merged over (default 'tiny'). */
  preset?: TrainPreset;
  /** A JSON config file, merged over the preset. */
  file?: string;
  /** `key.path=value` edits, applied in order after the file. */
  set?: readonly string[];
}

/** preset ← file ← --set edits, validated. */
export function resolveTrainConfig({ preset = 'tiny', file, set = [] }: ResolveOptions = {}): TrainConfig {
  if (!Object.hasOwn(TRAIN_PRESETS, preset)) throw new ConfigError(`unknown preset '${preset}' (known: ${Object.keys(TRAIN_PRESETS).join(', ')})`);
  let config = structuredClone(TRAIN_PRESETS[preset]) as unknown as Plain;
  let source = `preset '${preset}'`;
  if (file !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ConfigError(`config file '${file}': ${(e as Error).message}`);
    }
    if (!isPlain(parsed)) throw new ConfigError(`config file '${file}': expected a JSON object`);
    config = deepMerge(config, parsed) as Plain;
    source = `config file '${file}' over ${source}`;
  }
  for (const s of set) applySet(config, s);
  return pinModelConfig(parseTrainConfig(config, set.length > 0 ? `${source} with --set` : source));
}

/**
 * The config with every model field written out in `model.overrides`, so a saved config.json
 * rebuilds the same model even after the preset's defaults change.
 */
export function pinModelConfig(config: TrainConfig): TrainConfig {
  return { ...config, model: { preset: config.model.preset, overrides: { ...modelConfig(config) } } };
}
