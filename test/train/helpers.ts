// Shared by the trainer tests: temp run directories and the toy-train child process.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readJsonLines } from '../../src/train/run-dir.js';

export function tempDir(prefix = 'prior-train-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const child = fileURLToPath(new URL('./child/toy-train.ts', import.meta.url));

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** "step" lines seen. */
  steps: number;
  stdout: string;
  stderr: string;
}

export interface ChildOptions {
  set?: string[];
  env?: Record<string, string>;
  /** Send this signal once `after` steps have been printed. */
  signal?: { name: NodeJS.Signals; after: number };
  nodeArgs?: string[];
}

/** Runs test/train/child/toy-train.ts to its end (or until the signal it is sent ends it). */
export function runToyChild(runDir: string, mode: 'fresh' | 'resume', o: ChildOptions = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const args = [...(o.nodeArgs ?? []), '--import', tsxLoader, child, runDir, mode, JSON.stringify(o.set ?? [])];
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
    let stdout = '';
    let stderr = '';
    let steps = 0;
    let sent = false;
    const timer = setTimeout(() => p.kill('SIGKILL'), 90_000);
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      steps = stdout.split('\n').filter((l) => l === 'step').length;
      if (o.signal && !sent && steps >= o.signal.after) {
        sent = true;
        p.kill(o.signal.name);
      }
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, steps, stdout, stderr });
    });
  });
}

/** metrics.jsonl without the timing fields, which differ between runs. */
export function metricValues(runDir: string): Record<string, unknown>[] {
  return readJsonLines(join(runDir, 'metrics.jsonl')).map(({ step_ms: _s, data_ms: _d, ...rest }) => rest);
}
