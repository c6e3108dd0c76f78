// What the downstream models share: a torchvision ResNet encoder registered as `encoder` (so a
// fine-tuned checkpoint's encoder keys are the torchvision ones under `encoder.`), and linear
// probing: a frozen encoder has no gradients and stays in eval mode (running BN statistics), as
// in the linear-evaluation protocol of MGCA / PRIOR.
import { Module } from '../../nn/index.js';
import type { Tensor } from '../../torch/index.js';
import type { ResNet } from '../resnet/index.js';

export abstract class EncoderModel<Out> extends Module<[Tensor], Out> {
  readonly encoder: ResNet;
  private frozen = false;

  constructor(encoder: ResNet) {
    super();
    this.encoder = this.registerModule('encoder', encoder);
  }

  /** Freezes (linear probing) or unfreezes (full fine-tuning) the encoder. */
  freezeEncoder(frozen = true): this {
    this.frozen = frozen;
    this.encoder.requiresGrad_(!frozen);
    if (frozen) this.encoder.train(false);
    return this;
  }

  get encoderFrozen(): boolean {
    return this.frozen;
  }

  override train(mode = true): this {
    super.train(mode);
    if (this.frozen) this.encoder.train(false);
    return this;
  }

  /** The parameters an optimizer should step: the head's only when the encoder is frozen. */
  trainableParameters(): Tensor[] {
    return this.parameters().filter((p) => p.requiresGrad);
  }
}
