// The trainer's fine-tuning options: validation by a caller's metric (maximised) with the best
// checkpoint, early stopping after `patience` validations without a better one, and a
// config.json of the caller's own.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { latestCheckpoint, listCheckpoints } from '../../src/io/checkpoint.js';
import { Trainer } from '../../src/train/trainer.js';
import { readJsonLines } from '../../src/train/run-dir.js';
import { tempDir } from './helpers.js';
import { toyConfig, toyOptions } from './toy.js';

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

describe('Trainer: metric validation and early stopping', () => {
  it('keeps the best score, stops after `patience` validations without improvement, writes savedConfig', async () => {
    const t = tempDir();
    dirs.push(t);
    const config = toyConfig(['stages.0.epochs=6', 'stages.1.epochs=0', 'stages.2.epochs=0']);
    const scores = [0.1, 0.3, 0.2, 0.25, 0.9, 0.9];
    let calls = 0;
    const modes: boolean[] = [];
    const opts = toyOptions(t.dir, config, {
      validate: async () => {
        modes.push(opts.model.training);
        const score = scores[calls++]!;
        return { score, values: { auroc: score } };
      },
      earlyStoppingPatience: 2,
      savedConfig: { task: 'toy', lr: 0.05 },
    });
    const result = await new Trainer(opts).run();
    expect(result.status).toBe('completed');
    // Epochs 0-3 validated (0.1, 0.3 best, 0.2, 0.25): two without improvement after the best, then stop.
    expect(calls).toBe(4);
    expect(modes).toEqual([false, false, false, false]);
    const lines = readJsonLines(join(t.dir, 'validation.jsonl')) as { epoch: number; step: number; score: number; auroc: number }[];
    expect(lines.map((l) => [l.epoch, l.score, l.auroc])).toEqual([
      [0, 0.1, 0.1],
      [1, 0.3, 0.3],
      [2, 0.2, 0.2],
      [3, 0.25, 0.25],
    ]);
    const best = latestCheckpoint(join(t.dir, 'checkpoints', 'best'));
    expect(best).not.toBeNull();
    expect(listCheckpoints(join(t.dir, 'checkpoints', 'best')).map((c) => c.step)).toEqual([lines[1]!.step]);
    expect(result.steps).toBe(lines[3]!.step);
    expect(JSON.parse(readFileSync(join(t.dir, 'config.json'), 'utf8'))).toEqual({ task: 'toy', lr: 0.05 });
  });
});
