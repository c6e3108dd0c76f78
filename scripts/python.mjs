#!/usr/bin/env node
// Runs a Python script (fixtures, benchmark baselines) with the Python whose torch the addon
// links: PYTHON, else the one scripts/libtorch.mjs found, else the project venv.
// Python is a build/fixture/baseline tool only; nothing at run time needs it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibtorch } from './libtorch.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function torchPython() {
  if (process.env.PYTHON) return process.env.PYTHON;
  const found = findLibtorch({ create: false });
  if (found.python) return found.python;
  const venv = join(root, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [script, ...args] = process.argv.slice(2);
  if (!script) {
    process.stdout.write(`${torchPython()}\n`);
    process.exit(0);
  }
  const r = spawnSync(torchPython(), [script, ...args], { stdio: 'inherit', cwd: root });
  process.exit(r.status ?? 1);
}
