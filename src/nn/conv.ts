// 2-D convolutions (NCHW) with PyTorch's parameter layouts and initialisation.
import type { Tensor } from '../torch/index.js';
import { conv2d, convTranspose2d } from '../torch/index.js';
import { kaimingUniform_ } from './init.js';
import { initBiasFromWeight } from './linear.js';
import type { FactoryOptions } from './module.js';
import { Module, emptyTensor } from './module.js';

/** A size per spatial dim, or one for both (PyTorch's `_pair`). */
export type Size2 = number | readonly [number, number];

export function pair(v: Size2): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

export interface Conv2dOptions extends FactoryOptions {
  stride?: Size2;
  padding?: Size2;
  dilation?: Size2;
  groups?: number;
  bias?: boolean;
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: Size2;
}

/**
 * What Conv2d and ConvTranspose2d share (PyTorch's _ConvNd): hyperparameters, a weight whose
 * layout depends on the direction, an optional bias, and the kaiming_uniform_(a=sqrt(5)) init.
 */
abstract class ConvNd extends Module<[Tensor], Tensor> {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  protected constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    transposed: boolean,
    { stride = 1, padding = 0, dilation = 1, groups = 1, bias = true, ...factory }: Conv2dOptions,
  ) {
    super();
    const name = this.constructor.name;
    if (inChannels % groups !== 0) throw new RangeError(`${name}: in_channels ${inChannels} must be divisible by groups ${groups}`);
    if (outChannels % groups !== 0) throw new RangeError(`${name}: out_channels ${outChannels} must be divisible by groups ${groups}`);
    this.kernelSize = pair(kernelSize);
    this.stride = pair(stride);
    this.padding = pair(padding);
    this.dilation = pair(dilation);
    this.groups = groups;
    const [a, b] = transposed ? [inChannels, outChannels / groups] : [outChannels, inChannels / groups];
    this.weight = this.registerParameter('weight', emptyTensor([a, b, ...this.kernelSize], factory));
    this.bias = this.registerParameter('bias', bias ? emptyTensor([outChannels], factory) : null);
    this.resetParameters();
  }

  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) initBiasFromWeight(this.bias, this.weight);
  }

  protected override extraRepr(): string {
    const parts = [`${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize.join(', ')}), stride=(${this.stride.join(', ')})`];
    if (this.padding.some((p) => p !== 0)) parts.push(`padding=(${this.padding.join(', ')})`);
    if (this.dilation.some((d) => d !== 1)) parts.push(`dilation=(${this.dilation.join(', ')})`);
    if (this.groups !== 1) parts.push(`groups=${this.groups}`);
    if (this.bias === null) parts.push('bias=False');
    return parts.join(', ');
  }
}

/** nn.Conv2d: weight [out, in/groups, kh, kw]. */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Size2, options: Conv2dOptions = {}) {
    super(inChannels, outChannels, kernelSize, false, options);
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}

/** nn.ConvTranspose2d: weight [in, out/groups, kh, kw]. */
export class ConvTranspose2d extends ConvNd {
  readonly outputPadding: [number, number];

  constructor(inChannels: number, outChannels: number, kernelSize: Size2, { outputPadding = 0, ...options }: ConvTranspose2dOptions = {}) {
    super(inChannels, outChannels, kernelSize, true, options);
    this.outputPadding = pair(outputPadding);
  }

  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding: this.outputPadding,
      groups: this.groups,
      dilation: this.dilation,
    });
  }
}
