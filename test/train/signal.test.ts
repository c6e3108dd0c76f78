// SIGINT / SIGTERM: the trainer finishes the step in progress, saves a checkpoint at it and
// exits with 130 / 143; the run then resumes to the end with no step logged twice.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import { metricValues, runToyChild, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

describe('signals', () => {
  it('SIGINT and SIGTERM save the step in progress and exit with 130 and 143; the runs then resume to the end', async () => {
    const intDir = join(tmp.dir, 'int');
    const termDir = join(tmp.dir, 'term');
    // The signal arrives while batch 10 (resp. 23) is being fetched: that step still runs.
    const [i, t] = await Promise.all([
      runToyChild(intDir, 'fresh', { env: { TOY_SLOW_AFTER: '9' }, signal: { name: 'SIGINT', after: 9 } }),
      runToyChild(termDir, 'fresh', { env: { TOY_SLOW_AFTER: '22' }, signal: { name: 'SIGTERM', after: 22 } }),
    ]);
    expect({ code: i.code, steps: i.steps }, i.stderr).toEqual({ code: 130, steps: 10 });
    expect({ code: t.code, steps: t.steps }, t.stderr).toEqual({ code: 143, steps: 23 });
    expect(i.stderr).toMatch(/SIGINT: finishing the current step, then saving a checkpoint/);
    expect(i.stdout).toMatch(/"status":"interrupted","signal":"SIGINT","exitCode":130,"steps":10/);
    expect(loadCheckpoint(join(intDir, 'checkpoints'))).toMatchObject({ step: 10, stage: 'stage1', epoch: 1, loaderRng: { batch: 5 } });
    expect(loadCheckpoint(join(termDir, 'checkpoints'))).toMatchObject({ step: 23, stage: 'stage3', epoch: 4, loaderRng: { batch: 3 } });
    expect(metricValues(intDir).map((l) => l.step)).toEqual(Array.from({ length: 10 }, (_, k) => k));

    const [ri, rt] = await Promise.all([runToyChild(intDir, 'resume'), runToyChild(termDir, 'resume')]);
    expect([ri.code, rt.code], ri.stderr + rt.stderr).toEqual([0, 0]);
    expect([ri.steps, rt.steps]).toEqual([20, 7]);
    for (const dir of [intDir, termDir]) expect(metricValues(dir).map((l) => l.step)).toEqual(Array.from({ length: 30 }, (_, k) => k));
  });
});
