import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { io, torch } from '../../src/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { withTempDir } from './helpers.js';

const values = (t: Tensor): number[] => Array.from(t.toArray() as Float32Array);

describe('checkpoints', () => {
  it('round-trip model, optimizer, scheduler, loader RNG, step, epoch, stage, config and provenance', () => {
    withTempDir((dir) => {
      const model = new Map<string, Tensor>([
        ['enc.weight', torch.tensor([[1, 2], [3, 4]])],
        ['enc.steps', torch.tensor([7n])],
      ]);
      const optimizer = { state: { 0: { exp_avg: torch.tensor([0.5, -0.25]), step: 3 } }, param_groups: [{ lr: 0.1, betas: [0.9, 0.999], params: [0] }] };
      const path = io.saveCheckpoint(dir, {
        step: 100,
        epoch: 2,
        stage: 'pretrain',
        model,
        optimizer,
        scheduler: { last_epoch: 100, base_lrs: [0.1] },
        loaderRng: { seed: 42, position: 1234 },
        config: { batchSize: 8, name: 'tiny' },
      });
      expect(path).toBe(join(dir, 'step-000100'));
      expect(readFileSync(join(dir, 'latest'), 'utf8').trim()).toBe('step-000100');
      const c = io.loadCheckpoint(dir);
      expect(c.path).toBe(path);
      expect({ step: c.step, epoch: c.epoch, stage: c.stage, config: c.config, loaderRng: c.loaderRng, scheduler: c.scheduler }).toEqual({
        step: 100,
        epoch: 2,
        stage: 'pretrain',
        config: { batchSize: 8, name: 'tiny' },
        loaderRng: { seed: 42, position: 1234 },
        scheduler: { last_epoch: 100, base_lrs: [0.1] },
      });
      expect(values(c.model.get('enc.weight')!)).toEqual([1, 2, 3, 4]);
      expect(c.model.get('enc.steps')!.toArray()).toEqual(new BigInt64Array([7n]));
      const opt = c.optimizer as { state: { 0: { exp_avg: Tensor; step: number } }; param_groups: unknown };
      expect(values(opt.state[0].exp_avg)).toEqual([0.5, -0.25]);
      expect(opt.state[0].step).toBe(3);
      expect(opt.param_groups).toEqual(optimizer.param_groups);
      expect(c.provenance.libtorchVersion).toBe(torch.buildInfo().libtorchVersion);
      expect(c.provenance.threads).toBe(torch.getNumThreads());
      expect(c.provenance.gitCommit).toMatch(/^[0-9a-f]{40}$/);
      expect(JSON.parse(readFileSync(join(path, 'meta.json'), 'utf8'))).toMatchObject({ format: 'prior-ts-checkpoint', version: io.FORMAT_VERSION });
      expect([...c.rng.keys()]).toEqual(torch.cuda.isAvailable() ? ['cpu', ...Array.from({ length: torch.cuda.deviceCount() }, (_, i) => `cuda:${i}`)] : ['cpu']);
    });
  });

  it('RNG state restore repeats the random stream', () => {
    const saved = io.captureRngStates();
    const a = values(torch.randn(5));
    torch.randn(17); // move on
    io.restoreRngStates(saved);
    expect(values(torch.randn(5))).toEqual(a);
    expect(() => torch.setRngState(torch.zeros([3], { dtype: 'uint8' }))).toThrow();
  });

  it('keeps the last N, re-saves a step in place, and never keeps temp directories', () => {
    withTempDir((dir) => {
      for (let s = 1; s <= 5; s++) io.saveCheckpoint(dir, { step: s * 10, model: { w: torch.full([2], s, { dtype: 'float32' }) } }, { keepLast: 2 });
      expect(io.listCheckpoints(dir).map((c) => c.step)).toEqual([40, 50]);
      io.saveCheckpoint(dir, { step: 50, model: { w: torch.full([2], 99, { dtype: 'float32' }) } }, { keepLast: 2 });
      expect(values(io.loadCheckpoint(dir).model.get('w')!)).toEqual([99, 99]);
      expect(values(io.loadCheckpoint(join(dir, 'step-000040')).model.get('w')!)).toEqual([4, 4]);
      expect(readdirSync(dir).sort()).toEqual(['latest', 'step-000040', 'step-000050']);
    });
  });

  it('rejects damaged or missing checkpoints and non-JSON state, naming the file', () => {
    withTempDir((dir) => {
      expect(() => io.loadCheckpoint(dir)).toThrow(/no meta.json and no complete step directory/);
      expect(() => io.saveCheckpoint(dir, { step: 1, model: {}, optimizer: { lr: NaN } })).toThrow(/'optimizer\/lr' is NaN/);
      expect(() => io.saveCheckpoint(dir, { step: 1, model: {}, optimizer: { m: new Map() } as never })).toThrow(/'optimizer\/m' is not a plain object/);
      const path = io.saveCheckpoint(dir, { step: 1, model: { w: torch.ones(4) } });
      writeFileSync(join(path, 'model.safetensors'), readFileSync(join(path, 'model.safetensors')).subarray(0, 20));
      expect(() => io.loadCheckpoint(dir)).toThrow(/step-000001': model.safetensors is 20 bytes, meta.json recorded \d+/);
      const meta = JSON.parse(readFileSync(join(path, 'meta.json'), 'utf8'));
      writeFileSync(join(path, 'meta.json'), JSON.stringify({ ...meta, version: 99 }));
      expect(() => io.loadCheckpoint(path)).toThrow(/meta.json field 'version'/);
    });
  });
});

// ---- bit-exact resume ------------------------------------------------------------------------
interface TrainState {
  w: Tensor;
  momentum: Tensor;
  sched: { lr: number; step: number };
}

/** A tiny regression with dropout and label noise (both draw from the RNG), SGD with momentum. */
function trainSteps(s: TrainState, steps: number): number[] {
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    torch.scope(() => {
      const x = torch.randn(16, 4);
      const y = x.sum([1], true).add(torch.randn(16, 1).mul(0.1));
      const loss = torch.dropout(x, 0.25, true).matmul(s.w).sub(y).pow(2).mean();
      loss.backward();
      torch.noGrad(() => {
        s.momentum.mul_(0.9).add_(s.w.grad!);
        s.w.sub_(s.momentum.mul(s.sched.lr));
      });
      s.w.grad = null;
      s.sched.lr *= 0.9;
      s.sched.step++;
      losses.push(loss.item());
    });
  }
  return losses;
}

function freshState(): TrainState {
  torch.manualSeed(1234);
  return { w: torch.keep(torch.zeros([4, 1], { requiresGrad: true })), momentum: torch.keep(torch.zeros([4, 1])), sched: { lr: 0.1, step: 0 } };
}

describe('resume', () => {
  it('N steps uninterrupted equal N/2 + save + load into fresh tensors + N/2, bit for bit', () => {
    const N = 10;
    const straight = trainSteps(freshState(), N);
    const first = freshState();
    const resumed = trainSteps(first, N / 2);
    withTempDir((dir) => {
      io.saveCheckpoint(dir, { step: first.sched.step, model: { w: first.w }, optimizer: { momentum: first.momentum }, scheduler: first.sched });
      torch.dispose([first.w, first.momentum]);
      torch.manualSeed(999); // the restore must undo this
      torch.randn(100);
      const c = io.loadCheckpoint(dir);
      io.restoreRngStates(c.rng);
      const opt = c.optimizer as { momentum: Tensor };
      const sched = c.scheduler as { lr: number; step: number };
      const second: TrainState = { w: c.model.get('w')!.requiresGrad_(true), momentum: opt.momentum, sched };
      resumed.push(...trainSteps(second, N / 2));
      expect(sched.step).toBe(N);
    });
    expect(resumed).toEqual(straight); // toEqual on numbers is Object.is: exact
    expect(new Set(straight).size).toBe(N);
  });
});

// ---- kill at random moments --------------------------------------------------------------------
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const writer = fileURLToPath(new URL('./child/checkpoint-writer.ts', import.meta.url));

/** Starts the writer; SIGKILLs it `delayMs` after its first save (or after 60 s without one). */
function runAndKill(dir: string, delayMs: number): Promise<{ saved: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsxLoader, writer, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => {
      if (out === '') {
        clearTimeout(timer);
        timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code ?? signal}:\n${stderr}`));
      else resolve({ saved: out.split('\n').filter((l) => l.startsWith('saved')).length, stderr });
    });
  });
}

describe('a SIGKILL at any moment leaves the previous checkpoint loadable', () => {
  it('kills a writer 5 times at random moments; latest always loads and is one whole step', async () => {
    await withTempDir(async (dir) => {
      let last = 0;
      for (let round = 0; round < 5; round++) {
        const { saved } = await runAndKill(dir, Math.floor(Math.random() * 400));
        expect(saved).toBeGreaterThan(0);
        torch.scope(() => {
          const c = io.loadCheckpoint(dir);
          expect(c.step).toBeGreaterThanOrEqual(last + saved); // each 'saved' line follows a complete save
          const s = c.step;
          for (const [name, t] of c.model) expect(values(t).every((v) => v === s), `${name} of step ${s}`).toBe(true);
          const opt = c.optimizer as { state: { 0: { momentum: Tensor } }; step: number };
          expect(values(opt.state[0].momentum).every((v) => v === s)).toBe(true);
          expect({ opt: opt.step, sched: c.scheduler, loader: c.loaderRng, epoch: c.epoch }).toEqual({ opt: s, sched: { lastStep: s }, loader: { position: s }, epoch: s });
          last = s;
        });
        expect(io.listCheckpoints(dir).length).toBeLessThanOrEqual(4); // keepLast 3, plus at most one being written
      }
      expect(existsSync(join(dir, 'latest'))).toBe(true);
    });
  });
});
