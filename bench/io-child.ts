// Spawned by bench/io.ts in a fresh process: loads a safetensors file, reads every tensor once
// (a sum: PyTorch's load_file maps the file lazily, so both sides are timed until the data is
// in memory) and prints one JSON line {seconds, before, after} (after.peak is the peak RSS).
// Usage: io-child.ts <file> <threads> (the same measurement as io_baseline.py).
import { io, torch } from '../src/index.js';
import { memoryMb } from './util.js';

const file = process.argv[2];
const threads = Number(process.argv[3]);
if (!file || !Number.isInteger(threads)) throw new Error('usage: io-child.ts <file> <threads>');
torch.setNumThreads(threads);
const before = memoryMb();
const t0 = process.hrtime.bigint();
const { tensors } = io.safetensors.load(file);
for (const t of tensors.values()) t.sum().item();
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(`${JSON.stringify({ seconds, before, after: memoryMb(), tensors: tensors.size })}\n`);
