// Zero-shot classification (spec 9): class prompts -> class embeddings, each image scored
// softmax(global logits) + 0.5·softmax(local scores), prediction = argmax, and the metrics the
// original prints (accuracy, macro P/R/F1, Cohen's kappa, the 5-digit classification report).
//
// Datasets: the CheXpert 5x200 index format (id -> { image_path, label one-hot }), including the
// synthetic `zeroshot_5x*.json` that `prior data synth` writes, or any labelled dataset file of
// the builders (records with `labels` + classes.json; single-label records only).
//
// Prompts are data: by default "<Class> is observed" (the original), or classes.json / a prompt
// file with several prompts per class. With several prompts a class's global logit is the max
// over its prompts and its local score the mean (what the original's code does, spec 9.3).
//
// Differences from the original, on purpose: images are scored in batches (the per-image scores
// equal the original's forced batch of 1, B20; see Prior.zeroShotScores), and the SPB's Gumbel
// noise (B6, faithful variant) is drawn from a torch RNG seeded with `seed`, so a run repeats.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { readDatasetFile } from '../data/dataset-file.js';
import { ZERO_SHOT_NORMALIZATION } from '../data/image.js';
import type { ImageEmbeddings, Prior, ZeroShotClasses, ZeroShotVariant } from '../models/prior/prior.js';
import { autocast } from '../optim/amp.js';
import * as torch from '../torch/index.js';
import type { DeviceLike, Tensor } from '../torch/index.js';
import { Progress, type ProgressStream } from '../util/progress.js';
import { type Normalization, batches, loadImageBatch, tokenisePrompts, toRows, withTorchSeed } from './encode.js';
import { classificationReport, classificationSummary } from './metrics/classification.js';

/** CheXpert 5x200's classes in label order (spec 9.1). */
export const CHEXPERT_5X200_CLASSES = ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion'] as const;

/** The original's prompt (spec 9.3). */
export const defaultPrompt = (className: string): string => `${className} is observed`;

/** Weight of the local softmax in the probability (spec 9.4). */
export const LOCAL_SCORE_WEIGHT = 0.5;

export interface ZeroShotClass {
  name: string;
  /** One or more prompt texts. */
  prompts: string[];
}

export interface ZeroShotItem {
  id: string;
  /** Absolute image path. */
  imagePath: string;
  /** Class index. */
  label: number;
}

export interface MissingImage {
  id: string;
  imagePath: string;
  label: number;
}

export interface SkippedRecord {
  id: string;
  reason: string;
}

export interface ZeroShotDataset {
  /** The file read. */
  source: string;
  /** Class names in label order. */
  classNames: string[];
  /** Prompts the dataset itself carries (classes.json), by class name. */
  prompts?: Record<string, string[]>;
  items: ZeroShotItem[];
  /** Entries whose image file does not exist (not evaluated). */
  missing: MissingImage[];
  /** Entries left out for another reason (multi-label, no label, unknown class). */
  skipped: SkippedRecord[];
}

export class ZeroShotDataError extends Error {
  override name = 'ZeroShotDataError';
}

const IndexEntry = z.object({ image_path: z.string().min(1), label: z.array(z.number().int().min(0).max(1)).min(1) });
const IndexFile = z.record(z.string(), IndexEntry);

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ZeroShotDataError(`${file}: cannot read the ${what}: ${(e as Error).message}`);
  }
}

export interface ReadZeroShotOptions {
  /** A missing image is an error (default: listed in `missing` and left out). */
  strict?: boolean;
  /** Class names in label order (default CheXpert 5x200's). */
  classNames?: readonly string[];
}

/**
 * Reads a CheXpert-5x200-format index: `{ id: { image_path (relative to imagesRoot), label
 * (one-hot over the classes) } }`, in JSON key order (numeric keys come back ascending, not in
 * file order; no result depends on the order). A label that is not one-hot is an error naming
 * the entry; so is a label length that differs from the class count.
 */
export function readZeroShotIndex(file: string, imagesRoot: string, { strict = false, classNames = CHEXPERT_5X200_CLASSES }: ReadZeroShotOptions = {}): ZeroShotDataset {
  const parsed = IndexFile.safeParse(readJson(file, 'zero-shot index'));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ZeroShotDataError(`${file}: entry '${String(issue.path[0] ?? '')}', field '${issue.path.slice(1).join('.')}': ${issue.message}`);
  }
  const items: ZeroShotItem[] = [];
  const missing: MissingImage[] = [];
  for (const [id, entry] of Object.entries(parsed.data)) {
    if (entry.label.length !== classNames.length) {
      throw new ZeroShotDataError(`${file}: entry '${id}' has ${entry.label.length} labels, but there are ${classNames.length} classes (${classNames.join(', ')})`);
    }
    const hot = entry.label.flatMap((v, i) => (v === 1 ? [i] : []));
    if (hot.length !== 1) throw new ZeroShotDataError(`${file}: entry '${id}' label [${entry.label.join(', ')}] is not one-hot`);
    const imagePath = isAbsolute(entry.image_path) ? entry.image_path : resolve(imagesRoot, entry.image_path);
    if (!existsSync(imagePath)) {
      if (strict) throw new ZeroShotDataError(`${file}: entry '${id}': image ${imagePath} does not exist`);
      missing.push({ id, imagePath, label: hot[0]! });
      continue;
    }
    items.push({ id, imagePath, label: hot[0]! });
  }
  return { source: file, classNames: [...classNames], items, missing, skipped: [] };
}

/**
 * A labelled dataset file of the builders as a zero-shot set: each record's first image, its
 * single label over classes.json. Records with several labels or none are skipped and counted.
 */
export function readLabelledDataset(file: string, { strict = false, imageRoot }: { strict?: boolean; imageRoot?: string } = {}): ZeroShotDataset {
  const dataset = readDatasetFile(file, { strict, ...(imageRoot === undefined ? {} : { imageRoot }) });
  if (dataset.classes === undefined) throw new ZeroShotDataError(`${file}: no classes.json beside the dataset file, so its labels have no class order`);
  const classNames = dataset.classes.map((c) => c.name);
  const prompts: Record<string, string[]> = {};
  for (const c of dataset.classes) if (c.prompts !== undefined && c.prompts.length > 0) prompts[c.name] = c.prompts;
  const items: ZeroShotItem[] = [];
  const missing: MissingImage[] = [];
  const skipped: SkippedRecord[] = dataset.summary.skipped.map((p) => ({ id: p.key, reason: `malformed: field '${p.field}': ${p.message}` }));
  for (const r of dataset.records) {
    const hot = (r.label ?? []).flatMap((v, i) => (v === 1 ? [i] : []));
    if (hot.length !== 1) {
      skipped.push({ id: r.key, reason: hot.length === 0 ? 'no label' : `multi-label (${hot.length} labels)` });
      continue;
    }
    const imagePath = r.imagePaths[0]!;
    if (!existsSync(imagePath)) {
      if (strict) throw new ZeroShotDataError(`${file}: record '${r.key}': image ${imagePath} does not exist`);
      missing.push({ id: r.key, imagePath, label: hot[0]! });
      continue;
    }
    items.push({ id: r.key, imagePath, label: hot[0]! });
  }
  const out: ZeroShotDataset = { source: file, classNames, items, missing, skipped };
  if (Object.keys(prompts).length > 0) out.prompts = prompts;
  return out;
}

const ClassesList = z.union([
  z.array(z.string().min(1)).min(1),
  z.object({ classes: z.array(z.object({ name: z.string().min(1), prompts: z.array(z.string().min(1)).optional() })).min(1) }),
]);
const PromptsFile = z.record(z.string(), z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]));

/** A classes file: a JSON list of names, or classes.json (`{ classes: [{ name, prompts? }] }`). */
export function readClassesFile(file: string): { names: string[]; prompts: Record<string, string[]> } {
  const parsed = ClassesList.safeParse(readJson(file, 'classes file'));
  if (!parsed.success) throw new ZeroShotDataError(`${file}: expected a JSON list of class names or { "classes": [{ "name", "prompts"? }] }: ${z.prettifyError(parsed.error)}`);
  if (Array.isArray(parsed.data)) return { names: parsed.data, prompts: {} };
  const prompts: Record<string, string[]> = {};
  for (const c of parsed.data.classes) if (c.prompts !== undefined && c.prompts.length > 0) prompts[c.name] = c.prompts;
  return { names: parsed.data.classes.map((c) => c.name), prompts };
}

/** A prompt file: `{ "<class name>": "prompt" | ["prompt", ...] }`; every class must be present. */
export function readPromptsFile(file: string, classNames: readonly string[]): Record<string, string[]> {
  const parsed = PromptsFile.safeParse(readJson(file, 'prompts file'));
  if (!parsed.success) throw new ZeroShotDataError(`${file}: expected { "<class>": "prompt" | ["prompt", ...] }: ${z.prettifyError(parsed.error)}`);
  const out: Record<string, string[]> = {};
  for (const [name, p] of Object.entries(parsed.data)) out[name] = typeof p === 'string' ? [p] : p;
  const absent = classNames.filter((n) => !Object.hasOwn(out, n));
  if (absent.length > 0) throw new ZeroShotDataError(`${file}: no prompts for ${absent.map((n) => `'${n}'`).join(', ')}`);
  const unknown = Object.keys(out).filter((n) => !classNames.includes(n));
  if (unknown.length > 0) throw new ZeroShotDataError(`${file}: prompts for unknown classes ${unknown.map((n) => `'${n}'`).join(', ')} (classes: ${classNames.join(', ')})`);
  return out;
}

/** The classes with their prompts: `prompts` by name where given, else "<Class> is observed". */
export function zeroShotClasses(classNames: readonly string[], prompts: Readonly<Record<string, readonly string[]>> = {}): ZeroShotClass[] {
  return classNames.map((name) => ({ name, prompts: prompts[name] !== undefined && prompts[name].length > 0 ? [...prompts[name]] : [defaultPrompt(name)] }));
}

/** Prompt embeddings of every prompt of every class, and which class each prompt row belongs to. */
export interface EncodedClasses {
  classes: ZeroShotClasses;
  /** Class index of each prompt row. */
  promptClass: number[];
  nClasses: number;
}

/** Encodes every prompt (one row each) with Prior.encodePrompts. Seed the torch RNG first for the faithful SPB noise. */
export function encodeClasses(model: Prior, classes: readonly ZeroShotClass[], variant: ZeroShotVariant, vocabPath?: string): EncodedClasses {
  if (classes.length === 0) throw new RangeError('encodeClasses: no classes');
  const texts = classes.flatMap((c) => c.prompts);
  const promptClass = classes.flatMap((c, i) => c.prompts.map(() => i));
  const encoded = torch.scope(() => {
    const { inputIds, attentionMask } = tokenisePrompts(model, texts, vocabPath);
    const out = model.encodePrompts(inputIds, attentionMask, { variant });
    return { sentences: torch.keep(out.sentences), prototypes: torch.keep(out.prototypes), global: torch.keep(out.global) };
  });
  return { classes: encoded, promptClass, nClasses: classes.length };
}

export function disposeClasses(c: EncodedClasses): void {
  torch.dispose([c.classes.sentences, c.classes.prototypes, c.classes.global]);
}

/**
 * Class probabilities [B, C] from image embeddings (spec 9.4): softmax over classes of the global
 * logits (per class the max over its prompts) + 0.5·softmax of the local scores (per class the
 * mean over its prompts). With one prompt per class this is exactly Prior.zeroShotScores.
 */
export function zeroShotProbabilities(model: Prior, image: ImageEmbeddings, encoded: EncodedClasses, variant: ZeroShotVariant): Tensor {
  return torch.noGrad(() =>
    torch.scope(() => {
      const { classes, promptClass, nClasses } = encoded;
      const scale = variant === 'faithful' ? model.logitScale : model.logitScale.exp(); // B19
      const globalLogits = torch.normalize(image.global, { dim: 1 }).matmul(torch.normalize(classes.global, { dim: 1 }).t()).mul(scale); // [B, P]
      const batch = image.local.size(0);
      const nPrompts = classes.prototypes.size(0);
      const prompts = classes.prototypes.unsqueeze(0).expand(batch, nPrompts, classes.prototypes.size(1));
      const mask = torch.ones(batch, nPrompts, { dtype: 'bool', device: image.local.device as DeviceLike });
      const att = model.localCrossAttention.call(image.local, prompts, mask);
      const localScores = att.imageAttention.mean([1]).add(att.sentenceAttention.mean([2])).mul(0.5); // [B, P]
      let g = globalLogits;
      let l = localScores;
      if (nPrompts !== nClasses || promptClass.some((c, i) => c !== i)) {
        const perClass = (x: Tensor, reduce: 'max' | 'mean'): Tensor =>
          torch.cat(
            Array.from({ length: nClasses }, (_, c) => {
              const idx = torch.tensor(
                promptClass.flatMap((k, i) => (k === c ? [i] : [])),
                { dtype: 'int64', device: x.device as DeviceLike },
              );
              const cols = x.indexSelect(1, idx);
              return reduce === 'max' ? cols.amax(1, true) : cols.mean(1, true);
            }),
            1,
          );
        g = perClass(globalLogits, 'max');
        l = perClass(localScores, 'mean');
      }
      return torch.softmax(g, 1).add(torch.softmax(l, 1).mul(LOCAL_SCORE_WEIGHT));
    }),
  );
}

export interface ZeroShotOptions {
  classes?: readonly ZeroShotClass[];
  /** Default 'faithful'. */
  variant?: ZeroShotVariant;
  /** Images per forward pass (default 32); results do not depend on it. */
  batchSize?: number;
  /** Seeds the torch RNG for the SPB noise (default 0). */
  seed?: number;
  /** Default the zero-shot statistics (spec 9.1, B21). */
  normalization?: Normalization;
  vocabPath?: string;
  /** Where the progress bar goes; null for none (default none). */
  progress?: ProgressStream | null;
  /**
   * Images and scores under autocast: 'fp16' as the original's test steps ran (spec 9.2),
   * 'bf16', or 'fp32' (default). The prompts are always encoded in fp32, as the original's hook did.
   */
  precision?: EvalPrecision;
}

export type EvalPrecision = 'fp32' | 'bf16' | 'fp16';

/** Runs `fn` under autocast on the model's device type for 'bf16'/'fp16'; as is for 'fp32'. */
export function withPrecision<T>(model: Prior, precision: EvalPrecision, fn: () => T): T {
  if (precision === 'fp32') return fn();
  const deviceType = String(model.logitScale.device).startsWith('cuda') ? 'cuda' : 'cpu';
  return autocast({ deviceType, dtype: precision === 'bf16' ? 'bfloat16' : 'float16' }, fn);
}

export interface ZeroShotPerClass {
  name: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ZeroShotPrediction {
  id: string;
  label: number;
  predicted: number;
  probabilities: number[];
}

export interface ZeroShotResult {
  variant: ZeroShotVariant;
  seed: number;
  precision: EvalPrecision;
  classes: ZeroShotClass[];
  /** Images scored. */
  n: number;
  accuracy: number;
  macro: { precision: number; recall: number; f1: number };
  weighted: { precision: number; recall: number; f1: number };
  /** Unweighted Cohen's kappa. */
  kappa: number;
  perClass: ZeroShotPerClass[];
  /** confusion[true][predicted]. */
  confusion: number[][];
  predictions: ZeroShotPrediction[];
  missing: MissingImage[];
  skipped: SkippedRecord[];
  /** sklearn's classification_report text, 5 digits (as the original prints it). */
  report: string;
}

/** Class index of the largest probability (the first on ties, as torch.argmax on CPU). */
function argmax(row: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Scores every image of `dataset` and computes the metrics. The model is put in eval mode. */
export async function evaluateZeroShot(model: Prior, dataset: ZeroShotDataset, opts: ZeroShotOptions = {}): Promise<ZeroShotResult> {
  const variant = opts.variant ?? 'faithful';
  const seed = opts.seed ?? 0;
  const classes = opts.classes ? [...opts.classes] : zeroShotClasses(dataset.classNames, dataset.prompts);
  if (classes.length !== dataset.classNames.length || classes.some((c, i) => c.name !== dataset.classNames[i])) {
    throw new ZeroShotDataError(`${dataset.source}: the classes given (${classes.map((c) => c.name).join(', ')}) differ from the dataset's (${dataset.classNames.join(', ')})`);
  }
  if (dataset.items.length === 0) throw new ZeroShotDataError(`${dataset.source}: no images to evaluate (${dataset.missing.length} missing, ${dataset.skipped.length} skipped)`);
  model.eval();
  const predictions = await withTorchSeed(seed, async () => {
    const encoded = encodeClasses(model, classes, variant, opts.vocabPath);
    const out: ZeroShotPrediction[] = [];
    const progress = opts.progress ? new Progress({ total: dataset.items.length, unit: 'images', stream: opts.progress }) : null;
    try {
      for (const batch of batches(dataset.items, opts.batchSize ?? 32)) {
        const images = await loadImageBatch(model, batch.map((it) => it.imagePath), opts.normalization ?? ZERO_SHOT_NORMALIZATION);
        const rows = torch.scope(() =>
          withPrecision(model, opts.precision ?? 'fp32', () => {
            const embeddings = torch.noGrad(() => model.encodeImage(images));
            return toRows(zeroShotProbabilities(model, embeddings, encoded, variant).float());
          }),
        );
        images.dispose();
        batch.forEach((it, i) => out.push({ id: it.id, label: it.label, predicted: argmax(rows[i]!), probabilities: rows[i]! }));
        progress?.update(out.length);
      }
    } finally {
      disposeClasses(encoded);
    }
    return out;
  });
  const yTrue = predictions.map((p) => p.label);
  const yPred = predictions.map((p) => p.predicted);
  const nClasses = classes.length;
  const s = classificationSummary(yTrue, yPred, nClasses);
  const names = classes.map((c) => c.name);
  return {
    variant,
    seed,
    precision: opts.precision ?? 'fp32',
    classes,
    n: predictions.length,
    accuracy: s.accuracy,
    macro: s.macro,
    weighted: s.weighted,
    kappa: s.kappa,
    perClass: names.map((name, c) => ({ name, precision: s.perClass.precision[c]!, recall: s.perClass.recall[c]!, f1: s.perClass.f1[c]!, support: s.perClass.support[c]! })),
    confusion: s.confusion,
    predictions,
    missing: dataset.missing,
    skipped: dataset.skipped,
    report: classificationReport(yTrue, yPred, nClasses, { targetNames: names, digits: 5 }),
  };
}

/** The confusion matrix as text: rows = true class, columns = predicted (sklearn's layout). */
export function formatConfusion(confusion: readonly (readonly number[])[], names: readonly string[]): string {
  const width = Math.max(...names.map((n) => n.length), 'true \\ predicted'.length);
  const cell = Math.max(6, ...confusion.flat().map((v) => String(v).length + 1));
  const abbrev = names.map((n, i) => `c${i}`);
  const head = `${'true \\ predicted'.padEnd(width)} ${abbrev.map((a) => a.padStart(cell)).join('')}`;
  const rows = confusion.map((row, i) => `${names[i]!.padEnd(width)} ${row.map((v) => String(v).padStart(cell)).join('')}`);
  const legend = names.map((n, i) => `c${i} = ${n}`).join(', ');
  return [head, ...rows, legend].join('\n');
}

/** The synthetic set's zero-shot run, as the integration tests call it: `dir` is a `prior data synth` output folder. */
export async function evaluateSyntheticZeroShot(model: Prior, dir: string, opts: ZeroShotOptions = {}): Promise<ZeroShotResult> {
  const { readdirSync } = await import('node:fs');
  const index = readdirSync(dir).find((f) => /^zeroshot_5x\d+\.json$/.test(f));
  if (index === undefined) throw new ZeroShotDataError(`${dir}: no zeroshot_5x*.json (run \`prior data synth\` first)`);
  return evaluateZeroShot(model, readZeroShotIndex(resolve(dir, index), dir, { strict: true }), opts);
}
