// Linear layers: y = x W^T + b.
import type { Tensor } from '../torch/index.js';
import { linear } from '../torch/index.js';
import { kaimingUniform_, calculateFanInAndFanOut, uniform_ } from './init.js';
import type { FactoryOptions } from './module.js';
import { Module, emptyTensor } from './module.js';

export interface LinearOptions extends FactoryOptions {
  bias?: boolean;
}

/**
 * The bias initialisation PyTorch's Linear and Conv layers share: U(-1/sqrt(fanIn), 1/sqrt(fanIn))
 * with the weight's fan in (0 bound for an empty weight).
 */
export function initBiasFromWeight(bias: Tensor, weight: Tensor): void {
  const [fanIn] = calculateFanInAndFanOut(weight);
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  uniform_(bias, -bound, bound);
}

/** y = x W^T + b (nn.Linear): weight [out, in], bias [out]; kaiming_uniform_(a=sqrt(5)) init. */
export class Linear extends Module<[Tensor], Tensor> {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    { bias = true, ...factory }: LinearOptions = {},
  ) {
    super();
    this.weight = this.registerParameter('weight', emptyTensor([outFeatures, inFeatures], factory));
    this.bias = this.registerParameter('bias', bias ? emptyTensor([outFeatures], factory) : null);
    this.resetParameters();
  }

  /** PyTorch's reset_parameters: the same draws in the same order. */
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) initBiasFromWeight(this.bias, this.weight);
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  protected override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
