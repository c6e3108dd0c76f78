// Batch and layer normalization with PyTorch's parameters, buffers and running-stat updates.
import type { Tensor } from '../torch/index.js';
import { batchNorm, layerNorm, ones, tensor, zeros } from '../torch/index.js';
import { ones_, zeros_ } from './init.js';
import type { FactoryOptions } from './module.js';
import { Module, emptyTensor } from './module.js';

export interface BatchNormOptions extends FactoryOptions {
  eps?: number;
  /** Weight of the newest batch in the running averages; null gives the cumulative average. */
  momentum?: number | null;
  /** Learnable per-channel weight and bias. */
  affine?: boolean;
  /** Keep running mean/var (used in eval mode); false normalizes with batch statistics always. */
  trackRunningStats?: boolean;
}

/** PyTorch's _BatchNorm: the subclasses differ only in the input ranks they accept. */
abstract class BatchNorm extends Module<[Tensor], Tensor> {
  readonly eps: number;
  readonly momentum: number | null;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  /** Train-mode forwards so far (int64), which drives the cumulative average. */
  readonly numBatchesTracked: Tensor | null;
  protected abstract readonly inputRanks: readonly number[];

  constructor(
    readonly numFeatures: number,
    { eps = 1e-5, momentum = 0.1, affine = true, trackRunningStats = true, ...factory }: BatchNormOptions = {},
  ) {
    super();
    this.eps = eps;
    this.momentum = momentum;
    this.weight = this.registerParameter('weight', affine ? ones_(emptyTensor([numFeatures], factory)) : null);
    this.bias = this.registerParameter('bias', affine ? zeros_(emptyTensor([numFeatures], factory)) : null);
    const { dtype, device } = factory;
    const opts = { ...(dtype ? { dtype } : {}), ...(device ? { device } : {}) };
    this.runningMean = this.registerBuffer('running_mean', trackRunningStats ? zeros(numFeatures, opts) : null);
    this.runningVar = this.registerBuffer('running_var', trackRunningStats ? ones(numFeatures, opts) : null);
    this.numBatchesTracked = this.registerBuffer(
      'num_batches_tracked',
      trackRunningStats ? tensor(0n, { ...(device ? { device } : {}) }) : null,
    );
  }

  forward(x: Tensor): Tensor {
    if (!this.inputRanks.includes(x.dim())) {
      throw new RangeError(`${this.constructor.name}: expected ${this.inputRanks.join('D or ')}D input, got shape [${x.shape.join(', ')}]`);
    }
    let factor = this.momentum ?? 0;
    const tracked = this.numBatchesTracked;
    if (this.training && tracked) {
      tracked.add_(1);
      if (this.momentum === null) factor = 1 / (tracked.item() as number);
    }
    // Batch statistics in train mode, or always when there are no running ones.
    const useBatchStats = this.training || this.runningMean === null;
    const track = !this.training || this.numBatchesTracked !== null;
    return batchNorm(x, track ? this.runningMean : null, track ? this.runningVar : null, {
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum: factor,
      eps: this.eps,
    });
  }

  protected override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum ?? 'None'}, affine=${this.weight !== null}, track_running_stats=${this.runningMean !== null}`;
  }
}

/** Over [N, C] or [N, C, L] inputs. */
export class BatchNorm1d extends BatchNorm {
  protected readonly inputRanks = [2, 3];
}

/** Over [N, C, H, W] inputs. */
export class BatchNorm2d extends BatchNorm {
  protected readonly inputRanks = [4];
}

export interface LayerNormOptions extends FactoryOptions {
  eps?: number;
  /** Learnable weight (and bias) of the normalized shape. */
  elementwiseAffine?: boolean;
  bias?: boolean;
}

/** Normalizes over the trailing `normalizedShape` dims (nn.LayerNorm). */
export class LayerNorm extends Module<[Tensor], Tensor> {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(normalizedShape: number | readonly number[], { eps = 1e-5, elementwiseAffine = true, bias = true, ...factory }: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = eps;
    this.weight = this.registerParameter('weight', elementwiseAffine ? ones_(emptyTensor(this.normalizedShape, factory)) : null);
    this.bias = this.registerParameter('bias', elementwiseAffine && bias ? zeros_(emptyTensor(this.normalizedShape, factory)) : null);
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, { eps: this.eps });
  }

  protected override extraRepr(): string {
    return `(${this.normalizedShape.join(', ')}), eps=${this.eps}, elementwise_affine=${this.weight !== null}`;
  }
}
