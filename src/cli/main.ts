#!/usr/bin/env node
// The `prior` command line. Each command loads its module (and so the native addon) only when
// it runs, so that `prior --help` works before the addon is built.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { DemoOptions } from './demo.js';

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

await program.parseAsync();
