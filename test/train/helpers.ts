// Shared by the trainer tests: temp run directories and the training child processes
// (child/toy-train.ts with the toy model, child/prior-train.ts with the real PRIOR model).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
export type TrainChild = 'toy-train' | 'prior-train';
const childPath = (script: TrainChild): string => fileURLToPath(new URL(`./child/${script}.ts`, import.meta.url));

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
  /** SIGKILL the child once its metrics.jsonl holds the line of this step (the file is polled). */
  killAtLoggedStep?: number;
  nodeArgs?: string[];
}

/** The `step` fields of the complete lines of runDir's metrics.jsonl (a line being written is left out). */
function loggedSteps(runDir: string): number[] {
  const file = join(runDir, 'metrics.jsonl');
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n').slice(0, -1);
  return lines.map((l) => (JSON.parse(l) as { step: number }).step);
}

/** Runs test/train/child/toy-train.ts to its end (or until the signal it is sent ends it). */
export function runToyChild(runDir: string, mode: 'fresh' | 'resume', o: ChildOptions = {}): Promise<ChildRun> {
  return runTrainChild('toy-train', runDir, mode, o);
}

/** Runs a training child script to its end (or until the signal it is sent ends it). */
export function runTrainChild(script: TrainChild, runDir: string, mode: 'fresh' | 'resume', o: ChildOptions = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const args = [...(o.nodeArgs ?? []), '--import', tsxLoader, childPath(script), runDir, mode, JSON.stringify(o.set ?? [])];
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
    let stdout = '';
    let stderr = '';
    let steps = 0;
    let sent = false;
    const timer = setTimeout(() => p.kill('SIGKILL'), 90_000);
    const killAt = o.killAtLoggedStep;
    const poll =
      killAt === undefined
        ? null
        : setInterval(() => {
            if (loggedSteps(runDir).includes(killAt)) {
              clearInterval(poll!);
              p.kill('SIGKILL');
            }
          }, 20);
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
      if (poll) clearInterval(poll);
      resolve({ code, signal, steps, stdout, stderr });
    });
  });
}

/** metrics.jsonl without the timing fields, which differ between runs. */
export function metricValues(runDir: string): Record<string, unknown>[] {
  return readJsonLines(join(runDir, 'metrics.jsonl')).map(({ step_ms: _s, data_ms: _d, ...rest }) => rest);
}
