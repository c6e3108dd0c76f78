// A toy StageModel and BatchSource for the trainer tests: a few parameters, dropout and a
// torch-RNG noise term (so exact resume needs the RNG state), a head used only from stage 2
// (so stage 1 must leave it untouched), and an in-memory source with a seeded per-epoch shuffle.
import { Dropout, Linear, Module } from '../../src/nn/index.js';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import type { SpbTemperatureStrategy, TrainConfig } from '../../src/train/config.js';
import { resolveTrainConfig } from '../../src/train/config.js';
import type { BatchSource, StageModel, TrainerOptions } from '../../src/train/trainer.js';
import type { Stage, StagePlan } from '../../src/train/schedule.js';
import { Rng } from '../../src/util/rng.js';

export interface ToyBatch {
  x: Tensor;
  y: Tensor;
  indices: number[];
  /** From the training source (shuffled), not the validation one. */
  train: boolean;
  /** Unused ballast (ToySource.payloadFloats floats) that makes a leaked batch visible in RSS. */
  payload?: Tensor;
}

/** The SPB's temperature rule (spec §5), so that spb_temp is logged as with PRIOR. */
class ToyBank {
  temperature = 0.9;
  setTemperature(step: number, total: number, strategy: SpbTemperatureStrategy): void {
    this.temperature = strategy === 'fixed' ? 0.9 : strategy === 'linear' ? 0.9 - (0.81 * step) / total : 0.9 * 0.1 ** (step / total);
  }
}

export class ToyModel extends Module<[ToyBatch], Tensor> implements StageModel<ToyBatch> {
  readonly body: Linear;
  readonly head: Linear;
  readonly drop = new Dropout(0.3);
  readonly sentenceBank = new ToyBank();
  /** Training-mode stageStep calls in this process; `poison` makes call `poison.call` return NaN in `poison.term`. */
  calls = 0;
  poison: { call: number; term: string } | null = null;

  constructor() {
    super();
    this.body = this.registerModule('body', new Linear(4, 3));
    this.head = this.registerModule('head', new Linear(3, 3));
    this.registerModule('drop', this.drop);
  }

  forward(b: ToyBatch): Tensor {
    return this.drop.call(this.body.call(b.x));
  }

  stageStep(b: ToyBatch, stage: Stage): { loss: Tensor; terms: Record<string, Tensor> } {
    const call = this.training ? this.calls++ : -1;
    const out = this.forward(b);
    const mse = out.narrow(1, 0, 2).sub(b.y).pow(2).mean();
    const terms: Record<string, Tensor> = { [`stage${stage}_mse`]: mse };
    let loss = mse;
    if (stage > 1) {
      const proto = this.head.call(out).sub(out).abs().mean();
      const noise = out.mean().mul(torch.randn([]).mul(0.05));
      terms[`stage${stage}_proto_loss_`] = proto;
      terms[`stage${stage}_noise`] = noise;
      loss = loss.add(proto.mul(0.5)).add(noise);
    }
    if (stage === 3) {
      const l2 = this.head.weight.pow(2).sum().mul(0.01);
      terms.stage3_l2 = l2;
      loss = loss.add(l2);
    }
    terms[`stage${stage}_loss`] = loss;
    if (this.poison && this.poison.call === call) terms[this.poison.term] = terms[this.poison.term]!.mul(Number.NaN);
    return { loss, terms };
  }
}

/** N items of x [4] and y [2] (y a fixed function of x plus noise), made from `seed` with the Rng. */
export function toyData(n: number, seed: number): { x: Float32Array; y: Float32Array } {
  const rng = Rng.derive(seed, 1);
  const x = Float32Array.from({ length: n * 4 }, () => rng.normal());
  const y = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    y[2 * i] = x[4 * i]! - 0.5 * x[4 * i + 1]! + 0.1 * rng.normal();
    y[2 * i + 1] = 0.3 * x[4 * i + 2]! + x[4 * i + 3]! + 0.1 * rng.normal();
  }
  return { x, y };
}

export class ToySource implements BatchSource<ToyBatch> {
  readonly batchesPerEpoch: number;
  /** Training batches handed out (any source, any epoch); with `slowAfter`, later ones wait `slowMs`. */
  static handedOut = 0;
  static slowAfter = Number.POSITIVE_INFINITY;
  static slowMs = 300;
  static payloadFloats = 0;

  constructor(
    private readonly data: { x: Float32Array; y: Float32Array },
    readonly batchSize: number,
    private readonly seed: number,
    private readonly shuffle = true,
  ) {
    this.batchesPerEpoch = Math.ceil(this.size / batchSize);
  }

  get size(): number {
    return this.data.y.length / 2;
  }

  async *epoch(epoch: number, { startBatch = 0 }: { startBatch?: number } = {}): AsyncGenerator<ToyBatch> {
    const order = this.shuffle ? Rng.derive(this.seed, epoch).permutation(this.size) : Array.from({ length: this.size }, (_, i) => i);
    for (let b = startBatch; b < this.batchesPerEpoch; b++) {
      if (this.shuffle && ToySource.handedOut >= ToySource.slowAfter) await new Promise((r) => setTimeout(r, ToySource.slowMs));
      else await Promise.resolve();
      const indices = order.slice(b * this.batchSize, (b + 1) * this.batchSize);
      const x = new Float32Array(indices.length * 4);
      const y = new Float32Array(indices.length * 2);
      indices.forEach((i, k) => {
        x.set(this.data.x.subarray(4 * i, 4 * i + 4), 4 * k);
        y.set(this.data.y.subarray(2 * i, 2 * i + 2), 2 * k);
      });
      if (this.shuffle) ToySource.handedOut++;
      const batch: ToyBatch = { x: torch.tensor(x).reshape([indices.length, 4]), y: torch.tensor(y).reshape([indices.length, 2]), indices, train: this.shuffle };
      if (ToySource.payloadFloats > 0) batch.payload = torch.ones([ToySource.payloadFloats]);
      yield batch;
    }
  }
}

export const TOY_N = 37;
export const TOY_VAL_N = 10;

/** The tiny preset with toy-sized stages: 2 epochs each, 5 batches of up to 8 (I = ⌊37/8⌋ = 4). */
export function toyConfig(set: readonly string[] = []): TrainConfig {
  return resolveTrainConfig({
    preset: 'tiny',
    set: [
      'stages.0.epochs=2',
      'stages.1.epochs=2',
      'stages.2.epochs=2',
      'stages.0.peakLr=0.05',
      'stages.1.peakLr=0.05',
      'stages.2.peakLr=0.02',
      'checkpoint.everySteps=6',
      'checkpoint.keepLast=2',
      'device=cpu',
      // The toy's own sizes, independent of what the tiny preset tunes for `npm run train`.
      'data.batchSize=8',
      'data.workers=0',
      'threads=null',
      'validation.everyEpochs=1',
      ...set,
    ],
  });
}

/** Trainer options for the toy: model seeded from the config, sources from the toy data. */
export function toyOptions(runDir: string, config: TrainConfig, extra: Partial<TrainerOptions<ToyBatch>> = {}): TrainerOptions<ToyBatch> & { model: ToyModel } {
  torch.manualSeed(config.seed);
  const model = new ToyModel();
  const train = toyData(TOY_N, config.seed);
  const val = toyData(TOY_VAL_N, config.seed + 1);
  return {
    config,
    runDir,
    model,
    trainSource: (plan: StagePlan) => new ToySource(train, plan.batchSize, config.seed),
    valSource: (plan: StagePlan) => new ToySource(val, plan.batchSize, config.seed, false),
    disposeBatch: (b: ToyBatch) => torch.dispose([b.x, b.y, b.payload]),
    datasetSize: TOY_N,
    progress: null,
    log: () => {},
    ...extra,
  } as TrainerOptions<ToyBatch> & { model: ToyModel };
}
