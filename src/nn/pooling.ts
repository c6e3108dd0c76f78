// 2-D pooling over NCHW (or CHW) inputs.
import type { Tensor } from '../torch/index.js';
import { adaptiveAvgPool2d, maxPool2d } from '../torch/index.js';
import type { Size2 } from './conv.js';
import { pair } from './conv.js';
import { Module } from './module.js';

export interface MaxPool2dOptions {
  /** Defaults to the kernel size, as PyTorch. */
  stride?: Size2;
  padding?: Size2;
  dilation?: Size2;
  ceilMode?: boolean;
}

export class MaxPool2d extends Module<[Tensor], Tensor> {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;

  constructor(kernelSize: Size2, { stride, padding = 0, dilation = 1, ceilMode = false }: MaxPool2dOptions = {}) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = pair(stride ?? kernelSize);
    this.padding = pair(padding);
    this.dilation = pair(dilation);
    this.ceilMode = ceilMode;
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding, dilation: this.dilation, ceilMode: this.ceilMode });
  }

  protected override extraRepr(): string {
    return `kernel_size=(${this.kernelSize.join(', ')}), stride=(${this.stride.join(', ')}), padding=(${this.padding.join(', ')})`;
  }
}

/** Average pooling to a fixed output size (e.g. 1 for global pooling). */
export class AdaptiveAvgPool2d extends Module<[Tensor], Tensor> {
  readonly outputSize: [number, number];

  constructor(outputSize: Size2) {
    super();
    this.outputSize = pair(outputSize);
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }

  protected override extraRepr(): string {
    return `output_size=(${this.outputSize.join(', ')})`;
  }
}
