// The client of bench/baseline.py: one long-lived Python process that times the PyTorch side of
// each case on request. Requests are strictly one at a time, so the two sides never overlap
// (with several threads, OpenMP workers spin-wait and would steal the other side's cores).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { torchPython } from '../scripts/python.mjs';

const script = fileURLToPath(new URL('./baseline.py', import.meta.url));

const Provenance = z.object({
  python: z.string(),
  executable: z.string(),
  torch: z.string(),
  torchPath: z.string(),
  numpy: z.string(),
  threads: z.number(),
  libtorchLoaded: z.string().nullable(),
});
export type PythonProvenance = z.infer<typeof Provenance>;

const Samples = z.object({ id: z.string(), samples_ns: z.array(z.number()) });

const Memory = z.object({ rss: z.number(), peak: z.number() });
export const RssReport = z.object({ before: Memory, after: Memory, threads: z.number() });
export type RssReport = z.infer<typeof RssReport>;

export interface BaselineRequest {
  /** A key of CASES in baseline.py. */
  id: string;
  params: Readonly<Record<string, number>>;
  iters: number;
  warmup: number;
  repeats: number;
}

export class Baseline {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    readonly provenance: PythonProvenance,
  ) {}

  static async start(threads: number): Promise<Baseline> {
    const child = spawn(torchPython(), [script, '--threads', String(threads)]);
    child.stderr.pipe(process.stderr);
    // Writing to a baseline that died raises EPIPE here; the next read reports the death.
    child.stdin.on('error', () => {});
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const provenance = Provenance.parse(await nextJson(lines));
    return new Baseline(child, lines, provenance);
  }

  /** Times one case on the PyTorch side: ns per repeat of `iters` iterations. */
  async time(req: BaselineRequest): Promise<number[]> {
    this.child.stdin.write(`${JSON.stringify(req)}\n`);
    const reply = Samples.parse(await nextJson(this.lines));
    if (reply.id !== req.id) throw new Error(`baseline.py answered ${reply.id} to a request for ${req.id}`);
    return reply.samples_ns;
  }

  close(): void {
    this.child.stdin.end();
  }
}

async function nextJson(lines: AsyncIterator<string>): Promise<unknown> {
  const next = await lines.next();
  if (next.done === true) throw new Error('bench/baseline.py exited early (its error is above)');
  return JSON.parse(next.value);
}

/** RSS of a fresh Python process after `iters` one-element additions. */
export function pythonRss(iters: number, threads: number): RssReport {
  const r = spawnSync(torchPython(), [script, '--rss', String(iters), '--threads', String(threads)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`baseline.py --rss failed:\n${r.stderr}`);
  return RssReport.parse(JSON.parse(r.stdout));
}
