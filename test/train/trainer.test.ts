// A toy run through the three stages (in this process): the run directory's artefacts, the
// metric lines (positions, LR on the faithful schedule, SPB temperature, every term), the
// checkpoints (stage starts, keep-last-N, best), stage 1 leaving stage-2 modules untouched,
// non-finite losses, and mixed precision.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { listCheckpoints, loadCheckpoint } from '../../src/io/checkpoint.js';
import * as torch from '../../src/torch/index.js';
import { NonFiniteLossError, Trainer, shortTermName } from '../../src/train/trainer.js';
import { readMetrics } from '../../src/train/run-dir.js';
import { warmupCosineLr } from '../../src/train/schedule.js';
import { tempDir } from './helpers.js';
import { toyConfig, toyOptions } from './toy.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
const values = (t: torch.Tensor): number[] => Array.from(t.toArray() as Float32Array);

describe('a toy run through stages 1 -> 2 -> 3', async () => {
  const runDir = join(tmp.dir, 'run');
  const config = toyConfig();
  const logs: string[] = [];
  const options = toyOptions(runDir, config, { log: (l) => logs.push(l) });
  const initialHead = values(options.model.head.weight);
  const result = await new Trainer(options).run();
  const lines = readMetrics(runDir);

  it('completes and writes every artefact', () => {
    expect(result).toMatchObject({ status: 'completed', signal: null, exitCode: 0, steps: 30 });
    expect(readdirSync(runDir).sort()).toEqual(['checkpoints', 'config.json', 'losses.png', 'metrics.jsonl', 'provenance.json', 'validation.jsonl']);
    expect(JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'))).toEqual(config);
    const prov = JSON.parse(readFileSync(join(runDir, 'provenance.json'), 'utf8')) as Record<string, unknown>;
    expect(prov).toMatchObject({ libtorchVersion: torch.buildInfo().libtorchVersion, seed: 114514, node: process.version, threads: torch.getNumThreads(), resumes: [] });
    expect(prov.gitCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(existsSync(join(String(prov.libtorchPath), 'libtorch_cpu.so'))).toBe(true);
    expect(logs.some((l) => /^done: 30 steps; data wait \d+\.\d% of step time/.test(l))).toBe(true);
    expect(result.dataWaitShare).toBeGreaterThan(0);
    expect(result.dataWaitShare).toBeLessThan(1);
  });

  it('logs one line per step with its position, schedule values and every term', () => {
    expect(lines.map((l) => l.step)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(lines.map((l) => l.stage)).toEqual([...Array(10).fill(1), ...Array(10).fill(2), ...Array(10).fill(3)]);
    expect(lines.map((l) => l.epoch)).toEqual(Array.from({ length: 30 }, (_, i) => Math.floor(i / 5)));
    expect(lines.map((l) => l.batch)).toEqual(Array.from({ length: 30 }, (_, i) => i % 5));
    expect(Object.keys(lines[0]!).sort()).toEqual(['batch', 'data_ms', 'epoch', 'loss', 'lr', 'spb_temp', 'stage', 'stage1_loss', 'stage1_mse', 'step', 'step_ms'].sort());
    expect(Object.keys(lines[25]!)).toEqual(expect.arrayContaining(['stage3_mse', 'stage3_proto_loss_', 'stage3_noise', 'stage3_l2', 'stage3_loss']));
    for (const l of lines) expect(l.loss).toBe(l[`stage${l.stage}_loss`]);
    // Faithful schedule: I = ⌊37/8⌋ = 4 per epoch while 5 steps are taken, so every stage
    // runs 2 steps past the cosine minimum (B11).
    const peaks = [0.05, 0.05, 0.02];
    const starts = [1e-6, 1e-6, 1e-7];
    lines.forEach((l, i) => {
      const k = i % 10;
      const want = warmupCosineLr(k, { peakLr: peaks[l.stage - 1]!, startLr: starts[l.stage - 1]!, endLr: 0, warmupSteps: 4, totalSteps: 8 });
      expect(Math.abs(l.lr - want), `step ${i}`).toBeLessThan(1e-15);
    });
    expect(lines[8]!.lr).toBeLessThan(1e-15);
    expect(lines[9]!.lr).toBeGreaterThan(0);
    expect(lines.map((l) => l.spb_temp)).toEqual([...Array(10).fill(null), ...Array(20).fill(0.9)]);
    expect(lines.every((l) => l.step_ms >= l.data_ms && l.data_ms >= 0)).toBe(true);
  });

  it('keeps the last N periodic checkpoints, the stage starts and the best', () => {
    const ckpts = join(runDir, 'checkpoints');
    expect(listCheckpoints(ckpts).map((c) => c.step)).toEqual([24, 30]);
    expect(readdirSync(ckpts).sort()).toEqual(['best', 'latest', 'stage2_start', 'stage3_start', 'step-000024', 'step-000030']);
    expect(loadCheckpoint(join(ckpts, 'stage2_start'))).toMatchObject({ step: 10, stage: 'stage2', epoch: 2 });
    expect(loadCheckpoint(join(ckpts, 'stage3_start'))).toMatchObject({ step: 20, stage: 'stage3', epoch: 4 });
    const val = readFileSync(join(runDir, 'validation.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stage: number; step: number; loss: number });
    expect(val.map((v) => v.step)).toEqual([5, 10, 15, 20, 25, 30]);
    const stage3 = val.filter((v) => v.stage === 3);
    const best = stage3.reduce((a, b) => (b.loss < a.loss ? b : a));
    expect(loadCheckpoint(join(ckpts, 'best')).step).toBe(best.step);
  });

  it('stage 1 leaves the parameters it does not use (the stage-2 head) untouched', () => {
    const atStage2 = loadCheckpoint(join(runDir, 'checkpoints', 'stage2_start'));
    expect(values(atStage2.model.get('head.weight')!)).toEqual(initialHead);
    expect(values(atStage2.model.get('body.weight')!)).not.toEqual(values(loadCheckpoint(join(runDir, 'checkpoints', 'stage3_start')).model.get('body.weight')!));
    expect(values(options.model.head.weight)).not.toEqual(initialHead);
  });

  it('draws losses.png: every term, the LR and the temperature', async () => {
    const meta = await sharp(join(runDir, 'losses.png')).metadata();
    expect(meta.format).toBe('png');
    // total, mse, proto_loss_, noise, l2, lr, temperature: 7 panels in rows of 2.
    expect({ w: meta.width, h: meta.height }).toEqual({ w: 1040, h: 30 + 4 * 300 });
  });

  it('refuses to start a second run in the same directory, or to resume with another config', async () => {
    await expect(new Trainer(toyOptions(runDir, config)).run()).rejects.toThrow(/already holds a run/);
    await expect(new Trainer(toyOptions(runDir, toyConfig(['seed=1']))).resume()).rejects.toThrow(/the config differs from its config\.json/);
  });
});

describe('a non-finite loss', () => {
  it('stops with the term and the step named, keeping the last good checkpoint', async () => {
    const runDir = join(tmp.dir, 'nan');
    const options = toyOptions(runDir, toyConfig());
    options.model.poison = { call: 16, term: 'stage2_noise' };
    const err = await new Trainer(options).run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as Error).message).toMatch(/'stage2_noise' is NaN at step 16 \(stage 2\)/);
    expect(err).toMatchObject({ term: 'stage2_noise', step: 16, stage: 2 });
    const ckpt = loadCheckpoint(join(runDir, 'checkpoints'));
    expect(ckpt.step).toBe(12);
    for (const [k, t] of ckpt.model) expect(values(t).every(Number.isFinite), k).toBe(true);
    expect(readMetrics(runDir).length).toBe(16);
  });

  it("names the stage's total term when that is the one", async () => {
    const options = toyOptions(join(tmp.dir, 'nan-total'), toyConfig());
    options.model.poison = { call: 3, term: 'stage1_loss' };
    // Poisoning the term 'stage1_loss' leaves `loss` finite: the term is what is named.
    await expect(new Trainer(options).run()).rejects.toThrow(/'stage1_loss' is NaN at step 3 \(stage 1\)/);
  });
});

describe('a source that yields fewer batches than planned (skipped items)', () => {
  it('logs it and goes on with the next epoch', async () => {
    const runDir = join(tmp.dir, 'short');
    const logs: string[] = [];
    const options = toyOptions(runDir, toyConfig(['validation.everyEpochs=0']), { log: (l) => logs.push(l) });
    const full = options.trainSource;
    options.trainSource = (plan) => {
      const source = full(plan);
      return {
        batchesPerEpoch: source.batchesPerEpoch,
        async *epoch(e, o) {
          let n = 0;
          for await (const b of source.epoch(e, o)) {
            if (e === 1 && n++ === 3) {
              options.disposeBatch(b);
              return;
            }
            yield b;
          }
        },
      };
    };
    expect((await new Trainer(options).run()).steps).toBe(28);
    expect(logs).toContain('stage 1 epoch 1: the source gave 3 of 5 batches (items skipped)');
    expect(readMetrics(runDir).map((l) => `${l.epoch}.${l.batch}`).slice(4, 9)).toEqual(['0.4', '1.0', '1.1', '1.2', '2.0']);
  });
});

describe('mixed precision', () => {
  it.each(['bf16', 'fp16'] as const)('%s autocast trains the toy to the end', async (precision) => {
    const runDir = join(tmp.dir, precision);
    const result = await new Trainer(toyOptions(runDir, toyConfig([`precision=${precision}`, 'validation.everyEpochs=0']))).run();
    expect(result.status).toBe('completed');
    const lines = readMetrics(runDir);
    expect(lines.length).toBe(30);
    expect(lines.every((l) => Number.isFinite(l.loss))).toBe(true);
    if (precision === 'fp16') {
      expect(lines[0]!.grad_scale).toBe(65536);
      const ckpt = loadCheckpoint(join(runDir, 'checkpoints'));
      expect((ckpt.scheduler as { scaler: { scale: number } }).scaler.scale).toBeGreaterThan(0);
    } else expect(lines[0]!.grad_scale).toBeUndefined();
  });
});

describe('progress names', () => {
  it('shortens PRIOR term names', () => {
    expect(['stage1_global_alignment_loss', 'stage2_local_image_loss', 'stage3_local_text_loss', 'stage2_proto_loss_', 'stage3_rec_image_loss', 'stage3_gpa_loss', 'stage3_l2'].map(shortTermName)).toEqual([
      'glob',
      'limg',
      'ltxt',
      'proto',
      'rec',
      'gpa',
      'l2',
    ]);
  });
});
