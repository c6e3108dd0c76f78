// Dropout: zeroes elements (or whole channels) with probability p in train mode and scales the
// rest by 1/(1-p).
import type { DeviceLike, Tensor } from '../torch/index.js';
import { bernoulli, dropout, empty } from '../torch/index.js';
import { Module } from './module.js';

/** What Dropout and Dropout2d share: p, its check and the repr. */
abstract class DropoutBase extends Module<[Tensor], Tensor> {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`${this.constructor.name}: p must be in [0, 1], got ${p}`);
  }

  protected override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** Zeroes each element independently (nn.Dropout). */
export class Dropout extends DropoutBase {
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
}

/**
 * Zeroes whole channels of [N, C, H, W] input (nn.Dropout2d): ATen's feature_dropout, with the
 * same [N, C, 1, 1] Bernoulli draw, so seeded masks match PyTorch. A 3D input is [N, C, L], as
 * PyTorch 2.x still reads it (with a deprecation warning).
 */
export class Dropout2d extends DropoutBase {
  forward(x: Tensor): Tensor {
    if (x.dim() !== 3 && x.dim() !== 4) {
      throw new RangeError(`Dropout2d: expected 3D or 4D input, got shape [${x.shape.join(', ')}]`);
    }
    if (!this.training || this.p === 0 || x.numel === 0) return x;
    if (this.p === 1) return x.mul(0);
    const keep = 1 - this.p;
    const noise = empty(x.size(0), x.size(1), ...Array<number>(x.dim() - 2).fill(1), { dtype: x.dtype, device: x.device as DeviceLike });
    return x.mul(bernoulli(noise, keep).div(keep));
  }
}
