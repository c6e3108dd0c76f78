// Exact resume: a toy run (dropout, a torch-RNG noise term, a shuffled source, validation) is
// SIGKILLed mid-epoch in stage 2, resumed with --resume, and must log bitwise the same losses,
// LRs and temperatures as an uninterrupted run, and end with the same weights.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCheckpoints, loadCheckpoint } from '../../src/io/checkpoint.js';
import { readJsonLines } from '../../src/train/run-dir.js';
import { metricValues, runToyChild, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

describe('resume after SIGKILL', () => {
  it('continues bitwise identically to an uninterrupted run', async () => {
    const straight = join(tmp.dir, 'straight');
    const killed = join(tmp.dir, 'killed');
    // Both runs at once: the machine has two cores.
    const [a, k] = await Promise.all([
      runToyChild(straight, 'fresh'),
      // Checkpoints every 6 steps: the kill after 16 steps leaves step 12 (stage 2, epoch 2,
      // batch 2) as the latest, and 4 logged steps that the resume must drop and redo.
      runToyChild(killed, 'fresh', { env: { TOY_SLOW_AFTER: '16' }, signal: { name: 'SIGKILL', after: 16 } }),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(k.signal).toBe('SIGKILL');
    const ckpt = loadCheckpoint(join(killed, 'checkpoints'));
    expect({ step: ckpt.step, stage: ckpt.stage, epoch: ckpt.epoch, pos: ckpt.loaderRng }).toMatchObject({ step: 12, stage: 'stage2', epoch: 2, pos: { batch: 2, optimizerStage: 2 } });
    expect(readJsonLines(join(killed, 'metrics.jsonl')).length).toBeGreaterThan(12); // steps after the checkpoint were logged

    const r = await runToyChild(killed, 'resume');
    expect(r.code, r.stderr).toBe(0);
    expect(r.steps).toBe(30 - 12);

    const want = metricValues(straight);
    const got = metricValues(killed);
    expect(want.length).toBe(30);
    expect(got.map((l) => l.step)).toEqual(want.map((l) => l.step)); // no duplicates, no gaps
    expect(got).toEqual(want); // numbers compared with Object.is: bitwise
    expect(new Set(want.map((l) => l.stage2_noise).filter((v) => v !== undefined)).size).toBe(10); // the noise really is random
    const strip = (file: string): unknown[] => readJsonLines(file).map(({ step_ms: _a, data_ms: _b, ...rest }) => rest);
    expect(strip(join(killed, 'validation.jsonl'))).toEqual(strip(join(straight, 'validation.jsonl')));

    const last = (dir: string): Buffer => readFileSync(join(listCheckpoints(join(dir, 'checkpoints')).at(-1)!.path, 'model.safetensors'));
    expect(last(killed).equals(last(straight))).toBe(true);
    const prov = JSON.parse(readFileSync(join(killed, 'provenance.json'), 'utf8')) as { resumes: { fromStep: number }[] };
    expect(prov.resumes.map((x) => x.fromStep)).toEqual([12]);
  });
});
