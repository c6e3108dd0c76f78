// The `distributed` suite: all-reduce (SUM, float32) bus bandwidth over Gloo between 2 local
// processes, prior-ts (src/distributed) against torch.distributed (distributed_baseline.py),
// for 1 to 256 MB. Each side runs both ranks as fresh processes (this file in child mode), with
// the same intra-op threads, twice, taking turns; the row is the median over both launches.
// Bus bandwidth = bytes * 2 (n - 1) / n / time, NCCL-tests' definition.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { torchPython } from '../scripts/python.mjs';
import { median } from './util.js';

export const DIST_SIZES_MB = [1, 4, 16, 64, 256] as const;
export const DIST_WORLD = 2;
export const DIST_TARGET = 1.05;

/** A `distributed` suite row: ns per all-reduce of `sizeMb`. */
export interface DistributedCase {
  kind: 'distributed';
  name: string;
  label: string;
  suite: 'distributed';
  iters: number;
  target: number;
  sizeMb: number;
}

/** All-reduces per timed repeat: ~64 MB moved per repeat, at least 2. */
const itersFor = (mb: number): number => Math.max(2, Math.min(32, Math.round(64 / mb)));

export const DIST_CASES: DistributedCase[] = DIST_SIZES_MB.map((mb) => ({
  kind: 'distributed',
  name: `allreduce_gloo_${mb}mb`,
  label: `all-reduce gloo ${DIST_WORLD} procs, ${mb} MB float32`,
  suite: 'distributed',
  iters: itersFor(mb),
  target: DIST_TARGET,
  sizeMb: mb,
}));

const Report = z.object({ sizes: z.array(z.object({ mb: z.number(), samples: z.array(z.number()) })) });
type Report = z.infer<typeof Report>;

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

// Both ranks of one side; rank 0's stdout is the report.
async function runSide(cmd: string, args: readonly string[], who: string): Promise<Report> {
  const port = await freePort();
  const runs = Array.from({ length: DIST_WORLD }, (_, rank) => {
    const env = { ...process.env, RANK: String(rank), WORLD_SIZE: String(DIST_WORLD), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) };
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    return new Promise<{ code: number | null; out: string; err: string }>((res, rej) => {
      p.on('error', rej);
      p.on('exit', (code) => res({ code, out, err }));
    });
  });
  const done = await Promise.all(runs);
  done.forEach((d, rank) => {
    if (d.code !== 0) throw new Error(`${who} rank ${rank} failed (${d.code}):\n${d.err}`);
  });
  return Report.parse(JSON.parse(done[0]!.out));
}

export interface DistMeasurement {
  priorTs: Report;
  pytorch: Report;
}

let cached: DistMeasurement | undefined;

async function measureAll(threads: number, repeats: number): Promise<DistMeasurement> {
  if (cached) return cached;
  const spec = JSON.stringify(DIST_CASES.map((c) => ({ mb: c.sizeMb, iters: c.iters })));
  const self = fileURLToPath(import.meta.url);
  const baseline = fileURLToPath(new URL('./distributed_baseline.py', import.meta.url));
  // Two launches per side, taking turns, pooled: drift in the machine's load hits both sides.
  const reports: { priorTs: Report[]; pytorch: Report[] } = { priorTs: [], pytorch: [] };
  for (let turn = 0; turn < 2; turn++) {
    reports.priorTs.push(await runSide(process.execPath, [...process.execArgv, self, 'child', spec, String(threads), String(repeats)], 'distributed.ts'));
    reports.pytorch.push(await runSide(torchPython(), [baseline, spec, '--threads', String(threads), '--repeats', String(repeats)], 'distributed_baseline.py'));
  }
  const pool = (rs: Report[]): Report => ({ sizes: rs[0]!.sizes.map((s, i) => ({ mb: s.mb, samples: rs.flatMap((r) => r.sizes[i]!.samples) })) });
  cached = { priorTs: pool(reports.priorTs), pytorch: pool(reports.pytorch) };
  return cached;
}

export const busBandwidthGBs = (mb: number, ns: number): number => (mb * 2 ** 20 * 2 * (DIST_WORLD - 1)) / DIST_WORLD / ns;

/** One row's sides (ns per all-reduce); prints the bus bandwidths. */
export async function runDistributed(c: DistributedCase, threads: number, repeats: number): Promise<{ priorTs: { median: number; samples: number[] }; pytorch: { median: number; samples: number[] } }> {
  const m = await measureAll(threads, repeats);
  const pick = (r: Report): { median: number; samples: number[] } => {
    const s = r.sizes.find((x) => x.mb === c.sizeMb);
    if (!s) throw new Error(`no result for ${c.sizeMb} MB`);
    const per = s.samples.map((v) => v / c.iters);
    return { median: median(per), samples: per };
  };
  const priorTs = pick(m.priorTs);
  const pytorch = pick(m.pytorch);
  console.log(`  bus bandwidth ${c.sizeMb} MB: prior-ts ${busBandwidthGBs(c.sizeMb, priorTs.median).toFixed(2)} GB/s, PyTorch ${busBandwidthGBs(c.sizeMb, pytorch.median).toFixed(2)} GB/s`);
  return { priorTs, pytorch };
}

// ---- child mode: `tsx bench/distributed.ts child SPEC_JSON THREADS REPEATS` (one rank) ------
async function child(spec: { mb: number; iters: number }[], threads: number, repeats: number): Promise<void> {
  const { distributed, torch } = await import('../src/index.js');
  torch.setNumThreads(threads);
  distributed.init({ backend: 'gloo', timeout: 300_000 });
  const sizes: Report['sizes'] = [];
  for (const { mb, iters } of spec) {
    const t = torch.zeros([(mb * 2 ** 20) / 4]);
    await distributed.allReduce(t);  // warm-up (connections, buffers)
    const samples: number[] = [];
    for (let r = 0; r < repeats; r++) {
      await distributed.barrier();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < iters; i++) await distributed.allReduce(t);
      samples.push(Number(process.hrtime.bigint() - t0));
    }
    t.dispose();
    sizes.push({ mb, samples });
  }
  distributed.destroy();
  if (distributed.isInitialized()) throw new Error('destroy() left the group initialised');
  if (Number(process.env.RANK) === 0) process.stdout.write(`${JSON.stringify({ sizes })}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv[2] === 'child') {
  const [, , , spec, threads, repeats] = process.argv;
  await child(JSON.parse(spec!) as { mb: number; iters: number }[], Number(threads), Number(repeats));
}
