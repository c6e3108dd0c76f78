#!/usr/bin/env node
// The `prior` command line. Each command loads its module (and so the native addon) only when
// it runs, so that `prior --help` works before the addon is built.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { DemoOptions } from './demo.js';
import { registerFinetune } from './finetune.js';
import type { ProfileCliOptions } from './profile.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

// Annotated so that TypeScript knows program.error() never returns.
const program: Command = new Command()
  .name('prior')
  .description('PRIOR chest X-ray / report pre-training on libtorch, in TypeScript')
  .version(pkg.version);

program
  .command('info')
  .description('show the libtorch build, threads, CUDA devices, Node-API version and allocation cap')
  .option('--json', 'print one JSON object')
  .action(async (opts: { json?: boolean }) => {
    const { collectInfo, formatInfo } = await import('./info.js');
    const info = collectInfo();
    process.stdout.write(`${opts.json ? JSON.stringify(info, null, 2) : formatInfo(info)}\n`);
  });

program
  .command('demo')
  .description('train a small MLP on a generated spiral with the tensor API (a few seconds on 2 cores)')
  .option('--epochs <n>', 'training epochs', '200')
  .option('--seed <n>', 'random seed (same seed, same run)', '0')
  .action(async (raw: Record<string, string>) => {
    const { parseDemoOptions, runDemo } = await import('./demo.js');
    let options: DemoOptions;
    try {
      options = parseDemoOptions(raw);
    } catch (e) {
      program.error((e as Error).message, { exitCode: 2 });
    }
    runDemo(options, process.stdout);
  });

program
  .command('profile')
  .description('profile one training step under libtorch\'s profiler: top ops by self time, and a Chrome trace')
  .option('--batch <n>', 'batch size (default: 64 for the MLP, the preset\'s 8 or 2 for PRIOR)')
  .option('--hidden <n>', 'hidden width of the MLP', '512')
  .option('--prior-stage <n>', 'profile PRIOR\'s training step of stage 1, 2 or 3 (synthetic batch) instead of the MLP')
  .option('--preset <name>', 'PRIOR model preset: tiny or paper', 'tiny')
  .option('--precision <p>', 'PRIOR step precision: fp32 or bf16 (CPU autocast)', 'fp32')
  .option('--image-size <n>', 'override the preset\'s image size (a multiple of 32)')
  .option('--text-length <n>', 'override the preset\'s tokens per report')
  .option('--warmup <n>', 'steps run before the profiled one', '3')
  .option('--trace <file>', 'Chrome trace output (default: prior-profile-trace.json in the temp folder)')
  .option('--sort-by <column>', 'selfCpuUs, totalCpuUs, calls, deviceUs, selfCpuMemoryBytes, cpuMemoryBytes or name', 'selfCpuUs')
  .option('--limit <n>', 'rows shown', '15')
  .option('--shapes', 'record and show input shapes', false)
  .option('--memory', 'record allocations per op', false)
  .action(async (raw: Record<string, string | boolean>) => {
    const { defaultTraceFile, parseProfileOptions, runProfile } = await import('./profile.js');
    let options: ProfileCliOptions;
    try {
      options = parseProfileOptions({ ...raw, trace: raw.trace ?? defaultTraceFile() });
    } catch (e) {
      program.error((e as Error).message, { exitCode: 2 });
    }
    runProfile(options, process.stdout);
  });

const data = program.command('data').description('build pre-training dataset files and their splits');

/** Loads src/cli/data.ts, validates the options with `schema` and runs; bad options exit with code 2. */
async function dataAction(command: string, raw: Record<string, unknown>, run: (m: typeof import('./data.js'), raw: Record<string, unknown>) => unknown): Promise<void> {
  const m = await import('./data.js');
  try {
    await run(m, raw);
  } catch (e) {
    if (e instanceof RangeError && e.message.startsWith(`invalid options for 'prior data ${command}'`)) program.error(e.message, { exitCode: 2 });
    throw e;
  }
}

data
  .command('split')
  .description('patient-grouped train/val/test splits of a dataset file (DIR/train.json, val.json, test.json)')
  .requiredOption('--dataset <file>', 'dataset JSON')
  .requiredOption('--out <dir>', 'output folder')
  .option('--val <fraction>', 'share of records for validation', '0.1')
  .option('--test <fraction>', 'share of records for test', '0.1')
  .option('--seed <n>', 'shuffle seed', '0')
  .option('--group-duplicates', 'keep records with byte-identical images in one split', false)
  .option('--strict', 'stop at the first malformed record instead of skipping it', false)
  .option('--image-root <dir>', 'resolve relative image paths against this folder')
  .action((raw: Record<string, unknown>) => dataAction('split', raw, (m, r) => m.runSplit(m.parseCliOptions(m.SplitCliOptions, r, 'split'))));

data
  .command('build-csv')
  .description('dataset file from a table of image paths and report texts (the text becomes the findings)')
  .requiredOption('--csv <file>', 'CSV table (image paths relative to its folder unless --image-root)')
  .requiredOption('--image-col <name>', 'image path column')
  .requiredOption('--text-col <name>', 'report text column')
  .option('--label-col <name>', 'label column (class names)')
  .option('--label-sep <sep>', 'separator between labels in one cell', ',')
  .option('--drop-labels <list>', 'comma-separated placeholder labels to drop', 'todo,Unknown')
  .option('--patient-col <name>', 'patient id column (default: each row is its own patient)')
  .option('--key-col <name>', 'record key column (default: the image path)')
  .option('--image-root <dir>', 'folder the image paths are relative to')
  .option('--min-sentences <n>', 'skip texts with fewer sentences', '1')
  .requiredOption('--out <file>', 'dataset JSON to write')
  .action((raw: Record<string, unknown>) => dataAction('build-csv', raw, (m, r) => m.runBuildCsv(m.parseCliOptions(m.BuildCsvCliOptions, r, 'build-csv'))));

data
  .command('build-openi')
  .description('dataset file from the Indiana University / Open-i XML reports (folder or .tgz)')
  .requiredOption('--reports <dir|tgz>', 'report XML folder or archive (e.g. NLMCXR_reports.tgz)')
  .requiredOption('--images <dir>', 'folder of images named <parentImage id>.png/.jpg')
  .option('--min-sentences <n>', 'skip reports with fewer sentences', '1')
  .requiredOption('--out <file>', 'dataset JSON to write')
  .action((raw: Record<string, unknown>) => dataAction('build-openi', raw, (m, r) => m.runBuildOpenI(m.parseCliOptions(m.BuildOpenICliOptions, r, 'build-openi'))));

data
  .command('build-mimic')
  .description('dataset file from MIMIC-CXR(-JPG): frontal images, report impression + findings (spec 3.1)')
  .requiredOption('--images <dir>', 'image tree files/ folder (pXX/pXXXXXXXX/sXXXXXXXX/*.jpg)')
  .requiredOption('--reports <dir>', 'report tree files/ folder (pXX/pXXXXXXXX/sXXXXXXXX.txt)')
  .requiredOption('--meta <csv>', 'metadata CSV, plain or .gz (columns dicom_id, ViewPosition)')
  .requiredOption('--out <file>', 'dataset JSON to write')
  .option('--min-sentences <n>', 'skip studies with fewer impression + findings sentences', '4')
  .option('--mode <jpg|dicom>', 'image files: *.jpg (MIMIC-CXR-JPG) or *.dcm (MIMIC-CXR)', 'jpg')
  .option('--views <list>', 'comma-separated ViewPosition values kept', 'PA,AP')
  .option('--strict', 'stop at a missing report or an image without metadata instead of skipping', false)
  .action((raw: Record<string, unknown>) => dataAction('build-mimic', raw, (m, r) => m.runBuildMimic(m.parseCliOptions(m.BuildMimicCliOptions, r, 'build-mimic'))));

data
  .command('synth')
  .description('generate the built-in synthetic dataset: drawn chest films with findings, reports, splits and a zero-shot index')
  .requiredOption('--out <dir>', 'output folder')
  .option('--n <count>', 'number of cases', '2000')
  .option('--size <px>', 'image side in pixels', '128')
  .option('--seed <n>', 'generation and split seed (same seed, same bytes)', '114514')
  .option('--val <fraction>', 'share of cases for validation', '0.1')
  .option('--test <fraction>', 'share of cases for test (the zero-shot index comes from it)', '0.15')
  .action((raw: Record<string, unknown>) => dataAction('synth', raw, (m, r) => m.runSynth(m.parseCliOptions(m.SynthCliOptions, r, 'synth'))));

program
  .command('train')
  .description('pre-train PRIOR through its three stages (default: the tiny preset on data/synth/, generated when missing)')
  .option('--config <file>', 'JSON config merged over the preset')
  .option('--set <key.path=value>', 'override one config value (JSON or a string); repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--preset <name>', 'tiny or paper (default tiny)')
  .option('--out <dir>', 'run directory (default runs/<time>-<preset>)')
  .option('--resume <dir>', "continue a run exactly from its latest checkpoint, with its config.json")
  .action(async (raw: Record<string, unknown>) => {
    const { parseTrainCliOptions, runTrain } = await import('./train.js');
    const { ConfigError } = await import('../train/config.js');
    try {
      process.exitCode = await runTrain(parseTrainCliOptions(raw));
    } catch (e) {
      if (e instanceof ConfigError) program.error(e.message, { exitCode: 2 });
      throw e;
    }
  });

program
  .command('plot')
  .description("draw a run's losses.png (every loss term and the LR over steps) from its metrics.jsonl")
  .argument('<run-dir>', 'run directory')
  .action(async (runDir: string) => {
    const { runPlot } = await import('./train.js');
    await runPlot(runDir).catch((e: unknown) => program.error(`prior plot: ${(e as Error).message}`, { exitCode: 1 }));
  });

const evaluation = program.command('eval').description('evaluate a trained (or --random) PRIOR: zero-shot classification, retrieval');

/** Loads src/cli/eval.ts and runs; bad options exit with code 2. */
async function evalAction(command: string, raw: Record<string, unknown>, run: (m: typeof import('./eval.js'), raw: Record<string, unknown>) => Promise<void>): Promise<void> {
  const m = await import('./eval.js');
  try {
    await run(m, raw);
  } catch (e) {
    if (e instanceof m.EvalCliError && e.message.startsWith(`invalid options for 'prior ${command}'`)) program.error(e.message, { exitCode: 2 });
    // Bad input (files, data, checkpoints) is reported in one line; anything else keeps its stack.
    if (e instanceof Error && m.INPUT_ERRORS.has(e.name)) program.error(`error: ${e.message}`, { exitCode: 1 });
    throw e;
  }
}

/** The options every evaluation command shares: where the model comes from and how it runs. */
function modelOptions(c: Command): Command {
  return c
    .option('--checkpoint <dir>', 'run directory, its checkpoints/ (or best/, stage2_start/...) or one step directory')
    .option('--random <preset>', 'instead of --checkpoint: the preset (tiny, paper) with random weights, a baseline')
    .option('--seed <n>', 'torch seed: SPB noise of the faithful variant, and the --random initialisation', '0')
    .option('--variant <v>', 'faithful (the original: noisy SPB, raw logit scale, [SEP] kept) or intended', 'faithful')
    .option('--batch-size <n>', 'images per forward pass', '32')
    .option('--device <d>', 'cpu or cuda', 'cpu')
    .option('--vocab <file>', 'WordPiece vocabulary (default: the bundled bert-base-uncased, as training)');
}

modelOptions(evaluation.command('zeroshot').description('zero-shot classification (spec 9): sklearn report, confusion matrix; zeroshot.json + confusion.png with --out'))
  .option('--index <file>', 'CheXpert 5x200 format index (id -> { image_path, label one-hot })')
  .option('--images <dir>', 'root the index image paths are relative to (or the image root of --dataset)')
  .option('--dataset <file>', 'instead of --index: a labelled dataset file (classes.json beside it; single-label records)')
  .option('--classes <file>', 'JSON list of class names in label order, or classes.json with prompts (default: CheXpert 5x200)')
  .option('--prompts <file>', 'JSON { class: prompt | [prompts] } (default "<Class> is observed")')
  .option('--out <dir>', 'folder for zeroshot.json and confusion.png')
  .option('--precision <p>', 'fp32, or images under bf16 / fp16 autocast (the original ran fp16)', 'fp32')
  .option('--strict', 'a missing image is an error (default: counted and left out)', false)
  .action((raw: Record<string, unknown>) => evalAction('eval zeroshot', raw, (m, r) => m.runEvalZeroShot(m.parseEvalOptions(m.ZeroShotCliOptions, r, 'eval zeroshot'))));

modelOptions(evaluation.command('retrieval').description('image-text retrieval P@K/R@K with global embeddings: class protocol (--index) or instance protocol (--dataset)'))
  .option('--index <file>', 'CheXpert 5x200 format index: candidates are the class prompts')
  .option('--images <dir>', 'image root of --index (or of --dataset)')
  .option('--dataset <file>', 'paired image/report dataset file: candidates are the distinct reports')
  .option('--classes <file>', 'class names / classes.json for --index')
  .option('--prompts <file>', 'JSON { class: prompt | [prompts] }')
  .option('--text-join <j>', 'none (original) or space: how report sentences are joined', 'none')
  .option('--out <dir>', 'folder for retrieval.json')
  .option('--strict', 'a missing image is an error', false)
  .action((raw: Record<string, unknown>) => evalAction('eval retrieval', raw, (m, r) => m.runEvalRetrieval(m.parseEvalOptions(m.RetrievalCliOptions, r, 'eval retrieval'))));

modelOptions(program.command('embed').description('global and local image/text embeddings of a dataset file, as safetensors with the ids in the metadata'))
  .requiredOption('--dataset <file>', 'dataset file')
  .option('--image-root <dir>', 'resolve relative image paths against this folder')
  .option('--text-join <j>', 'none (original) or space', 'none')
  .requiredOption('--out <file>', 'output .safetensors')
  .action((raw: Record<string, unknown>) => evalAction('embed', raw, (m, r) => m.runEmbed(m.parseEvalOptions(m.EmbedCliOptions, r, 'embed'))));

modelOptions(program.command('explain').description('per-sentence attention of a report over its radiograph (local cross-attention A1), as a PNG'))
  .requiredOption('--image <file>', 'the radiograph')
  .requiredOption('--report <text|file>', 'the report text, or a file holding it')
  .requiredOption('--out <file>', 'output .png')
  .option('--sentences <rows>', 'prototypes (SPB, stages 2-3) or sentences (raw, stage 1)', 'prototypes')
  .option('--columns <n>', 'panels per row', '3')
  .option('--panel-size <px>', 'panel side', '256')
  .option('--text-join <j>', 'none (original) or space', 'none')
  .action((raw: Record<string, unknown>) => evalAction('explain', raw, (m, r) => m.runExplain(m.parseEvalOptions(m.ExplainCliOptions, r, 'explain'))));

registerFinetune(program);

await program.parseAsync();
