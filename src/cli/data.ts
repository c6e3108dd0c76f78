// `prior data ...`: dataset builders and splits. Options arrive as commander strings and are
// validated here with zod, so that a bad value is reported before any file is touched.
import { z } from 'zod';
import { buildFromCsv, buildFromOpenI, type BuildResult, formatBuildSummary, type ProgressCallback, writeBuildResult } from '../data/builders.js';
import { buildFromMimic } from '../data/mimic.js';
import { splitDatasetFile } from '../data/split.js';
import { generateSyntheticDataset, type SynthSummary } from '../data/synth/index.js';
import { Progress, type ProgressStream } from '../util/progress.js';

const list = z.string().transform((s) => s.split(',').map((v) => v.trim()).filter((v) => v !== ''));
const fraction = z.coerce.number().min(0).max(0.9);

export const SplitCliOptions = z.object({
  dataset: z.string().min(1),
  out: z.string().min(1),
  val: fraction,
  test: fraction,
  seed: z.coerce.number().int().min(0).max(2 ** 32 - 1),
  groupDuplicates: z.boolean().default(false),
  strict: z.boolean().default(false),
  imageRoot: z.string().min(1).optional(),
});

export const BuildCsvCliOptions = z.object({
  csv: z.string().min(1),
  imageCol: z.string().min(1),
  textCol: z.string().min(1),
  labelCol: z.string().min(1).optional(),
  labelSep: z.string().min(1),
  dropLabels: list,
  patientCol: z.string().min(1).optional(),
  keyCol: z.string().min(1).optional(),
  imageRoot: z.string().min(1).optional(),
  minSentences: z.coerce.number().int().min(0),
  out: z.string().min(1),
});

export const BuildOpenICliOptions = z.object({
  reports: z.string().min(1),
  images: z.string().min(1),
  minSentences: z.coerce.number().int().min(0),
  out: z.string().min(1),
});

export const BuildMimicCliOptions = z.object({
  images: z.string().min(1),
  reports: z.string().min(1),
  meta: z.string().min(1),
  out: z.string().min(1),
  minSentences: z.coerce.number().int().min(0),
  mode: z.enum(['jpg', 'dicom']),
  views: list.pipe(z.array(z.string()).min(1)),
  strict: z.boolean().default(false),
});

export const SynthCliOptions = z.object({
  out: z.string().min(1),
  n: z.coerce.number().int().min(1).max(1_000_000),
  size: z.coerce.number().int().min(32).max(1024),
  seed: z.coerce.number().int().min(0).max(2 ** 32 - 1),
  val: fraction,
  test: fraction,
});

/** Validates raw commander options; the error names the command and every bad option. */
export function parseCliOptions<S extends z.ZodType>(schema: S, raw: unknown, command: string): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new RangeError(`invalid options for 'prior data ${command}':\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Runs a builder with a progress line on `err`, writes its file and prints its summary on `out`. */
function runBuild(build: (p: ProgressCallback) => BuildResult, file: string, out: ProgressStream, err: ProgressStream): BuildResult {
  let progress: Progress | undefined;
  const result = build((done, total) => {
    progress ??= new Progress({ total, unit: 'studies', stream: err });
    progress.update(done);
  });
  writeBuildResult(file, result);
  out.write(`${formatBuildSummary(result.summary, file)}\n`);
  return result;
}

export function runBuildCsv(o: z.infer<typeof BuildCsvCliOptions>, out: ProgressStream = process.stdout, err: ProgressStream = process.stderr): BuildResult {
  return runBuild((p) => buildFromCsv(o, p), o.out, out, err);
}

export function runBuildOpenI(o: z.infer<typeof BuildOpenICliOptions>, out: ProgressStream = process.stdout, err: ProgressStream = process.stderr): BuildResult {
  return runBuild((p) => buildFromOpenI(o, p), o.out, out, err);
}

/** The first few missing report paths go to `err`; the summary counts them all. */
export function runBuildMimic(o: z.infer<typeof BuildMimicCliOptions>, out: ProgressStream = process.stdout, err: ProgressStream = process.stderr): BuildResult {
  let missing: string[] = [];
  const result = runBuild((p) => {
    const r = buildFromMimic({ imagesDir: o.images, reportsDir: o.reports, metaCsv: o.meta, minSentences: o.minSentences, mode: o.mode, views: o.views, strict: o.strict }, p);
    missing = r.missingReports;
    return r;
  }, o.out, out, err);
  const shown = missing.slice(0, 10).map((m) => `no report: ${m}\n`).join('');
  if (shown !== '') err.write(`${shown}${missing.length > 10 ? `... and ${missing.length - 10} more\n` : ''}`);
  return result;
}

export function runSplit(o: z.infer<typeof SplitCliOptions>, out: ProgressStream = process.stdout): void {
  const read = o.imageRoot === undefined ? { strict: o.strict } : { strict: o.strict, imageRoot: o.imageRoot };
  const s = splitDatasetFile(o.dataset, o.out, o, read);
  out.write(`train ${s.train.length}, val ${s.val.length}, test ${s.test.length} -> ${o.out}\n`);
}

export async function runSynth(o: z.infer<typeof SynthCliOptions>, out: ProgressStream = process.stdout, err: ProgressStream = process.stderr): Promise<SynthSummary> {
  const progress = new Progress({ total: o.n, unit: 'images', stream: err });
  const s = await generateSyntheticDataset({ ...o, onProgress: (done) => progress.update(done) });
  const counts = Object.entries(s.classCounts).map(([k, v]) => `${k} ${v}`).join(', ');
  out.write(`${s.n} cases in ${s.seconds.toFixed(1)}s -> ${o.out} (train ${s.splits.train}, val ${s.splits.val}, test ${s.splits.test}; ${s.zeroShot.file})\n${counts}\n`);
  if (s.zeroShot.perClass < 20) err.write(`warning: the zero-shot index has only ${s.zeroShot.perClass} images per class; use a larger --n or --test\n`);
  return s;
}
