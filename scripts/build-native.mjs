#!/usr/bin/env node
// Builds the addon: generates the op bindings, finds (or installs) libtorch, runs cmake-js.
// A lock serialises concurrent builds (each translation unit of libtorch code takes ~1 GB).
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './gen-ops.mjs';
import { findLibtorch } from './libtorch.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
generate();
const torch = findLibtorch();
process.stderr.write(`[build] libtorch ${torch.version} (${torch.source}) at ${torch.root}\n`);
const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
const jobs = String(Math.max(1, Math.min(availableParallelism(), 4)));
const args = [cmakeJs, 'compile', '--parallel', jobs];
if (process.env.PRIOR_DEBUG) args.push('--debug');
const r = spawnSync('flock', [join(root, '.build.lock'), process.execPath, ...args], { stdio: 'inherit', cwd: root });
if (r.error) {
  // flock is util-linux; fall back to an unlocked build where it is missing.
  const plain = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
  process.exit(plain.status ?? 1);
}
process.exit(r.status ?? 1);
