// `npm run bench [-- --suite ops,matmul --repeats 7 --threads 2 --json out.json]`: prior-ts
// against PyTorch on the same libtorch, in one run. The two sides take turns, case by case,
// and never run at once. Results go to bench/results/<date>.json (gitignored).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { torch } from '../src/index.js';
import { Baseline, pythonRss, RssReport } from './baseline.js';
import { CASES, SUITES, type Case, type IoCase, type RssCase, type Suite, type TimedCase } from './cases.js';
import { runData } from './data.js';
import { runDistributed } from './distributed.js';
import { IO_PEAK_GOAL, measureIo } from './io.js';
import { runPrior } from './prior.js';
import { collectProvenance, warnings, type Provenance } from './provenance.js';
import { median, sleep, timeLoop } from './util.js';

// Read before the benchmark's own work (Python's start-up, the cases) raises it.
const load1 = loadavg()[0]!;

// Lets the side that just ran go quiet (OpenMP workers spin a while after a parallel region).
const SETTLE_MS = 200;

interface Side {
  /** ns per iteration for timed cases, MB for RSS. */
  median: number;
  samples: number[];
}

interface Row {
  name: string;
  label: string;
  suite: Suite;
  unit: 'ns' | 'MB';
  iters: number;
  target: number;
  priorTs: Side;
  pytorch: Side;
  ratio: number;
  pass: boolean;
  /** RSS before and after the loop, per side. */
  rss?: { priorTs: RssReport; pytorch: RssReport };
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function suiteList(v: string): Suite[] {
  const names = v.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(SUITES as readonly string[]).includes(n)) throw new InvalidArgumentError(`unknown suite '${n}' (suites: ${SUITES.join(', ')})`);
  }
  return names as Suite[];
}

const opts = new Command()
  .name('npm run bench --')
  .description('prior-ts vs PyTorch on the same libtorch: median time per iteration and the ratio')
  // `prior` takes many minutes (a paper-size step is minutes on 2 cores): only when named.
  .option('--suite <names>', `comma-separated suites (${SUITES.join(', ')}; default all but prior)`, suiteList, SUITES.filter((s) => s !== 'prior'))
  .option('--repeats <n>', 'timed repeats per case, after one warm-up', positiveInt, 7)
  .option('--threads <n>', 'intra-op threads, the same on both sides', positiveInt, availableParallelism())
  .option('--json <file>', 'also write the results there')
  .parse()
  .opts<{ suite: Suite[]; repeats: number; threads: number; json?: string }>();

function side(samples: number[], per: number): Side {
  return { median: median(samples) / per, samples: samples.map((s) => s / per) };
}

async function runTimed(c: TimedCase, baseline: Baseline): Promise<Pick<Row, 'priorTs' | 'pytorch'>> {
  const warmup = Math.max(1, Math.ceil(c.iters / 10));
  const priorTs = timeLoop(c.setup(), c.iters, warmup, opts.repeats);
  await sleep(SETTLE_MS);
  const pytorch = await baseline.time({ id: c.baseline, params: c.params, iters: c.iters, warmup, repeats: opts.repeats });
  await sleep(SETTLE_MS);
  return { priorTs: side(priorTs, c.iters), pytorch: side(pytorch, c.iters) };
}

function priorTsRss(iters: number): RssReport {
  const child = fileURLToPath(new URL('./rss-child.ts', import.meta.url));
  // execArgv carries tsx's loader into the child.
  const r = spawnSync(process.execPath, [...process.execArgv, child, String(iters), String(opts.threads)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`rss-child.ts failed:\n${r.stderr}`);
  return RssReport.parse(JSON.parse(r.stdout));
}

function runRss(c: RssCase): Pick<Row, 'priorTs' | 'pytorch' | 'rss'> {
  const priorTs = priorTsRss(c.iters);
  const pytorch = pythonRss(c.iters, opts.threads);
  return {
    priorTs: { median: priorTs.after.rss, samples: [priorTs.after.rss] },
    pytorch: { median: pytorch.after.rss, samples: [pytorch.after.rss] },
    rss: { priorTs, pytorch },
  };
}

function runIo(c: IoCase): Pick<Row, 'priorTs' | 'pytorch'> {
  const m = measureIo(opts.threads);
  const pick = (r: typeof m.priorTs): Side => {
    const v = c.metric === 'time' ? r.seconds * 1e9 : r.after.peak;
    return { median: v, samples: [v] };
  };
  if (c.metric === 'peak') {
    // The process's own footprint (libtorch, V8) is in the peak too; the growth is what loading adds.
    const share = (r: typeof m.priorTs): string => `${(r.after.peak / m.fileMb).toFixed(2)} (growth ${((r.after.peak - r.before.rss) / m.fileMb).toFixed(2)})`;
    console.log(`  peak RSS / file size: prior-ts ${share(m.priorTs)}, PyTorch ${share(m.pytorch)}; goal < ${IO_PEAK_GOAL}`);
  }
  return { priorTs: pick(m.priorTs), pytorch: pick(m.pytorch) };
}

async function measure(c: Case, baseline: Baseline): Promise<Row> {
  const sides =
    c.kind === 'time'
      ? await runTimed(c, baseline)
      : c.kind === 'rss'
        ? runRss(c)
        : c.kind === 'data'
          ? runData(c, opts.threads)
          : c.kind === 'distributed'
            ? await runDistributed(c, opts.threads, opts.repeats)
            : c.kind === 'prior'
              ? runPrior(c, opts.threads, opts.repeats)
              : runIo(c);
  const ratio = sides.priorTs.median / sides.pytorch.median;
  const { name, label, suite, iters, target } = c;
  return { name, label, suite, iters, target, unit: c.kind === 'time' || c.kind === 'distributed' || (c.kind === 'prior' && c.metric === 'time') || (c.kind === 'io' && c.metric === 'time') || (c.kind === 'data' && c.unit === 'ns') ? 'ns' : 'MB', ...sides, ratio, pass: ratio <= target };
}

// ---- report ----------------------------------------------------------------------------
function formatValue(v: number, unit: Row['unit']): string {
  if (unit === 'MB') return `${v.toFixed(1)} MB`;
  if (v < 1e3) return `${v.toFixed(0)} ns`;
  if (v < 1e6) return `${(v / 1e3).toFixed(2)} µs`;
  if (v < 1e9) return `${(v / 1e6).toFixed(2)} ms`;
  return `${(v / 1e9).toFixed(2)} s`;
}

const COLUMNS = [48, 12, 12, 7, 8] as const;

function line(cells: readonly string[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(COLUMNS[0]) : i < COLUMNS.length ? c.padStart(COLUMNS[i]!) : `  ${c}`)).join(' ');
}

function formatRow(r: Row): string {
  const label = r.unit === 'ns' ? `${r.label} (x${r.iters.toLocaleString('en-US')})` : r.label;
  return line([label, formatValue(r.priorTs.median, r.unit), formatValue(r.pytorch.median, r.unit), r.ratio.toFixed(2), `<= ${r.target.toFixed(2)}`, r.pass ? 'pass' : 'MISS']);
}

function header(p: Provenance): string {
  const pt = p.priorTs;
  const py = p.pytorch;
  const commit = p.git ? `${p.git.commit.slice(0, 10)}${p.git.dirty ? ' (dirty)' : ''}` : 'no git checkout';
  return [
    `prior-ts vs PyTorch — ${p.date}, commit ${commit}, node ${p.node}`,
    `CPU ${p.cpu} (${p.cores} cores), 1-min load ${p.load1.toFixed(2)}, threads: prior-ts ${pt.threads}, PyTorch ${py.threads}`,
    `prior-ts: libtorch ${pt.libtorchVersion} from ${pt.libtorchRoot ?? 'unknown'} (${pt.libtorchSource}); loaded ${pt.libtorchLoaded ?? 'unknown'}`,
    `PyTorch:  torch ${py.torch} at ${py.torchPath}, Python ${py.python}, numpy ${py.numpy}; loaded ${py.libtorchLoaded ?? 'unknown'}`,
  ].join('\n');
}

// ---- main ------------------------------------------------------------------------------
async function main(): Promise<void> {
  torch.setNumThreads(opts.threads);
  const baseline = await Baseline.start(opts.threads);
  const provenance = collectProvenance(baseline.provenance, load1);
  const warned = warnings(provenance);
  console.log(header(provenance));
  for (const w of warned) console.log(`WARNING: ${w}`);
  console.log(`median of ${opts.repeats} repeats after a warm-up; ratio = prior-ts / PyTorch (per iteration)\n`);
  console.log(line(['case', 'prior-ts', 'PyTorch', 'ratio', 'target']));

  const rows: Row[] = [];
  const failed: { name: string; error: string }[] = [];
  try {
    for (const c of CASES.filter((x) => opts.suite.includes(x.suite))) {
      try {
        const row = await measure(c, baseline);
        rows.push(row);
        console.log(formatRow(row));
      } catch (e) {
        // Keep the other cases' results (e.g. when the addon is rebuilt under a child process).
        const error = e instanceof Error ? e.message : String(e);
        failed.push({ name: c.name, error });
        console.log(`${c.label.padEnd(COLUMNS[0])} ERROR: ${error.split('\n')[0]}`);
      }
    }
  } finally {
    baseline.close();
  }

  const passed = rows.filter((r) => r.pass).length;
  console.log(`\n${passed}/${rows.length} within target${failed.length > 0 ? `, ${failed.length} failed` : ''}`);
  if (failed.length > 0) process.exitCode = 1;
  const result = { provenance, warnings: warned, options: { suites: opts.suite, repeats: opts.repeats, threads: opts.threads }, rows, failed };
  const json = `${JSON.stringify(result, null, 2)}\n`;
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${provenance.date.replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, json);
  if (opts.json !== undefined) writeFileSync(opts.json, json);
  console.log(`results: ${file}${opts.json !== undefined ? ` and ${opts.json}` : ''}`);
}

await main();
