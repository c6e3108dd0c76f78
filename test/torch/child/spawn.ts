// Runs a TypeScript script of this folder in a fresh Node process (through tsx's loader), so
// that a crash there fails a test instead of killing the runner, and RSS is the script's own.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runChild(script: string, args: readonly (string | number)[], timeoutMs: number): ChildResult {
  const r = spawnSync(process.execPath, ['--import', tsxLoader, resolve(here, script), ...args.map(String)], {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Why a child did not exit cleanly, with the end of its stderr; null when it did. */
export function childFailure(r: ChildResult): string | null {
  if (r.status === 0) return null;
  const how = r.signal ? `was killed by ${r.signal}` : `exited with status ${r.status}`;
  return `child ${how}:\n${r.stderr.slice(-4000)}`;
}
