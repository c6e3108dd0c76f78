// CLIP's AttentionPool2d (PRIOR spec §1.2): the mean of a feature map's spatial tokens attends
// over [mean, tokens] + a learned positional embedding; its output is the global feature.
import type { Tensor } from '../../torch/index.js';
import { cat, randn, scaledDotProductAttention } from '../../torch/index.js';
import type { FactoryOptions } from '../../nn/index.js';
import { Linear, Module } from '../../nn/index.js';

export interface AttentionPool2dOptions extends FactoryOptions {
  /** Width of `c_proj`'s output; defaults to the input width. */
  outputDim?: number;
}

/** The four projections of a CLIP-style attention pool. */
export interface PoolProjections {
  qProj: Linear;
  kProj: Linear;
  vProj: Linear;
  cProj: Linear;
}

/**
 * Multi-head attention of token 0 over all `tokens` [B, S, C], then c_proj: [B, C_out]. Only
 * output token 0 is kept by CLIP-style pools, so only query 0 is projected. `keyMask` bool
 * [B, S] (true = may attend) leaves padding out.
 */
export function firstTokenAttention(p: PoolProjections, tokens: Tensor, numHeads: number, keyMask?: Tensor): Tensor {
  const [batch, , width] = tokens.shape as [number, number, number];
  const heads = (t: Tensor): Tensor => t.reshape(batch, -1, numHeads, width / numHeads).transpose(1, 2);
  const q = heads(p.qProj.call(tokens.narrow(1, 0, 1)));
  const attnMask = keyMask ? keyMask.reshape(batch, 1, 1, -1) : null;
  const attended = scaledDotProductAttention(q, heads(p.kProj.call(tokens)), heads(p.vProj.call(tokens)), { attnMask });
  return p.cProj.call(attended.transpose(1, 2).reshape(batch, width));
}

export class AttentionPool2d extends Module<[Tensor], Tensor> {
  /** [H·W + 1, width]: one row per token, the pooled (mean) token first. */
  readonly positionalEmbedding: Tensor;
  // CLIP's registration order (k before q): it fixes the state dict order and the init draws.
  readonly kProj: Linear;
  readonly qProj: Linear;
  readonly vProj: Linear;
  readonly cProj: Linear;
  readonly grid: [number, number];
  readonly headDim: number;

  /** `grid` is the [H, W] of the feature maps it will pool (a number for a square one). */
  constructor(
    grid: number | readonly [number, number],
    readonly width: number,
    readonly numHeads: number,
    { outputDim = width, ...factory }: AttentionPool2dOptions = {},
  ) {
    super();
    if (width % numHeads !== 0) throw new RangeError(`AttentionPool2d: width ${width} is not divisible by ${numHeads} heads`);
    this.grid = typeof grid === 'number' ? [grid, grid] : [grid[0], grid[1]];
    this.headDim = width / numHeads;
    const { dtype, device } = factory;
    const pos = randn(this.grid[0] * this.grid[1] + 1, width, { ...(dtype ? { dtype } : {}), ...(device ? { device } : {}) });
    this.positionalEmbedding = this.registerParameter('positional_embedding', pos.div(Math.sqrt(width)).detach());
    this.kProj = this.registerModule('k_proj', new Linear(width, width, factory));
    this.qProj = this.registerModule('q_proj', new Linear(width, width, factory));
    this.vProj = this.registerModule('v_proj', new Linear(width, width, factory));
    this.cProj = this.registerModule('c_proj', new Linear(width, outputDim, factory));
  }

  /** [B, width, H, W] → [B, outputDim]. */
  forward(x: Tensor): Tensor {
    const [h, w] = this.grid;
    if (x.dim() !== 4 || x.size(1) !== this.width || x.size(2) !== h || x.size(3) !== w) {
      throw new RangeError(`AttentionPool2d: expected input [B, ${this.width}, ${h}, ${w}] (the grid it was built for), got [${x.shape.join(', ')}]`);
    }
    const spatial = x.flatten(2).transpose(1, 2); // [B, H·W, C], row-major positions
    const tokens = cat([spatial.mean([1], true), spatial], 1).add(this.positionalEmbedding);
    return firstTokenAttention(this, tokens, this.numHeads);
  }

  protected override extraRepr(): string {
    return `grid=(${this.grid.join(', ')}), width=${this.width}, heads=${this.numHeads}, output_dim=${this.cProj.outFeatures}`;
  }
}
