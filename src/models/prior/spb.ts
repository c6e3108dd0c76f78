// The sentence prototype bank (PRIOR spec §5, `sentence_bank`): a codebook trained by gradient.
// Each sentence embedding becomes a Gumbel-softmax mixture of the codebook rows, weighted by
// dot-product logits. No EMA, no commitment loss, no straight-through estimator.
import type { Tensor } from '../../torch/index.js';
import { gumbelSoftmax } from '../../torch/index.js';
import type { FactoryOptions } from '../../nn/index.js';
import { Embedding, Module } from '../../nn/index.js';

/** When the Gumbel noise is drawn: 'always' (faithful, also at evaluation, B6) or only in 'train' mode. */
export type SpbNoise = 'always' | 'train';

/** The temperature schedule of set_temp: constant, linear to 10% or exponential to 10% of the start over `total` steps. */
export type SpbTemperatureSchedule = 'fixed' | 'linear' | 'exp';

export interface SentencePrototypeBankOptions extends FactoryOptions {
  /** The starting (and 'fixed') temperature. */
  temperature?: number;
  noise?: SpbNoise;
}

export interface SpbForwardOptions {
  /** Gumbel noise [N, K] to use instead of drawing it (tests, replays). Ignored when no noise applies. */
  noise?: Tensor;
}

export interface SpbOutput {
  /** [N, D]: the soft mixtures y·E. */
  prototypes: Tensor;
  /** mean |prototypes − x| over all N·D elements; gradients reach both sides. */
  protoLoss: Tensor;
  /** int64 [N]: the argmax codebook row of each mixture (bookkeeping only). */
  indices: Tensor;
  /** [N, K]: x·Eᵀ, not detached: the original's cached `gt_dist`, the KL target of a later call. */
  logits: Tensor;
}

export class SentencePrototypeBank extends Module<[Tensor, SpbForwardOptions?], SpbOutput> {
  /** The codebook E [nEmbed, dim], key `embed.weight`. */
  readonly embed: Embedding;
  readonly initialTemperature: number;
  readonly noise: SpbNoise;
  private currentTemperature: number;

  constructor(
    readonly dim: number,
    readonly nEmbed: number,
    { temperature = 0.9, noise = 'always', ...factory }: SentencePrototypeBankOptions = {},
  ) {
    super();
    if (!(temperature > 0)) throw new RangeError(`SentencePrototypeBank: temperature must be > 0, got ${temperature}`);
    this.embed = this.registerModule('embed', new Embedding(nEmbed, dim, factory));
    this.initialTemperature = temperature;
    this.currentTemperature = temperature;
    this.noise = noise;
  }

  /** The temperature the next forward uses. */
  get temperature(): number {
    return this.currentTemperature;
  }

  /** The original's set_temp: τ0, τ0·(1 − 0.9·step/total) or τ0·0.1^(step/total). */
  setTemperature(step: number, total: number, strategy: SpbTemperatureSchedule): number {
    if (!(total > 0)) throw new RangeError(`SentencePrototypeBank.setTemperature: total must be > 0, got ${total}`);
    const t0 = this.initialTemperature;
    const f = step / total;
    if (strategy === 'fixed') this.currentTemperature = t0;
    else if (strategy === 'linear') this.currentTemperature = t0 - (t0 - t0 * 0.1) * f;
    else if (strategy === 'exp') this.currentTemperature = t0 * 0.1 ** f;
    else throw new TypeError(`SentencePrototypeBank.setTemperature: unknown strategy '${String(strategy)}'`);
    return this.currentTemperature;
  }

  /** `x` [N, D] (a batch's sentence rows, concatenated) → prototypes, proto loss, indices, logits. */
  forward(x: Tensor, { noise }: SpbForwardOptions = {}): SpbOutput {
    if (x.dim() !== 2 || x.size(1) !== this.dim) throw new RangeError(`SentencePrototypeBank: expected x [N, ${this.dim}], got [${x.shape.join(', ')}]`);
    const codebook = this.embed.weight;
    const logits = x.matmul(codebook.t());
    const tau = this.currentTemperature;
    let weights: Tensor;
    if (this.noise === 'train' && !this.training) {
      weights = logits.div(tau).softmax(-1);
    } else if (noise !== undefined) {
      if (noise.shape.join() !== logits.shape.join()) {
        throw new RangeError(`SentencePrototypeBank: noise must be [${logits.shape.join(', ')}] like the logits, got [${noise.shape.join(', ')}]`);
      }
      weights = logits.add(noise).div(tau).softmax(-1);
    } else {
      weights = gumbelSoftmax(logits, { tau });
    }
    const prototypes = weights.matmul(codebook);
    return { prototypes, protoLoss: prototypes.sub(x).abs().mean(), indices: weights.argmax(-1), logits };
  }

  /**
   * The original's cal_loss: KL(softmax(target) ‖ softmax(z·Eᵀ)) summed and divided by the row
   * count ('batchmean'). `targetLogits` [N, K] is passed explicitly; faithfully it is the
   * (not detached) `logits` of the right earlier forward (§10 B5), so gradients reach it.
   */
  klLoss(z: Tensor, targetLogits: Tensor): Tensor {
    if (z.dim() !== 2 || z.size(1) !== this.dim || targetLogits.dim() !== 2 || targetLogits.size(0) !== z.size(0) || targetLogits.size(1) !== this.nEmbed) {
      throw new RangeError(
        `SentencePrototypeBank.klLoss: expected z [N, ${this.dim}] and targetLogits [N, ${this.nEmbed}], got [${z.shape.join(', ')}] and [${targetLogits.shape.join(', ')}]`,
      );
    }
    const logTarget = targetLogits.logSoftmax(-1);
    const logPredicted = z.matmul(this.embed.weight.t()).logSoftmax(-1);
    return logTarget.exp().mul(logTarget.sub(logPredicted)).sum().div(Math.max(z.size(0), 1));
  }

  protected override extraRepr(): string {
    return `dim=${this.dim}, n_embed=${this.nEmbed}, temperature=${this.currentTemperature}, noise=${this.noise}`;
  }
}
