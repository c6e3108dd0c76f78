// No leak per step: the RSS of a child process after 2,000 toy steps (through all three stages,
// metrics logged, stage checkpoints saved) is within 10% of its RSS after 200.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runToyChild, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

describe('memory', () => {
  it('RSS after 2,000 steps is within 10% of RSS after 200', async () => {
    const run = await runToyChild(join(tmp.dir, 'run'), 'fresh', {
      // 400 epochs of 5 batches: 2,000 steps.
      set: ['stages.0.epochs=134', 'stages.1.epochs=133', 'stages.2.epochs=133', 'validation.everyEpochs=0', 'checkpoint.everySteps=0'],
      // 256 KiB of ballast per batch: leaking the batches would add ~460 MB.
      env: { TOY_RSS_AT: '200,2000', TOY_PAYLOAD: '65536', ...(process.env.TOY_LEAK ? { TOY_LEAK: process.env.TOY_LEAK } : {}) },
      nodeArgs: ['--expose-gc'],
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.steps).toBe(2000);
    const rss = Object.fromEntries([...run.stdout.matchAll(/^rss (\d+) (\d+)$/gm)].map((m) => [Number(m[1]), Number(m[2])]));
    expect(Object.keys(rss)).toEqual(['200', '2000']);
    const growth = rss[2000]! / rss[200]! - 1;
    process.stdout.write(`RSS after 200 steps ${rss[200]} B, after 2000 ${rss[2000]} B (${(growth * 100).toFixed(1)}%)\n`);
    expect(growth, `RSS ${rss[200]} -> ${rss[2000]} bytes`).toBeLessThan(0.1);
  });
});
