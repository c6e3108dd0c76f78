// Shared by the distributed tests and their child processes: free ports, spawning the ranks,
// and the loss whose gradient the all-gather test compares.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';

export const ROWS = 3;
export const COLS = 4;

/** Rank r's batch: fixed values, different per rank (float64, for a 1e-6 comparison). */
export function batchOf(rank: number): number[][] {
  return Array.from({ length: ROWS }, (_, i) => Array.from({ length: COLS }, (_, j) => Math.sin(1 + rank * 17 + i * 5 + j * 0.7)));
}

/** Rank r's loss over its own rows and the global batch: a contrastive-style log-sum-exp of
 *  local-vs-global similarities, plus a rank-weighted term on the global batch, so that every
 *  rank's loss reaches every rank's rows. */
export function rankLoss(rank: number, local: Tensor, global: Tensor): Tensor {
  return local.matmul(global.t()).logsumexp(1).sum().add(global.pow(2).sum().mul(0.01 * (rank + 1)));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const worker = fileURLToPath(new URL('./child/worker.ts', import.meta.url));

export interface RankRun {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The JSON the child printed on its `RESULT ` line, if any. */
  result: Record<string, unknown> | null;
  stderr: string;
}

/** Starts test/distributed/child/worker.ts for `scenario` as `rank`; the caller awaits `done`. */
export function startRank(scenario: string, rank: number, env: Record<string, string>, killAfterMs = 25_000): { done: Promise<RankRun>; kill(): void } {
  const p = spawn(process.execPath, ['--import', tsxLoader, worker, scenario], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => p.kill('SIGKILL'), killAfterMs);
  const done = new Promise<RankRun>((resolve, reject) => {
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      resolve({ rank, code, signal, result: line ? (JSON.parse(line.slice(7)) as Record<string, unknown>) : null, stderr });
    });
  });
  return { done, kill: () => p.kill('SIGKILL') };
}

/** Runs `scenario` on `worldSize` ranks over loopback and returns their runs in rank order. */
export async function runRanks(scenario: string, worldSize = 2, extraEnv: Record<string, string> = {}): Promise<RankRun[]> {
  const port = await freePort();
  const ranks = Array.from({ length: worldSize }, (_, rank) =>
    startRank(scenario, rank, { RANK: String(rank), WORLD_SIZE: String(worldSize), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), ...extraEnv }),
  );
  return Promise.all(ranks.map((r) => r.done));
}

export function asFloat64(rows: number[][]): Tensor {
  return torch.tensor(rows, { dtype: 'float64' });
}
