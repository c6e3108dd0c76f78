// MultiheadAttention with PyTorch's parameter layout (packed in_proj_weight [3E, E], rows
// q|k|v; out_proj a Linear), so checkpoints load key for key.
import type { Tensor } from '../torch/index.js';
import { multiHeadAttention } from '../torch/index.js';
import { constant_, xavierUniform_ } from './init.js';
import { Linear } from './linear.js';
import type { FactoryOptions } from './module.js';
import { Module, emptyTensor } from './module.js';

export interface MultiheadAttentionOptions extends FactoryOptions {
  /** Dropout on the attention weights in train mode. */
  dropout?: number;
  bias?: boolean;
  /** Inputs and output are [N, L, E] instead of [L, N, E]. */
  batchFirst?: boolean;
}

export interface MultiheadAttentionCallOptions {
  /** [N, S], true = padding, ignored as a key. */
  keyPaddingMask?: Tensor | null;
  /** Return the attention weights too. */
  needWeights?: boolean;
  /** [L, S] or [N*heads, L, S]; bool true = may NOT attend, or an additive float mask. */
  attnMask?: Tensor | null;
  /** Weights averaged over heads [N, L, S], or per head [N, heads, L, S]. */
  averageAttnWeights?: boolean;
  isCausal?: boolean;
}

type AttentionInputs = [query: Tensor, key: Tensor, value: Tensor, options?: MultiheadAttentionCallOptions];

/** nn.MultiheadAttention for equal query/key/value embedding sizes; returns [output, weights or null]. */
export class MultiheadAttention extends Module<AttentionInputs, [Tensor, Tensor | null]> {
  readonly inProjWeight: Tensor;
  readonly inProjBias: Tensor | null;
  readonly outProj: Linear;
  readonly dropout: number;
  readonly batchFirst: boolean;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    { dropout = 0, bias = true, batchFirst = false, ...factory }: MultiheadAttentionOptions = {},
  ) {
    super();
    if (embedDim % numHeads !== 0) throw new RangeError(`MultiheadAttention: embedDim ${embedDim} must be divisible by numHeads ${numHeads}`);
    this.dropout = dropout;
    this.batchFirst = batchFirst;
    // Registration and draw order are PyTorch's: in_proj_* first, out_proj's own Linear init
    // next, then _reset_parameters.
    this.inProjWeight = this.registerParameter('in_proj_weight', emptyTensor([3 * embedDim, embedDim], factory));
    this.inProjBias = this.registerParameter('in_proj_bias', bias ? emptyTensor([3 * embedDim], factory) : null);
    this.outProj = this.registerModule('out_proj', new Linear(embedDim, embedDim, { bias, ...factory }));
    this.resetParameters();
  }

  resetParameters(): void {
    xavierUniform_(this.inProjWeight);
    if (this.inProjBias) constant_(this.inProjBias, 0);
    if (this.outProj.bias) constant_(this.outProj.bias, 0);
  }

  /** Batched [L, N, E] ([N, L, E] with batchFirst) or unbatched [L, E] inputs, as PyTorch. */
  forward(...[query, key, value, options = {}]: AttentionInputs): [Tensor, Tensor | null] {
    const weights = { inProjWeight: this.inProjWeight, inProjBias: this.inProjBias, outProjWeight: this.outProj.weight, outProjBias: this.outProj.bias };
    const common = { dropoutP: this.dropout, training: this.training };
    if (query.dim() === 3) return multiHeadAttention(query, key, value, this.numHeads, weights, { ...options, ...common, batchFirst: this.batchFirst });
    // Unbatched: one sequence as a batch of one (batchFirst does not apply, as in PyTorch).
    const { keyPaddingMask, ...rest } = options;
    const [out, attn] = multiHeadAttention(query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1), this.numHeads, weights, {
      ...rest,
      ...common,
      keyPaddingMask: keyPaddingMask ? keyPaddingMask.unsqueeze(0) : null,
    });
    return [out.squeeze(1), attn ? attn.squeeze(0) : null];
  }

  protected override extraRepr(): string {
    return `embed_dim=${this.embedDim}, num_heads=${this.numHeads}, batch_first=${this.batchFirst}`;
  }
}
