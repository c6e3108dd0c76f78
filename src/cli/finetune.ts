// `prior finetune classify|segment|detect`: downstream fine-tuning of an image encoder from a
// PRIOR run (--checkpoint), a torchvision-keyed ResNet safetensors file (--encoder) or a random
// initialisation (--random --depth), on the public datasets' own files (--format). Only zod and
// commander load here; the fine-tuning code (and the native addon) load when a command runs.
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';

export type FinetuneTaskName = 'classify' | 'segment' | 'detect';

export const FORMATS: Record<FinetuneTaskName, readonly [string, ...string[]]> = {
  classify: ['dataset', 'chexpert', 'rsna', 'covidx', 'siim', 'object-cxr'],
  segment: ['folder', 'siim', 'rsna'],
  detect: ['coco', 'rsna', 'object-cxr'],
};

export class FinetuneCliError extends Error {
  override name = 'FinetuneCliError';
}

const num = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), schema);

function optionsSchema(task: FinetuneTaskName) {
  return z
    .strictObject({
      format: z.enum(FORMATS[task]).default(FORMATS[task][0]),
      train: z.string().min(1),
      val: z.string().min(1).optional(),
      test: z.string().min(1).optional(),
      imageDir: z.string().min(1).optional(),
      valFraction: num(z.number().gt(0).lt(1)).default(0.1),
      checkpoint: z.string().min(1).optional(),
      encoder: z.string().min(1).optional(),
      random: z.boolean().default(false),
      depth: num(z.union([z.literal(18), z.literal(34), z.literal(50)])).default(50),
      fraction: num(z.number().gt(0).max(1)).default(1),
      linear: z.boolean().default(false),
      full: z.boolean().default(false),
      epochs: num(z.number().int().min(2)).default(10),
      batchSize: num(z.number().int().min(2)).default(16),
      lr: num(z.number().positive()).optional(),
      weightDecay: num(z.number().nonnegative()).default(1e-6),
      imageSize: num(z.number().int().min(32)).default(224),
      patience: num(z.number().int().nonnegative()).default(5),
      seed: num(z.number().int().nonnegative()).default(0),
      device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
      threads: num(z.number().int().positive()).optional(),
      out: z.string().min(1).optional(),
      uncertain: z.enum(['ones', 'zeros']).default('ones'),
      classes: z.string().min(1).optional(),
      rle: z.enum(['relative', 'absolute']).default('relative'),
      figures: num(z.number().int().nonnegative()).default(4),
    })
    .refine((o) => [o.checkpoint !== undefined, o.encoder !== undefined, o.random].filter(Boolean).length === 1, { message: 'give exactly one of --checkpoint DIR, --encoder FILE.safetensors and --random', path: ['checkpoint'] })
    .refine((o) => !(o.linear && o.full), { message: '--linear and --full exclude each other', path: ['linear'] });
}
export type FinetuneCliOptions = z.output<ReturnType<typeof optionsSchema>> & { task: FinetuneTaskName };

export function parseFinetuneOptions(task: FinetuneTaskName, raw: unknown): FinetuneCliOptions {
  const parsed = optionsSchema(task).safeParse(raw);
  if (!parsed.success) throw new FinetuneCliError(`invalid options for 'prior finetune ${task}':\n${z.prettifyError(parsed.error)}`);
  return { ...parsed.data, task };
}

/** Linear probing by default for classification, full fine-tuning for segmentation and detection (as MGCA). */
export function finetuneMode(o: FinetuneCliOptions): 'linear' | 'full' {
  if (o.linear) return 'linear';
  if (o.full) return 'full';
  return o.task === 'classify' ? 'linear' : 'full';
}

/** Runs a parsed `prior finetune` command; returns the exit code. */
export async function runFinetuneCli(o: FinetuneCliOptions, now = new Date()): Promise<number> {
  const data = await import('../data/downstream/index.js');
  const { holdOut } = await import('../finetune/data.js');
  const { loadEncoder } = await import('../finetune/encoder.js');
  const { runFinetune } = await import('../finetune/run.js');
  const torch = await import('../torch/index.js');
  if (o.threads !== undefined) torch.setNumThreads(o.threads);
  const mode = finetuneMode(o);
  const stamp = now.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const runDir = o.out ?? join('runs', `${stamp}-finetune-${o.task}`);
  const imageDir = o.imageDir === undefined ? {} : { imageDir: o.imageDir };
  const classes = o.classes?.split(',').map((c) => c.trim()).filter((c) => c !== '');

  type Splits<S> = { train: S[]; val: S[]; test?: S[] };
  /** --val, or a seeded hold-out of --train. */
  const splitsOf = <S>(read: (file: string) => S[]): Splits<S> => {
    const train = read(o.train);
    const test = o.test === undefined ? undefined : read(o.test);
    if (o.val !== undefined) return { train, val: read(o.val), ...(test ? { test } : {}) };
    const [rest, held] = holdOut(train.length, o.valFraction, o.seed);
    return { train: rest.map((i) => train[i]!), val: held.map((i) => train[i]!), ...(test ? { test } : {}) };
  };

  const source: import('../finetune/encoder.js').EncoderSource = o.checkpoint !== undefined ? { kind: 'prior' as const, dir: o.checkpoint } : o.encoder !== undefined ? { kind: 'safetensors' as const, file: o.encoder } : { kind: 'random' as const, depth: o.depth as 18 | 34 | 50, seed: o.seed };
  const { encoder, description } = loadEncoder(source);
  const lr = o.lr ?? (mode === 'linear' ? 1e-3 : 1e-4);
  const settings = { runDir, fraction: o.fraction, mode, imageSize: o.imageSize, batchSize: o.batchSize, epochs: o.epochs, lr, weightDecay: o.weightDecay, patience: o.patience, seed: o.seed, device: o.device, figureCases: o.figures };
  const config = { format: o.format, train: o.train, val: o.val ?? null, test: o.test ?? null, valFraction: o.val === undefined ? o.valFraction : null };
  const common = { encoderDescription: description, settings, config, handleSignals: true };

  let result;
  if (o.task === 'classify') {
    const { ClassifyTask } = await import('../finetune/classify.js');
    let meta: { classes: string[]; multiLabel: boolean } | null = null;
    const read = (file: string) => {
      let d;
      switch (o.format) {
        case 'dataset':
          d = data.readLabelledDataset(file, classes ? { classes } : {});
          break;
        case 'chexpert':
          d = data.readChexpertCsv(file, { uncertain: o.uncertain, ...(classes ? { classes: classes as never } : {}), ...(o.imageDir ? { root: o.imageDir } : {}) });
          break;
        case 'rsna':
          d = data.rsnaClassification(data.readRsnaLabels(file, imageDir));
          break;
        case 'covidx':
          d = data.readCovidxSplit(file, { ...imageDir, ...(classes ? { classes } : meta ? { classes: meta.classes } : {}) });
          break;
        case 'siim':
          d = data.siimClassification(data.readSiimRle(file, imageDir));
          break;
        default:
          d = data.objectCxrClassification(data.readObjectCxrCsv(file, imageDir));
      }
      if (meta !== null && meta.classes.join('\n') !== d.classes.join('\n')) throw new FinetuneCliError(`${file}: classes ${d.classes.join(', ')} differ from the training file's ${meta.classes.join(', ')}`);
      meta ??= { classes: d.classes, multiLabel: d.multiLabel };
      return d.samples;
    };
    const splits = splitsOf(read);
    result = await runFinetune({ task: new ClassifyTask(encoder, meta!.classes, meta!.multiLabel), ...splits, ...common });
  } else if (o.task === 'segment') {
    const { SegmentTask } = await import('../finetune/segment.js');
    const read = (file: string) =>
      o.format === 'folder' ? data.readImageMaskFolder(file) : o.format === 'siim' ? data.siimSegmentation(data.readSiimRle(file, imageDir), o.rle) : data.rsnaSegmentation(data.readRsnaLabels(file, imageDir));
    result = await runFinetune({ task: new SegmentTask(encoder, o.imageSize, o.figures), ...splitsOf(read), ...common });
  } else {
    const { DetectTask, anchorsFor, relativeBoxShapes } = await import('../finetune/detect.js');
    let names: string[] | null = null;
    const read = (file: string) => {
      const d = o.format === 'coco' ? data.readCoco(file, imageDir) : o.format === 'rsna' ? data.rsnaDetection(data.readRsnaLabels(file, imageDir)) : data.readObjectCxrCsv(file, imageDir);
      names ??= d.classes;
      return d.samples;
    };
    const splits = splitsOf(read);
    const task = new DetectTask(encoder, names!, o.imageSize, anchorsFor(relativeBoxShapes(splits.train), o.imageSize), o.figures);
    result = await runFinetune({ task, ...splits, ...common });
  }
  process.stdout.write(`${JSON.stringify({ runDir, val: result.val.metrics, test: result.test?.metrics ?? null, untrained: result.untrained.metrics, baselines: result.val.baselines ?? null })}\n`);
  return result.training.status === 'completed' ? 0 : 1;
}

/** The error names reported in one line (bad input), as `prior eval` does. */
export const FINETUNE_INPUT_ERRORS: ReadonlySet<string> = new Set(['FinetuneCliError', 'DownstreamFormatError', 'EncoderLoadError', 'CheckpointError', 'ImageError', 'DatasetFileError', 'SafetensorsError', 'RangeError']);

/** Registers `prior finetune classify|segment|detect` on the program. */
export function registerFinetune(program: Command): void {
  const finetune = program.command('finetune').description('fine-tune an image encoder on a downstream task (classification, segmentation, detection)');
  const descriptions: Record<FinetuneTaskName, string> = {
    classify: 'classification head (softmax or sigmoid): per-class and macro AUROC, accuracy, ROC curves',
    segment: 'U-Net decoder over the encoder stages (Dice + BCE): Dice against the mean training mask and the untrained model',
    detect: 'YOLOv3-style one-stage head: AP over IoU 0.40:0.05:0.75 against the untrained head and the per-class mean box',
  };
  for (const task of ['classify', 'segment', 'detect'] as const) {
    finetune
      .command(task)
      .description(descriptions[task])
      .requiredOption('--train <file>', 'training annotations (a dataset JSON, CSV, split file, COCO JSON or image/mask folder, per --format)')
      .option('--format <name>', `annotation format: ${FORMATS[task].join(', ')}`, FORMATS[task][0])
      .option('--val <file>', 'validation annotations (default: a seeded --val-fraction of --train)')
      .option('--test <file>', 'test annotations')
      .option('--val-fraction <x>', 'share of --train held out for validation without --val', '0.1')
      .option('--image-dir <dir>', "images' folder, where the format does not fix it")
      .option('--checkpoint <dir>', 'a PRIOR run or checkpoint directory (image_encoder.encoder.* weights)')
      .option('--encoder <file>', 'a torchvision-keyed ResNet .safetensors (flat keys, 1-channel conv1)')
      .option('--random', 'random initialisation (a baseline)', false)
      .option('--depth <n>', 'ResNet depth with --random: 18, 34 or 50', '50')
      .option('--fraction <x>', 'share of the training split used (e.g. 0.01, 0.1, 1)', '1')
      .option('--linear', 'freeze the encoder (linear probing; default for classify)', false)
      .option('--full', 'fine-tune everything (default for segment and detect)', false)
      .option('--epochs <n>', 'epochs (the first is warm-up)', '10')
      .option('--batch-size <n>', 'batch size', '16')
      .option('--lr <x>', 'peak learning rate (default 1e-3 linear, 1e-4 full)')
      .option('--weight-decay <x>', 'AdamW weight decay', '1e-6')
      .option('--image-size <px>', 'square input side', '224')
      .option('--patience <n>', 'early stopping: validations without improvement (0: never)', '5')
      .option('--seed <n>', 'seed of the fraction, split, shuffles and random init', '0')
      .option('--device <d>', 'auto, cpu or cuda', 'auto')
      .option('--threads <n>', 'libtorch threads')
      .option('--out <dir>', 'run directory (default runs/<time>-finetune-<task>)')
      .option('--uncertain <policy>', 'CheXpert uncertain labels: ones (U-Ones) or zeros (U-Zeros)', 'ones')
      .option('--classes <list>', 'comma-separated class names (CheXpert columns, COVIDx classes, dataset labels)')
      .option('--rle <variant>', 'SIIM run-length encoding: relative (train-rle.csv) or absolute (stage_2_train.csv)', 'relative')
      .option('--figures <n>', 'cases drawn in the prediction figures', '4')
      .action(async (raw: Record<string, unknown>) => {
        let options: FinetuneCliOptions;
        try {
          options = parseFinetuneOptions(task, raw);
        } catch (e) {
          program.error((e as Error).message, { exitCode: 2 });
        }
        try {
          process.exitCode = await runFinetuneCli(options);
        } catch (e) {
          if (e instanceof Error && FINETUNE_INPUT_ERRORS.has(e.name)) program.error(`error: ${e.message}`, { exitCode: 1 });
          throw e;
        }
      });
  }
}
