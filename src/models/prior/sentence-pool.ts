// SentenceAttentionPool (PRIOR spec §4.1, `global_text_attention`): a report's global text
// embedding is the attention output of its mean sentence over [mean; sentences], without
// positional embedding. The original runs one sample at a time; here a key-padding mask
// keeps each sample's padded rows out of both the mean and the attention.
import type { Tensor } from '../../torch/index.js';
import { cat, onesLike } from '../../torch/index.js';
import type { FactoryOptions } from '../../nn/index.js';
import { Linear, Module } from '../../nn/index.js';
import { firstTokenAttention } from '../resnet/attention-pool.js';

export class SentenceAttentionPool extends Module<[Tensor, Tensor], Tensor> {
  // CLIP's AttentionPool2d registration order (k before q), which the original copies.
  readonly kProj: Linear;
  readonly qProj: Linear;
  readonly vProj: Linear;
  readonly cProj: Linear;

  constructor(
    readonly dim: number,
    readonly numHeads: number,
    factory: FactoryOptions = {},
  ) {
    super();
    if (dim % numHeads !== 0) throw new RangeError(`SentenceAttentionPool: dim ${dim} is not divisible by ${numHeads} heads`);
    this.kProj = this.registerModule('k_proj', new Linear(dim, dim, factory));
    this.qProj = this.registerModule('q_proj', new Linear(dim, dim, factory));
    this.vProj = this.registerModule('v_proj', new Linear(dim, dim, factory));
    this.cProj = this.registerModule('c_proj', new Linear(dim, dim, factory));
  }

  /** `sentences` [B, T, D] with bool `mask` [B, T] (true = a real sentence) → [B, D]. */
  forward(sentences: Tensor, mask: Tensor): Tensor {
    if (sentences.dim() !== 3 || sentences.size(2) !== this.dim) {
      throw new RangeError(`SentenceAttentionPool: expected sentences [B, T, ${this.dim}], got [${sentences.shape.join(', ')}]`);
    }
    const [batch, rows] = sentences.shape as [number, number, number];
    if (mask.dtype !== 'bool' || mask.dim() !== 2 || mask.size(0) !== batch || mask.size(1) !== rows) {
      throw new RangeError(`SentenceAttentionPool: mask must be bool [${batch}, ${rows}], got ${mask.dtype} [${mask.shape.join(', ')}]`);
    }
    const weights = mask.unsqueeze(-1).to(sentences.dtype);
    const mean = sentences.mul(weights).sum([1], true).div(weights.sum([1], true).clampMin(1));
    const tokens = cat([mean, sentences], 1);
    const keyMask = cat([onesLike(mask.narrow(1, 0, 1)), mask], 1);
    return firstTokenAttention(this, tokens, this.numHeads, keyMask);
  }

  protected override extraRepr(): string {
    return `dim=${this.dim}, heads=${this.numHeads}`;
  }
}
