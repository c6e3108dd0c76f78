// LocalCrossAttention (PRIOR spec §4.2, `local_cross_attention`): single-head, unnormalised
// sigmoid cross-attention between a sample's image tokens and its sentences, both ways. The
// original runs one sample at a time; here the batch runs at once and padded sentence rows
// contribute nothing (their attention weights and context rows are zero).
import type { Tensor } from '../../torch/index.js';
import type { FactoryOptions } from '../../nn/index.js';
import { Linear, Module } from '../../nn/index.js';

export interface LocalCrossAttentionOutput {
  /** C2 [B, N, D]: each image token attending to the sentences (the original's "text_to_local_image_embed"). */
  imageContext: Tensor;
  /** A2 [B, N, T]: sigmoid weights of image tokens over sentences; 0 for padded sentences. */
  imageAttention: Tensor;
  /** C1 [B, T, D]: each sentence attending to the image tokens; zero rows for padded sentences. */
  sentenceContext: Tensor;
  /** A1 [B, T, N]: sigmoid weights of sentences over image tokens; zero rows for padded sentences. */
  sentenceAttention: Tensor;
}

export class LocalCrossAttention extends Module<[Tensor, Tensor, Tensor], LocalCrossAttentionOutput> {
  // Image side (1) and text side (2), in the original's order.
  readonly query1: Linear;
  readonly key1: Linear;
  readonly value1: Linear;
  readonly query2: Linear;
  readonly key2: Linear;
  readonly value2: Linear;

  constructor(
    readonly dim: number,
    factory: FactoryOptions = {},
  ) {
    super();
    this.query1 = this.registerModule('query1', new Linear(dim, dim, factory));
    this.key1 = this.registerModule('key1', new Linear(dim, dim, factory));
    this.value1 = this.registerModule('value1', new Linear(dim, dim, factory));
    this.query2 = this.registerModule('query2', new Linear(dim, dim, factory));
    this.key2 = this.registerModule('key2', new Linear(dim, dim, factory));
    this.value2 = this.registerModule('value2', new Linear(dim, dim, factory));
  }

  /** `image` [B, N, D], `sentences` [B, T, D], bool `mask` [B, T] (true = a real sentence). */
  forward(image: Tensor, sentences: Tensor, mask: Tensor): LocalCrossAttentionOutput {
    const d = this.dim;
    if (image.dim() !== 3 || image.size(2) !== d || sentences.dim() !== 3 || sentences.size(2) !== d || sentences.size(0) !== image.size(0)) {
      throw new RangeError(
        `LocalCrossAttention: expected image [B, N, ${d}] and sentences [B, T, ${d}], got [${image.shape.join(', ')}] and [${sentences.shape.join(', ')}]`,
      );
    }
    if (mask.dtype !== 'bool' || mask.dim() !== 2 || mask.size(0) !== sentences.size(0) || mask.size(1) !== sentences.size(1)) {
      throw new RangeError(`LocalCrossAttention: mask must be bool [${sentences.size(0)}, ${sentences.size(1)}], got ${mask.dtype} [${mask.shape.join(', ')}]`);
    }
    const scale = 1 / Math.sqrt(d);
    const valid = mask.to(image.dtype);
    const sentenceAttention = this.query2
      .call(sentences)
      .matmul(this.key1.call(image).transpose(1, 2))
      .mul(scale)
      .sigmoid()
      .mul(valid.unsqueeze(2));
    const imageAttention = this.query1
      .call(image)
      .matmul(this.key2.call(sentences).transpose(1, 2))
      .mul(scale)
      .sigmoid()
      .mul(valid.unsqueeze(1));
    return {
      imageContext: imageAttention.matmul(this.value2.call(sentences)),
      imageAttention,
      sentenceContext: sentenceAttention.matmul(this.value1.call(image)),
      sentenceAttention,
    };
  }

  protected override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
