// Spawned by checkpoint.test.ts, which kills it with SIGKILL at random moments: resumes from
// the latest checkpoint in <dir> (if any) and saves steps forever. Every tensor and counter
// of step s holds the value s, so the parent can check that what it loads is one whole step.
// Usage: checkpoint-writer.ts <dir>; prints "saved <step>" after each save.
import { io, torch } from '../../../src/index.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: checkpoint-writer.ts <dir>');
const start = io.latestCheckpoint(dir) === null ? 1 : io.loadCheckpoint(dir).step + 1;
for (let step = start; ; step++) {
  torch.scope(() => {
    const fill = (shape: number[]): torch.Tensor => torch.full(shape, step, { dtype: 'float32' });
    io.saveCheckpoint(
      dir,
      {
        step,
        epoch: step,
        model: { 'layer.weight': fill([256, 256]), 'layer.bias': fill([256]), 'head.weight': fill([64, 256]) },
        optimizer: { state: { 0: { momentum: fill([256, 256]) } }, step },
        scheduler: { lastStep: step },
        loaderRng: { position: step },
      },
      { keepLast: 3 },
    );
  });
  process.stdout.write(`saved ${step}\n`);
}
