#!/usr/bin/env node
// The `prior` command line. Each command loads its module (and so the native addon) only when
// it runs, so that `prior --help` works before the addon is built.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { DemoOptions } from './demo.js';
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
  .option('--batch <n>', 'batch size', '64')
  .option('--hidden <n>', 'hidden width of the MLP', '512')
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

await program.parseAsync();
