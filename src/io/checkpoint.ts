// Training checkpoints: one directory per saved step inside a checkpoints directory,
//   <dir>/step-000100/{model.safetensors, state.safetensors, state.json, meta.json}
//   <dir>/latest            (text: the name of the newest complete step directory)
// A step is written under a temporary name, fsynced, and renamed into place; `latest` is
// replaced by write-temp + rename. A kill at any moment leaves the previous checkpoint loadable.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { DeviceLike } from '../torch/dtype.js';
import { getNumThreads, getRngState, setRngState, buildInfo, cuda } from '../torch/runtime.js';
import { Tensor } from '../torch/tensor.js';
import * as safetensors from './safetensors.js';

export const FORMAT = 'prior-ts-checkpoint';
export const FORMAT_VERSION = 1;
const LATEST = 'latest';
const STEP_DIR = /^step-(\d+)$/;
const FILES = { model: 'model.safetensors', tensors: 'state.safetensors', state: 'state.json', meta: 'meta.json' } as const;

/** JSON values; `StateTree` also allows tensors anywhere (optimizer and scheduler state). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type StateTree = null | boolean | number | string | Tensor | StateTree[] | { [key: string]: StateTree };

const JsonSchema: z.ZodType<Json> = z.lazy(() => z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(JsonSchema), z.record(z.string(), JsonSchema)]));

export interface Provenance {
  libtorchVersion: string;
  gitCommit: string | null;
  threads: number;
  node: string;
  createdAt: string;
}

const MetaSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(FORMAT_VERSION),
  step: z.number().int().nonnegative(),
  epoch: z.number().int().nonnegative().nullable(),
  stage: z.string().nullable(),
  config: JsonSchema,
  provenance: z.object({ libtorchVersion: z.string(), gitCommit: z.string().nullable(), threads: z.number(), node: z.string(), createdAt: z.string() }),
  /** Sizes of the other files, written last: a mismatch means a damaged directory. */
  files: z.record(z.string(), z.number().int().nonnegative()),
});

const StateSchema = z.object({ optimizer: JsonSchema, scheduler: JsonSchema, loaderRng: JsonSchema, rng: z.array(z.string()) });

/** What a training loop saves. Tensors are read, not kept; nothing is disposed. */
export interface CheckpointState {
  step: number;
  epoch?: number;
  stage?: string;
  model: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;
  optimizer?: StateTree;
  scheduler?: StateTree;
  /** The data loader's RNG state, as the caller represents it (JSON). */
  loaderRng?: Json;
  config?: Json;
}

export interface SaveCheckpointOptions {
  /** Keep only the newest N step directories (default: keep all). */
  keepLast?: number;
  /** Record the default generators' states (default true). */
  rng?: boolean;
}

/** libtorch's default generator states by device ('cpu', 'cuda:0', ...), as uint8 tensors. */
export type RngStates = Map<string, Tensor<'uint8'>>;

export interface Checkpoint {
  /** The step directory this was read from. */
  path: string;
  step: number;
  epoch: number | null;
  stage: string | null;
  config: Json;
  provenance: Provenance;
  model: Map<string, Tensor>;
  optimizer: StateTree;
  scheduler: StateTree;
  loaderRng: Json;
  rng: RngStates;
}

export class CheckpointError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`checkpoint '${path}': ${detail}`);
    this.name = 'CheckpointError';
  }
}

// ---- provenance and RNG -----------------------------------------------------------------
let gitCommit: string | null | undefined;
export function currentGitCommit(): string | null {
  if (gitCommit === undefined) {
    const r = spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' });
    gitCommit = r.status === 0 ? r.stdout.trim() : null;
  }
  return gitCommit;
}

export function currentProvenance(): Provenance {
  return {
    libtorchVersion: buildInfo().libtorchVersion,
    gitCommit: currentGitCommit(),
    threads: getNumThreads(),
    node: process.version,
    createdAt: new Date().toISOString(),
  };
}

/** The CPU generator's state and every CUDA device's. */
export function captureRngStates(): RngStates {
  const states: RngStates = new Map([['cpu', getRngState('cpu')]]);
  for (let i = 0; i < cuda.deviceCount(); i++) states.set(`cuda:${i}`, getRngState(`cuda:${i}`));
  return states;
}

/** Restores states from {@link captureRngStates} (or a loaded checkpoint's `rng`). */
export function restoreRngStates(states: RngStates): void {
  for (const [device, state] of states) setRngState(state, device as DeviceLike);
}

// ---- state trees: tensors out to safetensors, placeholders in JSON ----------------------
const TENSOR_REF = '__tensor__';

function flattenTree(tree: StateTree, path: string[], tensors: Map<string, Tensor>, where: string): Json {
  if (tree instanceof Tensor) {
    const key = path.join('/');
    if (tensors.has(key)) throw new CheckpointError(where, `two tensors share the key '${key}' (a '/' in a state key?)`);
    tensors.set(key, tree);
    return { [TENSOR_REF]: key };
  }
  if (Array.isArray(tree)) return tree.map((v, i) => flattenTree(v, [...path, String(i)], tensors, where));
  if (tree !== null && typeof tree === 'object') {
    if (Object.getPrototypeOf(tree) !== Object.prototype) throw new CheckpointError(where, `'${path.join('/')}' is not a plain object, array, tensor or JSON value`);
    if (TENSOR_REF in tree) throw new CheckpointError(where, `'${path.join('/')}' uses the reserved key '${TENSOR_REF}'`);
    return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, flattenTree(v, [...path, k], tensors, where)]));
  }
  if (typeof tree === 'number' && !Number.isFinite(tree)) throw new CheckpointError(where, `'${path.join('/')}' is ${tree}, which JSON cannot hold`);
  if (tree === null || ['boolean', 'number', 'string'].includes(typeof tree)) return tree;
  throw new CheckpointError(where, `'${path.join('/')}' is a ${typeof tree}, not a tensor or JSON value`);
}

function unflattenTree(json: Json, tensors: Map<string, Tensor>, where: string): StateTree {
  if (Array.isArray(json)) return json.map((v) => unflattenTree(v, tensors, where));
  if (json !== null && typeof json === 'object') {
    const ref = json[TENSOR_REF];
    if (typeof ref === 'string' && Object.keys(json).length === 1) {
      const t = tensors.get(ref);
      if (!t) throw new CheckpointError(where, `${FILES.state} refers to tensor '${ref}', missing from ${FILES.tensors}`);
      return t;
    }
    return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, unflattenTree(v, tensors, where)]));
  }
  return json;
}

// ---- durable file operations ------------------------------------------------------------
function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeDurable(file: string, text: string): void {
  const fd = openSync(file, 'w');
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function stepDirName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/** Step directories in `dir`, oldest first. */
export function listCheckpoints(dir: string): { step: number; path: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .flatMap((name) => {
      const m = STEP_DIR.exec(name);
      return m ? [{ step: Number(m[1]), path: join(dir, name) }] : [];
    })
    .sort((a, b) => a.step - b.step);
}

/**
 * Saves a checkpoint into `dir/step-NNNNNN` and points `dir/latest` at it. Returns the step
 * directory. Re-saving an existing step replaces it. One writer per directory: a save removes
 * the temporary leftovers of earlier, killed saves.
 */
export function saveCheckpoint(dir: string, state: CheckpointState, options: SaveCheckpointOptions = {}): string {
  const { step } = state;
  if (!Number.isSafeInteger(step) || step < 0) throw new CheckpointError(dir, `step must be a non-negative integer, got ${step}`);
  if (options.keepLast !== undefined && !(Number.isInteger(options.keepLast) && options.keepLast >= 1)) {
    throw new CheckpointError(dir, `keepLast must be an integer >= 1, got ${options.keepLast}`);
  }
  mkdirSync(dir, { recursive: true });
  // Leftovers of writers killed mid-save: never pointed to, safe to drop.
  for (const name of readdirSync(dir)) if (name.startsWith('.tmp-') || name.startsWith('.old-')) rmSync(join(dir, name), { recursive: true, force: true });

  const name = stepDirName(step);
  const final = join(dir, name);
  const tmp = join(dir, `.tmp-${name}-${process.pid}`);
  mkdirSync(tmp);

  const tensors = new Map<string, Tensor>();
  const rng = options.rng === false ? new Map<string, Tensor>() : captureRngStates();
  for (const [device, t] of rng) tensors.set(`rng/${device}`, t);
  const json = {
    optimizer: flattenTree(state.optimizer ?? null, ['optimizer'], tensors, final),
    scheduler: flattenTree(state.scheduler ?? null, ['scheduler'], tensors, final),
    loaderRng: JsonSchema.parse(state.loaderRng ?? null),
    rng: [...rng.keys()],
  };
  safetensors.save(join(tmp, FILES.model), state.model, { fsync: true });
  safetensors.save(join(tmp, FILES.tensors), tensors, { fsync: true });
  for (const t of rng.values()) t.dispose();
  writeDurable(join(tmp, FILES.state), `${JSON.stringify(json)}\n`);
  const files = Object.fromEntries([FILES.model, FILES.tensors, FILES.state].map((f) => [f, statSync(join(tmp, f)).size]));
  const meta: z.infer<typeof MetaSchema> = {
    format: FORMAT,
    version: FORMAT_VERSION,
    step,
    epoch: state.epoch ?? null,
    stage: state.stage ?? null,
    config: JsonSchema.parse(state.config ?? null),
    provenance: currentProvenance(),
    files,
  };
  writeDurable(join(tmp, FILES.meta), `${JSON.stringify(meta, null, 2)}\n`);
  fsyncPath(tmp);

  // A directory cannot be renamed over a non-empty one: move the old copy aside first.
  if (existsSync(final)) renameSync(final, join(dir, `.old-${name}-${process.pid}`));
  renameSync(tmp, final);
  fsyncPath(dir);
  const latestTmp = join(dir, `.tmp-${LATEST}-${process.pid}`);
  writeDurable(latestTmp, `${name}\n`);
  renameSync(latestTmp, join(dir, LATEST));
  fsyncPath(dir);
  rmSync(join(dir, `.old-${name}-${process.pid}`), { recursive: true, force: true });

  if (options.keepLast !== undefined) {
    const all = listCheckpoints(dir);
    for (const c of all.slice(0, Math.max(0, all.length - options.keepLast))) if (c.path !== final) rmSync(c.path, { recursive: true, force: true });
  }
  return final;
}

/**
 * The step directory `dir/latest` names; when the pointer is missing or names a directory
 * that is gone (a kill while replacing that very step), the newest complete step directory.
 * Null when there is none.
 */
export function latestCheckpoint(dir: string): string | null {
  const pointer = join(dir, LATEST);
  if (existsSync(pointer)) {
    const name = readFileSync(pointer, 'utf8').trim();
    if (!STEP_DIR.test(name)) throw new CheckpointError(dir, `'${LATEST}' holds '${name}', not a step directory name`);
    if (existsSync(join(dir, name, FILES.meta))) return join(dir, name);
  }
  const complete = listCheckpoints(dir).filter((c) => existsSync(join(c.path, FILES.meta)));
  return complete.at(-1)?.path ?? null;
}

function readMeta(path: string): z.infer<typeof MetaSchema> {
  const file = join(path, FILES.meta);
  if (!existsSync(file)) throw new CheckpointError(path, `no ${FILES.meta} (not a step directory, or an incomplete one)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CheckpointError(path, `${FILES.meta} is not valid JSON: ${(e as Error).message}`);
  }
  const meta = MetaSchema.safeParse(raw);
  if (!meta.success) {
    const issue = meta.error.issues[0]!;
    throw new CheckpointError(path, `${FILES.meta} field '${issue.path.join('.')}': ${issue.message}`);
  }
  for (const [f, size] of Object.entries(meta.data.files)) {
    const actual = existsSync(join(path, f)) ? statSync(join(path, f)).size : -1;
    if (actual !== size) throw new CheckpointError(path, `${f} is ${actual < 0 ? 'missing' : `${actual} bytes`}, ${FILES.meta} recorded ${size}`);
  }
  return meta.data;
}

/**
 * Loads a checkpoint: `path` is a step directory, or a checkpoints directory (its latest).
 * Tensors go to `options.device` (default CPU); RNG states stay on the CPU, for
 * {@link restoreRngStates}. Nothing global changes here.
 */
export function loadCheckpoint(path: string, options: { device?: DeviceLike } = {}): Checkpoint {
  let stepDir = path;
  if (!existsSync(join(path, FILES.meta))) {
    const latest = latestCheckpoint(path);
    if (latest === null) throw new CheckpointError(path, `no ${FILES.meta} and no complete step directory inside`);
    stepDir = latest;
  }
  const meta = readMeta(stepDir);
  let stateRaw: unknown;
  try {
    stateRaw = JSON.parse(readFileSync(join(stepDir, FILES.state), 'utf8'));
  } catch (e) {
    throw new CheckpointError(stepDir, `${FILES.state} is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = StateSchema.safeParse(stateRaw);
  if (!parsed.success) throw new CheckpointError(stepDir, `${FILES.state} field '${parsed.error.issues[0]!.path.join('.')}': ${parsed.error.issues[0]!.message}`);
  const state = parsed.data;

  const model = safetensors.load(join(stepDir, FILES.model), options).tensors;
  const all = safetensors.load(join(stepDir, FILES.tensors)).tensors;
  const rng: RngStates = new Map();
  for (const device of state.rng) {
    const t = all.get(`rng/${device}`);
    if (!t || t.dtype !== 'uint8') throw new CheckpointError(stepDir, `missing or non-uint8 RNG state 'rng/${device}'`);
    rng.set(device, t as Tensor<'uint8'>);
    all.delete(`rng/${device}`);
  }
  const onDevice = new Map<string, Tensor>();
  for (const [k, t] of all) {
    if (options.device === undefined || options.device === 'cpu') onDevice.set(k, t);
    else {
      onDevice.set(k, t.to(options.device));
      t.dispose();
    }
  }
  return {
    path: stepDir,
    step: meta.step,
    epoch: meta.epoch,
    stage: meta.stage,
    config: meta.config,
    provenance: meta.provenance,
    model,
    optimizer: unflattenTree(state.optimizer, onDevice, stepDir),
    scheduler: unflattenTree(state.scheduler, onDevice, stepDir),
    loaderRng: state.loaderRng,
    rng,
  };
}
