// Image classification on a ResNet encoder: global average pooling of layer4, then one Linear
// layer (`head`) giving logits, read with softmax (single-label) or sigmoid (multi-label) by the
// fine-tuning task. The MGCA / PRIOR linear-classification head.
import type { FactoryOptions } from '../../nn/index.js';
import { Dropout, Linear } from '../../nn/index.js';
import type { Tensor } from '../../torch/index.js';
import type { ResNet } from '../resnet/index.js';
import { EncoderModel } from './encoder-model.js';

export interface ClassifierOptions extends FactoryOptions {
  numClasses: number;
  /** Dropout before the head (default 0). */
  dropout?: number;
}

export class ResNetClassifier extends EncoderModel<Tensor> {
  readonly dropout: Dropout;
  readonly head: Linear;
  readonly numClasses: number;

  constructor(encoder: ResNet, { numClasses, dropout = 0, ...factory }: ClassifierOptions) {
    super(encoder);
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`ResNetClassifier: numClasses must be a positive integer, got ${numClasses}`);
    this.numClasses = numClasses;
    this.dropout = this.registerModule('dropout', new Dropout(dropout));
    this.head = this.registerModule('head', new Linear(encoder.numFeatures, numClasses, factory));
  }

  /** Logits [B, numClasses] for images [B, C, H, W]. */
  forward(x: Tensor): Tensor {
    const layer4 = this.encoder.forwardFeatures(x).layer4;
    return this.head.call(this.dropout.call(layer4.mean([2, 3])));
  }
}
