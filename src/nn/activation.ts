// Elementwise activations as modules (no parameters).
import type { Tensor } from '../torch/index.js';
import { gelu, relu, sigmoid } from '../torch/index.js';
import { Module } from './module.js';

export class ReLU extends Module<[Tensor], Tensor> {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

export interface GELUOptions {
  /** 'tanh' uses the tanh approximation, as PyTorch's `approximate='tanh'`. */
  approximate?: 'none' | 'tanh';
}

export class GELU extends Module<[Tensor], Tensor> {
  readonly approximate: 'none' | 'tanh';

  constructor({ approximate = 'none' }: GELUOptions = {}) {
    super();
    this.approximate = approximate;
  }

  forward(x: Tensor): Tensor {
    return gelu(x, { approximate: this.approximate });
  }

  protected override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

export class Sigmoid extends Module<[Tensor], Tensor> {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/** Returns its input (a placeholder, e.g. for a removed classifier head). */
export class Identity extends Module<[Tensor], Tensor> {
  forward(x: Tensor): Tensor {
    return x;
  }
}
