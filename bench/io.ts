// The `io` suite: load a safetensors file of IO_FILE_MB in a fresh process on each side
// (io-child.ts, io_baseline.py) for wall time and peak RSS. The file is generated once per
// run into a temp dir and deleted when the process exits.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { torchPython } from '../scripts/python.mjs';
import { io, torch } from '../src/index.js';

export const IO_FILE_MB = 400;
/** Goal: peak RSS while loading stays under this multiple of the file size. */
export const IO_PEAK_GOAL = 1.3;

const Mem = z.object({ rss: z.number(), peak: z.number() });
const LoadReport = z.object({ seconds: z.number(), before: Mem, after: Mem, tensors: z.number() });
export type LoadReport = z.infer<typeof LoadReport>;

export interface IoMeasurement {
  fileMb: number;
  priorTs: LoadReport;
  pytorch: LoadReport;
}

/** 8 float32 tensors of IO_FILE_MB / 8 each, written by io.safetensors.save. */
function writeBenchFile(dir: string): string {
  const file = join(dir, 'bench.safetensors');
  const per = (IO_FILE_MB * 1024 * 1024) / 8 / 4;
  torch.scope(() => {
    const tensors = new Map(Array.from({ length: 8 }, (_, i) => [`layer${i}.weight`, torch.rand(per / 1024, 1024)] as const));
    io.safetensors.save(file, tensors);
  });
  return file;
}

function runJson(cmd: string, args: readonly string[], who: string): LoadReport {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${who} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return LoadReport.parse(JSON.parse(r.stdout));
}

let cached: IoMeasurement | undefined;

/** Measures both sides once (the time and RSS cases share it). */
export function measureIo(threads: number): IoMeasurement {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'prior-bench-io-'));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  process.once('exit', cleanup);
  try {
    const file = writeBenchFile(dir);
    const child = fileURLToPath(new URL('./io-child.ts', import.meta.url));
    const baseline = fileURLToPath(new URL('./io_baseline.py', import.meta.url));
    // Warm the page cache first so that neither side pays the first read from disk.
    runJson(process.execPath, [...process.execArgv, child, file, String(threads)], 'io-child.ts');
    const priorTs = runJson(process.execPath, [...process.execArgv, child, file, String(threads)], 'io-child.ts');
    const pytorch = runJson(torchPython(), [baseline, file, '--threads', String(threads)], 'io_baseline.py');
    cached = { fileMb: statSync(file).size / 2 ** 20, priorTs, pytorch };
    return cached;
  } finally {
    cleanup();
  }
}
