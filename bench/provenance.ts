// What a result depends on, recorded with it: both sides' libtorch, threads, code and machine.
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { findLibtorch } from '../scripts/libtorch.mjs';
import { torch } from '../src/index.js';
import type { PythonProvenance } from './baseline.js';
import { loadedLibtorch } from './util.js';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface Provenance {
  date: string;
  node: string;
  cpu: string;
  cores: number;
  /** 1-minute load average when the run started: above ~0.5, other processes distort the timings. */
  load1: number;
  git: { commit: string; dirty: boolean } | null;
  priorTs: {
    libtorchVersion: string;
    /** The libtorch scripts/libtorch.mjs finds for builds (null with the reason when it finds none). */
    libtorchRoot: string | null;
    libtorchSource: string;
    /** The libtorch_cpu.so this process actually mapped. */
    libtorchLoaded: string | null;
    threads: number;
  };
  pytorch: PythonProvenance;
}

function git(): Provenance['git'] {
  try {
    const run = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
    return { commit: run('rev-parse', 'HEAD'), dirty: run('status', '--porcelain') !== '' };
  } catch {
    return null; // not a checkout (e.g. an installed package)
  }
}

function libtorchLocation(): { root: string | null; source: string } {
  try {
    const found = findLibtorch({ create: false });
    return { root: found.root, source: found.source };
  } catch (e) {
    return { root: null, source: (e as Error).message.split('\n')[0]! };
  }
}

/** `load1`: the load average read before the benchmark started working, so that it is other processes'. */
export function collectProvenance(pytorch: PythonProvenance, load1: number): Provenance {
  const where = libtorchLocation();
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    load1,
    git: git(),
    priorTs: {
      libtorchVersion: torch.buildInfo().libtorchVersion,
      libtorchRoot: where.root,
      libtorchSource: where.source,
      libtorchLoaded: loadedLibtorch(),
      threads: torch.getNumThreads(),
    },
    pytorch,
  };
}

/** Reasons the comparison may be unfair or noisy, for the top of the report. */
export function warnings(p: Provenance): string[] {
  const out: string[] = [];
  if (p.load1 > 0.5) out.push(`1-minute load average is ${p.load1.toFixed(2)} (> 0.5): other processes distort these timings`);
  if (p.priorTs.libtorchLoaded !== p.pytorch.libtorchLoaded) {
    out.push(`the two sides load different libtorch builds: ${p.priorTs.libtorchLoaded} vs ${p.pytorch.libtorchLoaded}`);
  }
  if (p.priorTs.threads !== p.pytorch.threads) out.push(`thread counts differ: prior-ts ${p.priorTs.threads}, PyTorch ${p.pytorch.threads}`);
  return out;
}
