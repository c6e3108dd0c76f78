// Child of memory.test.ts: a synchronous loop of `a.add(b)` whose results are dropped, never
// disposed, so only the GC backstop (finalizers plus the bytes reported to V8) frees them.
// Usage: gc-loop.ts <numel> <ops> <baselineAt>. Prints one JSON line (bytes): the RSS right
// after op `baselineAt` and the highest RSS sampled after it.
import * as torch from '../../../src/torch/index.js';

function intArg(i: number): number {
  const v = Number(process.argv[2 + i]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`gc-loop: argument ${i} must be a positive integer`);
  return v;
}

const numel = intArg(0);
const ops = intArg(1);
const baselineAt = intArg(2);
// About a thousand samples: reading RSS costs a system call.
const sampleEvery = Math.max(1, Math.floor(ops / 1000));
const a = torch.ones(numel);
const b = torch.ones(numel);
let baselineRss = 0;
let peakRss = 0;
const start = performance.now();
for (let i = 1; i <= ops; i++) {
  a.add(b);
  if (i === baselineAt) baselineRss = process.memoryUsage.rss();
  else if (i > baselineAt && i % sampleEvery === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
}
const ms = Math.round(performance.now() - start);
console.log(JSON.stringify({ baselineRss, peakRss, liveTensors: torch.liveTensors(), ms }));
