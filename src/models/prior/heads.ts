// PRIOR's small heads (spec §4.3, §4.4): the SimSiam predictor and the N(0, fan_in^-1/2)
// initialisation of the projections.
import type { FactoryOptions } from '../../nn/index.js';
import { Linear, ReLU, Sequential, init } from '../../nn/index.js';

/** Linear(dim→hidden) → ReLU → Linear(hidden→dim), keys `0` and `2`: shared by both directions of the local image loss. */
export class Predictor extends Sequential {
  constructor(dim: number, hidden: number, factory: FactoryOptions = {}) {
    super(new Linear(dim, hidden, factory), new ReLU(), new Linear(hidden, dim, factory));
  }
}

/** Redraws `linear`'s weight from N(0, 1/in_features) (bias untouched), as PRIOR initialises its projections and predictor[0]. */
export function normalProjectionInit<L extends Linear>(linear: L): L {
  init.normal_(linear.weight, 0, linear.inFeatures ** -0.5);
  return linear;
}
