// Measurement helpers shared by the prior-ts side of the benchmark (run.ts, rss-child.ts).
// Each mirrors a function of the same purpose in baseline.py, so both sides measure alike.
import { readFileSync, realpathSync } from 'node:fs';

/** Wall time in ns of each of `repeats` calls of `run(iters)`, after one untimed `run(warmup)`. */
export function timeLoop(run: (iters: number) => void, iters: number, warmup: number, repeats: number): number[] {
  run(warmup);
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    run(iters);
    samples.push(Number(process.hrtime.bigint() - t0));
  }
  return samples;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no samples');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface MemoryMb {
  /** Resident set size now (VmRSS). */
  rss: number;
  /** Peak resident set size (VmHWM). */
  peak: number;
}

/** Current and peak RSS in MB from /proc/self/status (Linux), read as baseline.py reads them. */
export function memoryMb(): MemoryMb {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (key: string): number => {
    const m = status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    if (!m) throw new Error(`/proc/self/status has no ${key}`);
    return Number(m[1]) / 1024;
  };
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** The libtorch_cpu.so this process mapped (null off Linux): proof both sides run the same library. */
export function loadedLibtorch(): string | null {
  try {
    for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
      const path = line.split(/\s+/).pop() ?? '';
      if (path.endsWith('/libtorch_cpu.so')) return realpathSync(path);
    }
  } catch {
    // not Linux: provenance then relies on the versions alone
  }
  return null;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
