// Spawned by the trainer tests: trains the real PRIOR model (preparePriorRun + Trainer, the path
// `prior train` takes) in <runDir>, fresh or resumed, and exits with the trainer's exit code.
// Usage: prior-train.ts <runDir> <fresh|resume> <JSON list of --set edits over the tiny preset>
// Prints "step" after each step. Env: PRIOR_STALL_AFTER=k makes the source wait 60 s before
// yielding the batch after the k-th (so a parent's SIGKILL lands after step k is logged and
// checkpointed, and before step k+1 is).
import { setTimeout as sleep } from 'node:timers/promises';
import type { PriorBatch } from '../../../src/data/batch.js';
import { resolveTrainConfig } from '../../../src/train/config.js';
import { preparePriorRun } from '../../../src/train/prior-run.js';
import { type BatchSource, Trainer } from '../../../src/train/trainer.js';

const [runDir, mode, setJson] = process.argv.slice(2);
if (!runDir || (mode !== 'fresh' && mode !== 'resume') || !setJson) throw new Error('usage: prior-train.ts <runDir> <fresh|resume> <set JSON>');
const stallAfter = process.env.PRIOR_STALL_AFTER === undefined ? null : Number(process.env.PRIOR_STALL_AFTER);

const { options } = preparePriorRun(resolveTrainConfig({ set: JSON.parse(setJson) as string[] }));
let yielded = 0;
let steps = 0;
const trainer = new Trainer({
  ...options,
  runDir,
  progress: null,
  log: (line) => void process.stderr.write(`${line}\n`),
  trainSource: (plan) => {
    const source = options.trainSource(plan);
    if (stallAfter === null) return source;
    const stalling: BatchSource<PriorBatch> = {
      batchesPerEpoch: source.batchesPerEpoch,
      async *epoch(epoch, o) {
        for await (const batch of source.epoch(epoch, o)) {
          if (yielded++ === stallAfter) await sleep(60_000);
          yield batch;
        }
      },
      close: () => source.close?.() ?? Promise.resolve(),
    };
    if (source.cursor) stalling.cursor = () => source.cursor!();
    return stalling;
  },
  disposeBatch: (b) => {
    options.disposeBatch(b);
    steps++;
    process.stdout.write('step\n');
  },
});
const result = mode === 'fresh' ? await trainer.run() : await trainer.resume();
process.stdout.write(`result ${JSON.stringify({ ...result, processSteps: steps })}\n`);
process.exit(result.exitCode);
