// `prior demo`: trains a two-layer MLP on a generated two-arm spiral with the tensor API alone
// (no nn modules or optimizers): autograd for gradients, SGD with momentum written inline
// with in-place ops under noGrad, scopes to free each step's tensors.
import { z } from 'zod';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { Progress, type ProgressStream } from '../util/progress.js';

// Defaults live with the command line (src/cli/main.ts); here every option is required.
export const DemoOptions = z.object({
  epochs: z.coerce.number().int().min(1).max(100_000),
  seed: z.coerce.number().int().min(0).max(2 ** 31 - 1),
});
export type DemoOptions = z.infer<typeof DemoOptions>;

/** Validates raw options (strings from the command line, or numbers); throws a readable error. */
export function parseDemoOptions(raw: unknown): DemoOptions {
  const parsed = DemoOptions.safeParse(raw);
  if (!parsed.success) throw new RangeError(`invalid demo options:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

// Fixed hyperparameters: chosen so that the default run reaches ~100% in a few seconds on 2 cores.
const POINTS_PER_CLASS = 400;
const TURNS = 1.5;
const NOISE = 0.1;
const HIDDEN = 64;
const BATCH = 32;
const LR = 0.1;
const MOMENTUM = 0.9;

type F32 = Tensor<'float32'>;

export interface Spiral {
  x: F32;
  y: Tensor<'int64'>;
}

/**
 * Two interleaved spiral arms in the plane, `perClass` points each: arm k at angle
 * 2π·turns·r + kπ (plus noise) and radius r ∈ [0, 1]. Labels are the arm index.
 */
export function makeSpiral(perClass: number, turns = TURNS, noise = NOISE): Spiral {
  return torch.scope(() => {
    const r = torch.linspace(0, 1, perClass);
    const arms = [0, 1].map((k) => {
      const theta = r.mul(2 * Math.PI * turns).add_(k * Math.PI).add_(torch.randn(perClass).mul_(noise));
      return torch.stack([r.mul(theta.cos()), r.mul(theta.sin())], 1);
    });
    const x = torch.cat(arms, 0) as F32;
    const y = torch.cat([torch.zeros(perClass, { dtype: 'int64' }), torch.ones(perClass, { dtype: 'int64' })]);
    return { x, y };
  });
}

interface Mlp {
  w1: F32;
  b1: F32;
  w2: F32;
  b2: F32;
}

function initMlp(inputs: number, hidden: number, classes: number): Mlp {
  // He initialisation for the ReLU layer, small weights for the output layer.
  const leaf = (t: F32): F32 => t.requiresGrad_();
  return {
    w1: leaf(torch.randn(hidden, inputs).mul_(Math.sqrt(2 / inputs))),
    b1: leaf(torch.zeros(hidden)),
    w2: leaf(torch.randn(classes, hidden).mul_(Math.sqrt(1 / hidden))),
    b2: leaf(torch.zeros(classes)),
  };
}

function forward(m: Mlp, x: F32): F32 {
  return torch.linear(torch.linear(x, m.w1, m.b1).relu(), m.w2, m.b2);
}

function correctCount(logits: F32, y: Tensor): number {
  return logits.argmax(1).eq(y).countNonzero().item();
}

export interface EpochStats {
  epoch: number;
  loss: number;
  accuracy: number;
}

export interface DemoResult extends EpochStats {
  seconds: number;
}

export interface DemoHooks {
  /** Called after every epoch (the CLI draws progress from it). */
  onEpoch?: (stats: EpochStats) => void;
}

/** Trains the MLP; returns the last epoch's mean loss and the accuracy on the whole set. */
export function trainSpiral(options: DemoOptions, hooks: DemoHooks = {}): DemoResult {
  // Kernels this small finish before a second thread starts: one thread is fastest, and on a
  // busy machine extra OpenMP threads spin-wait for a core.
  const threads = torch.getNumThreads();
  torch.setNumThreads(1);
  const started = performance.now();
  try {
    return { ...train(options, hooks), seconds: (performance.now() - started) / 1000 };
  } finally {
    torch.setNumThreads(threads);
  }
}

function train(options: DemoOptions, hooks: DemoHooks): EpochStats {
  torch.manualSeed(options.seed);
  const data = makeSpiral(POINTS_PER_CLASS);
  const model = initMlp(2, HIDDEN, 2);
  const params = Object.values(model);
  const velocity = params.map((p) => torch.zerosLike(p));
  const n = data.x.size(0);
  let stats: EpochStats = { epoch: 0, loss: Number.NaN, accuracy: 0 };
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      let lossSum = 0;
      let correct = 0;
      torch.scope(() => {
        const order = torch.randperm(n);
        for (let start = 0; start < n; start += BATCH) {
          torch.scope(() => {
            const idx = order.narrow(0, start, Math.min(BATCH, n - start));
            const xb = data.x.indexSelect(0, idx);
            const yb = data.y.indexSelect(0, idx);
            const logits = forward(model, xb);
            const loss = torch.crossEntropy(logits, yb);
            loss.backward();
            torch.noGrad(() => {
              params.forEach((p, i) => {
                // PyTorch's SGD: v = momentum·v + g; p -= lr·v.
                const v = velocity[i]!.mul_(MOMENTUM).add_(p.grad!);
                p.sub_(v, { alpha: LR });
                p.grad = null;
              });
            });
            lossSum += loss.item() * idx.size(0);
            correct += correctCount(logits, yb);
          });
        }
      });
      stats = { epoch, loss: lossSum / n, accuracy: correct / n };
      hooks.onEpoch?.(stats);
    }
    const final = torch.noGrad(() => torch.scope(() => correctCount(forward(model, data.x), data.y)));
    return { ...stats, accuracy: final / n };
  } finally {
    torch.dispose([data, params, velocity]);
  }
}

/** The CLI command: training with a progress line, then the final accuracy. */
export function runDemo(options: DemoOptions, out: ProgressStream = process.stderr): DemoResult {
  out.write(
    `Two-arm spiral, ${2 * POINTS_PER_CLASS} points; MLP 2-${HIDDEN}-2; SGD lr ${LR} momentum ${MOMENTUM}, batch ${BATCH}; ` +
      `${options.epochs} epochs, seed ${options.seed}\n`,
  );
  const progress = new Progress({ total: options.epochs, unit: 'epochs', stream: out });
  const result = trainSpiral(options, {
    onEpoch: (s) => progress.update(s.epoch, { loss: s.loss.toFixed(4), acc: `${(s.accuracy * 100).toFixed(1)}%` }),
  });
  progress.finish();
  out.write(`final accuracy ${(result.accuracy * 100).toFixed(1)}% (loss ${result.loss.toFixed(4)}) in ${result.seconds.toFixed(1)}s\n`);
  return result;
}
