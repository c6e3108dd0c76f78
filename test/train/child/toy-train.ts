// Spawned by the trainer tests: trains the toy model in <runDir>, fresh or resumed, and exits
// with the trainer's exit code (130/143 after SIGINT/SIGTERM).
// Usage: toy-train.ts <runDir> <fresh|resume> [JSON list of --set edits]
// Prints "step" after each step. Env: TOY_SLOW_AFTER=k makes every batch after the k-th wait
// 300 ms (so a parent's signal lands mid-run); TOY_RSS_AT=a,b prints "rss <step> <bytes>" after
// those steps (RSS after a GC); TOY_PAYLOAD=n adds n floats of ballast to each batch;
// TOY_LEAK=1 keeps every batch alive (to check that the memory test would see a leak).
import { Trainer } from '../../../src/train/trainer.js';
import type { ToyBatch } from '../toy.js';
import { ToySource, toyConfig, toyOptions } from '../toy.js';
import * as torch from '../../../src/torch/index.js';

const [runDir, mode, setJson] = process.argv.slice(2);
if (!runDir || (mode !== 'fresh' && mode !== 'resume')) throw new Error('usage: toy-train.ts <runDir> <fresh|resume> [set JSON]');
const set = setJson ? (JSON.parse(setJson) as string[]) : [];
if (process.env.TOY_SLOW_AFTER) ToySource.slowAfter = Number(process.env.TOY_SLOW_AFTER);
if (process.env.TOY_PAYLOAD) ToySource.payloadFloats = Number(process.env.TOY_PAYLOAD);
const rssAt = new Set((process.env.TOY_RSS_AT ?? '').split(',').filter(Boolean).map(Number));
const gc = (globalThis as { gc?: () => void }).gc;

let steps = 0;
const leaked: ToyBatch[] = [];
const base = toyOptions(runDir, toyConfig(set));
const trainer = new Trainer<ToyBatch>({
  ...base,
  log: (line) => void process.stderr.write(`${line}\n`),
  disposeBatch: (b) => {
    if (process.env.TOY_LEAK === '1') leaked.push(b);
    else torch.dispose([b.x, b.y, b.payload]);
    if (!b.train) return;
    steps++;
    process.stdout.write('step\n');
    if (rssAt.has(steps)) {
      gc?.();
      process.stdout.write(`rss ${steps} ${process.memoryUsage().rss}\n`);
    }
  },
});
const result = mode === 'fresh' ? await trainer.run() : await trainer.resume();
process.stdout.write(`result ${JSON.stringify(result)}\n`);
process.exit(result.exitCode);
