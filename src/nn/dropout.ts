// Dropout: zeroes elements with probability p in train mode and scales the rest by 1/(1-p).
import type { Tensor } from '../torch/index.js';
import { dropout } from '../torch/index.js';
import { Module } from './module.js';

export class Dropout extends Module<[Tensor], Tensor> {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }

  protected override extraRepr(): string {
    return `p=${this.p}`;
  }
}
