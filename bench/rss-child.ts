// Spawned by run.ts in a fresh process: RSS after N one-element additions (the same loop as
// `baseline.py --rss N`). Usage: rss-child.ts <iters> <threads>; prints one JSON line.
import { torch } from '../src/index.js';
import { memoryMb } from './util.js';

const iters = Number(process.argv[2]);
const threads = Number(process.argv[3]);
if (!Number.isInteger(iters) || !Number.isInteger(threads)) throw new Error('usage: rss-child.ts <iters> <threads>');
torch.setNumThreads(threads);
const a = torch.rand(1);
const b = torch.rand(1);
const before = memoryMb();
for (let i = 0; i < iters; i++) a.add(b);
process.stdout.write(`${JSON.stringify({ before, after: memoryMb(), threads: torch.getNumThreads() })}\n`);
