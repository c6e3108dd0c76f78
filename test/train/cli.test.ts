// `prior train` and `prior plot` through the real command line (src/cli/main.ts under tsx):
// a bad config exits with code 2 naming the key path; plot redraws a run's losses.png.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { Trainer } from '../../src/train/trainer.js';
import { tempDir } from './helpers.js';
import { toyConfig, toyOptions } from './toy.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const prior = (...args: string[]) => spawnSync(process.execPath, ['--import', tsx, main, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('prior train / prior plot', () => {
  it('exits with code 2 on a bad config, naming the key path, before touching any file', () => {
    const out = join(tmp.dir, 'never');
    const r = prior('train', '--set', 'stages.1.epochs=-3', '--set', 'optim.lr=1', '--out', out);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--set optim\.lr: 'optim' is not a config section/);
    const r2 = prior('train', '--set', 'stages.1.epochs=-3', '--out', out);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/stages\.1\.epochs: Too small/);
    expect(prior('train', '--resume', out, '--set', 'seed=1').status).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  it('plot redraws losses.png from metrics.jsonl', async () => {
    const runDir = join(tmp.dir, 'run');
    await new Trainer(toyOptions(runDir, toyConfig(['validation.everyEpochs=0']))).run();
    rmSync(join(runDir, 'losses.png'));
    const r = prior('plot', runDir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(join(runDir, 'losses.png'));
    expect((await sharp(join(runDir, 'losses.png')).metadata()).format).toBe('png');
    const missing = prior('plot', join(tmp.dir, 'missing'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/prior plot: '.*missing' has no metrics\.jsonl \(not a run directory\?\)/);
  });
});
