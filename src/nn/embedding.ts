// Embedding: a lookup table of row vectors indexed by integer ids.
import type { Tensor } from '../torch/index.js';
import { embedding, noGrad } from '../torch/index.js';
import { normal_ } from './init.js';
import type { FactoryOptions } from './module.js';
import { Module, emptyTensor } from './module.js';

export interface EmbeddingOptions extends FactoryOptions {
  /** This row is zeroed at init and gets no gradient (negative counts from the end). */
  paddingIdx?: number | null;
}

/** nn.Embedding: weight [numEmbeddings, embeddingDim] ~ N(0, 1). */
export class Embedding extends Module<[Tensor], Tensor> {
  readonly weight: Tensor;
  readonly paddingIdx: number | null;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    { paddingIdx = null, ...factory }: EmbeddingOptions = {},
  ) {
    super();
    if (paddingIdx !== null && (paddingIdx >= numEmbeddings || paddingIdx < -numEmbeddings)) {
      throw new RangeError(`Embedding: paddingIdx ${paddingIdx} is outside [${-numEmbeddings}, ${numEmbeddings})`);
    }
    this.paddingIdx = paddingIdx !== null && paddingIdx < 0 ? paddingIdx + numEmbeddings : paddingIdx;
    this.weight = this.registerParameter('weight', emptyTensor([numEmbeddings, embeddingDim], factory));
    this.resetParameters();
  }

  resetParameters(): void {
    normal_(this.weight);
    const row = this.paddingIdx;
    if (row !== null) noGrad(() => this.weight.select(0, row).fill_(0));
  }

  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight, { paddingIdx: this.paddingIdx });
  }

  protected override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}
