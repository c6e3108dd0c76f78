// Upsample: F.interpolate as a module.
import type { InterpolateOptions, Tensor } from '../torch/index.js';
import { interpolate } from '../torch/index.js';
import { Module } from './module.js';

export type UpsampleOptions = InterpolateOptions;

/** Resizes NCHW input by `size` or `scaleFactor` (exactly one), mode 'nearest' by default. */
export class Upsample extends Module<[Tensor], Tensor> {
  readonly options: Readonly<UpsampleOptions>;

  constructor(options: UpsampleOptions) {
    super();
    if ((options.size === undefined) === (options.scaleFactor === undefined)) {
      throw new TypeError('Upsample: give exactly one of size and scaleFactor');
    }
    this.options = { ...options };
  }

  forward(x: Tensor): Tensor {
    return interpolate(x, this.options);
  }

  protected override extraRepr(): string {
    const { size, scaleFactor, mode = 'nearest' } = this.options;
    return `${size !== undefined ? `size=${String(size)}` : `scale_factor=${String(scaleFactor)}`}, mode='${mode}'`;
  }
}
