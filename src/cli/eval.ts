// `prior eval zeroshot|retrieval`, `prior embed` and `prior explain`. Options arrive as commander
// strings and are validated here with zod before any model or file is loaded.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { readDatasetFile } from '../data/dataset-file.js';
import { PRIOR_PRESETS, type PriorPreset } from '../models/prior/config.js';
import type { ProgressStream } from '../util/progress.js';
import { disposeEmbeddings, embedDataset, writeEmbeddings } from '../eval/embed.js';
import { explainAlignment, reportFromArgument } from '../eval/explain.js';
import { confusionMatrixPng } from '../eval/figures.js';
import { type EvalModel, loadPriorForEval, randomPriorForEval } from '../eval/load.js';
import { evaluateRetrieval, formatRetrieval } from '../eval/retrieval.js';
import {
  CHEXPERT_5X200_CLASSES,
  type ZeroShotDataset,
  evaluateZeroShot,
  formatConfusion,
  readClassesFile,
  readLabelledDataset,
  readPromptsFile,
  readZeroShotIndex,
  zeroShotClasses,
} from '../eval/zeroshot.js';

export class EvalCliError extends Error {
  override name = 'EvalCliError';
}

/** Error names that mean bad input rather than a bug: the CLI prints their message without a stack. */
export const INPUT_ERRORS: ReadonlySet<string> = new Set(['EvalCliError', 'EvalInputError', 'ZeroShotDataError', 'ModelLoadError', 'CheckpointError', 'ImageError', 'DatasetFileError', 'SafetensorsError', 'TokenizerError']);

const int = (min: number) => z.coerce.number().int().min(min);
const presets = Object.keys(PRIOR_PRESETS) as [PriorPreset, ...PriorPreset[]];

/** Where the model comes from: a checkpoint, or a preset with random weights (a baseline). */
const ModelOptions = z.object({
  checkpoint: z.string().min(1).optional(),
  random: z.enum(presets).optional(),
  /** Torch seed: the SPB noise of the faithful variant, and the random model's initialisation. */
  seed: int(0).max(2 ** 32 - 1).default(0),
  device: z.enum(['cpu', 'cuda']).default('cpu'),
  vocab: z.string().min(1).optional(),
  variant: z.enum(['faithful', 'intended']).default('faithful'),
  batchSize: int(1).default(32),
});

const DataOptions = z.object({
  index: z.string().min(1).optional(),
  images: z.string().min(1).optional(),
  dataset: z.string().min(1).optional(),
  classes: z.string().min(1).optional(),
  prompts: z.string().min(1).optional(),
  strict: z.boolean().default(false),
});

export const ZeroShotCliOptions = ModelOptions.extend(DataOptions.shape).extend({ out: z.string().min(1).optional(), precision: z.enum(['fp32', 'bf16', 'fp16']).default('fp32') });
export const RetrievalCliOptions = ModelOptions.extend(DataOptions.shape).extend({
  out: z.string().min(1).optional(),
  textJoin: z.enum(['none', 'space']).default('none'),
});
export const EmbedCliOptions = ModelOptions.extend({
  dataset: z.string().min(1),
  imageRoot: z.string().min(1).optional(),
  out: z.string().min(1).refine((f) => f.endsWith('.safetensors'), 'must end in .safetensors'),
  textJoin: z.enum(['none', 'space']).default('none'),
});
export const ExplainCliOptions = ModelOptions.extend({
  image: z.string().min(1),
  report: z.string().min(1),
  out: z.string().min(1).refine((f) => f.toLowerCase().endsWith('.png'), 'must end in .png'),
  sentences: z.enum(['prototypes', 'sentences']).default('prototypes'),
  columns: int(1).max(12).default(3),
  panelSize: int(64).max(1024).default(256),
  textJoin: z.enum(['none', 'space']).default('none'),
});

/** Validates raw commander options; the error message starts with "invalid options for 'prior <command>'". */
export function parseEvalOptions<S extends z.ZodType>(schema: S, raw: unknown, command: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new EvalCliError(`invalid options for 'prior ${command}':\n${z.prettifyError(parsed.error)}`);
  const o = parsed.data as { checkpoint?: string; random?: string };
  if ((o.checkpoint === undefined) === (o.random === undefined)) throw new EvalCliError(`invalid options for 'prior ${command}': give exactly one of --checkpoint DIR or --random PRESET`);
  return parsed.data;
}

function loadModel(o: z.output<typeof ModelOptions>): EvalModel {
  return o.checkpoint !== undefined ? loadPriorForEval(o.checkpoint, { device: o.device }) : randomPriorForEval(o.random!, { seed: o.seed, device: o.device });
}

/** The zero-shot dataset the options name: --index with --images (CheXpert format), or a labelled --dataset file. */
function zeroShotDataset(o: z.output<typeof DataOptions>, command: string): { dataset: ZeroShotDataset; prompts: Record<string, string[]> } {
  if ((o.index === undefined) === (o.dataset === undefined)) throw new EvalCliError(`invalid options for 'prior ${command}': give --index FILE (with --images ROOT) or --dataset FILE`);
  let prompts: Record<string, string[]> = {};
  let dataset: ZeroShotDataset;
  if (o.index !== undefined) {
    if (o.images === undefined) throw new EvalCliError(`invalid options for 'prior ${command}': --index needs --images ROOT`);
    let names: string[] = [...CHEXPERT_5X200_CLASSES];
    if (o.classes !== undefined) ({ names, prompts } = readClassesFile(o.classes));
    dataset = readZeroShotIndex(o.index, o.images, { strict: o.strict, classNames: names });
  } else {
    dataset = readLabelledDataset(o.dataset!, { strict: o.strict, ...(o.images === undefined ? {} : { imageRoot: o.images }) });
    prompts = dataset.prompts ?? {};
    if (o.classes !== undefined) {
      const c = readClassesFile(o.classes);
      if (c.names.join('\n') !== dataset.classNames.join('\n')) throw new EvalCliError(`${o.classes}: classes (${c.names.join(', ')}) differ from the dataset's classes.json (${dataset.classNames.join(', ')})`);
      prompts = { ...prompts, ...c.prompts };
    }
  }
  if (o.prompts !== undefined) prompts = readPromptsFile(o.prompts, dataset.classNames);
  return { dataset, prompts };
}

function describeData(d: ZeroShotDataset): string {
  const parts = [`${d.items.length} images`];
  if (d.missing.length > 0) parts.push(`${d.missing.length} missing (first: ${d.missing[0]!.imagePath})`);
  if (d.skipped.length > 0) parts.push(`${d.skipped.length} skipped (first: ${d.skipped[0]!.id}: ${d.skipped[0]!.reason})`);
  return `${d.source}: ${parts.join(', ')}`;
}

/** `prior eval zeroshot`: prints the report and confusion matrix; writes zeroshot.json + confusion.png to --out. */
export async function runEvalZeroShot(o: z.output<typeof ZeroShotCliOptions>, out: ProgressStream = process.stdout, err: ProgressStream = process.stderr): Promise<void> {
  const { dataset, prompts } = zeroShotDataset(o, 'eval zeroshot');
  err.write(`${describeData(dataset)}\n`);
  const { model, source } = loadModel(o);
  err.write(`model: ${source}\n`);
  const classes = zeroShotClasses(dataset.classNames, prompts);
  const r = await evaluateZeroShot(model, dataset, { classes, variant: o.variant, batchSize: o.batchSize, seed: o.seed, precision: o.precision, progress: err, ...(o.vocab === undefined ? {} : { vocabPath: o.vocab }) });
  model.dispose();
  out.write(`zero-shot classification (${r.variant}, seed ${r.seed}${r.precision === 'fp32' ? '' : `, ${r.precision} autocast`}), ${r.n} images${r.missing.length > 0 ? `, ${r.missing.length} missing` : ''}${r.skipped.length > 0 ? `, ${r.skipped.length} skipped` : ''}\n\n`);
  out.write(`${r.report}\n`);
  out.write(`accuracy ${r.accuracy.toFixed(5)}  macro precision ${r.macro.precision.toFixed(5)}  macro recall ${r.macro.recall.toFixed(5)}  macro F1 ${r.macro.f1.toFixed(5)}  kappa ${r.kappa.toFixed(5)}\n\n`);
  out.write(`${formatConfusion(r.confusion, dataset.classNames)}\n`);
  if (o.out !== undefined) {
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, 'zeroshot.json'), `${JSON.stringify({ model: source, dataset: dataset.source, ...r }, null, 1)}\n`);
    writeFileSync(join(o.out, 'confusion.png'), await confusionMatrixPng(r.confusion, dataset.classNames, { title: `Zero-shot (${r.variant}): accuracy ${(100 * r.accuracy).toFixed(1)}%, n=${r.n}` }));
    err.write(`wrote ${join(o.out, 'zeroshot.json')} and ${join(o.out, 'confusion.png')}\n`);
  }
}

/** `prior eval retrieval`: class protocol on --index/--dataset-with-labels, instance protocol on a paired --dataset. */
export async function runEvalRetrieval(o: z.output<typeof RetrievalCliOptions>, out: ProgressStream = process.stdout, err: ProgressStream = process.stderr): Promise<void> {
  const textOptions = { textJoin: o.textJoin, ...(o.vocab === undefined ? {} : { vocabPath: o.vocab }) };
  const common = { variant: o.variant, batchSize: o.batchSize, seed: o.seed, progress: err, ...textOptions };
  let report;
  if (o.index !== undefined) {
    const { dataset, prompts } = zeroShotDataset(o, 'eval retrieval');
    err.write(`${describeData(dataset)}\n`);
    const { model, source } = loadModel(o);
    err.write(`model: ${source}\n`);
    report = await evaluateRetrieval(model, dataset, { ...common, classes: zeroShotClasses(dataset.classNames, prompts) });
    model.dispose();
  } else {
    if (o.dataset === undefined) throw new EvalCliError("invalid options for 'prior eval retrieval': give --index FILE --images ROOT (class protocol) or --dataset FILE (instance protocol)");
    const dataset = readDatasetFile(o.dataset, { strict: o.strict, ...(o.images === undefined ? {} : { imageRoot: o.images }) });
    const missing = dataset.records.filter((r) => r.imagePaths.some((p) => !existsSync(p)));
    if (missing.length > 0) throw new EvalCliError(`${o.dataset}: ${missing.length} records have missing images (first: ${missing[0]!.imagePaths.find((p) => !existsSync(p))})`);
    err.write(`${o.dataset}: ${dataset.records.length} records\n`);
    const { model, source } = loadModel(o);
    err.write(`model: ${source}\n`);
    report = await evaluateRetrieval(model, dataset, common);
    model.dispose();
  }
  out.write(`${formatRetrieval(report)}\n`);
  if (o.out !== undefined) {
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, 'retrieval.json'), `${JSON.stringify(report, null, 1)}\n`);
    err.write(`wrote ${join(o.out, 'retrieval.json')}\n`);
  }
}

/** `prior embed`: the dataset's embeddings as safetensors with the ids in the metadata. */
export async function runEmbed(o: z.output<typeof EmbedCliOptions>, out: ProgressStream = process.stdout, err: ProgressStream = process.stderr): Promise<void> {
  const dataset = readDatasetFile(o.dataset, o.imageRoot === undefined ? {} : { imageRoot: o.imageRoot });
  const { model, source } = loadModel(o);
  err.write(`model: ${source}\n`);
  const e = await embedDataset(model, dataset, { variant: o.variant, batchSize: o.batchSize, seed: o.seed, textJoin: o.textJoin, progress: err, ...(o.vocab === undefined ? {} : { vocabPath: o.vocab }) });
  mkdirSync(dirname(o.out), { recursive: true });
  writeEmbeddings(o.out, e, { model: source, dataset: o.dataset, local_layout: model.config.localLayout });
  out.write(`${o.out}: image_global [${e.imageGlobal.shape.join(', ')}], image_local [${e.imageLocal.shape.join(', ')}], text_global [${e.textGlobal.shape.join(', ')}], text_local [${e.textLocal.shape.join(', ')}]\n`);
  disposeEmbeddings(e);
  model.dispose();
}

/** `prior explain`: the sentence-to-image attention figure. */
export async function runExplain(o: z.output<typeof ExplainCliOptions>, out: ProgressStream = process.stdout, err: ProgressStream = process.stderr): Promise<void> {
  if (!existsSync(o.image)) throw new EvalCliError(`--image ${o.image} does not exist`);
  const { model, source } = loadModel(o);
  err.write(`model: ${source}\n`);
  const r = await explainAlignment(model, o.image, reportFromArgument(o.report), {
    variant: o.variant,
    seed: o.seed,
    sentences: o.sentences,
    columns: o.columns,
    panelSize: o.panelSize,
    textJoin: o.textJoin,
    ...(o.vocab === undefined ? {} : { vocabPath: o.vocab }),
  });
  model.dispose();
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, r.png);
  out.write(`${o.out}: ${r.shown.length} sentence panel(s), ${r.layout.width}x${r.layout.height}, local layout '${r.localLayout}'\n`);
}
