// PRIOR's image decoder (spec §6.1, stage 3): the local image tokens (channel-dropped) and their
// sentence context are read back as maps, concatenated and upsampled by 5 conv blocks to the
// input size; the reconstruction is an L1 regression of the normalised input image.
import type { FactoryOptions } from '../../nn/index.js';
import { BatchNorm2d, Conv2d, Dropout2d, Module, ModuleList, ReLU, Sequential } from '../../nn/index.js';
import type { Tensor } from '../../torch/index.js';
import { cat, interpolate, l1Loss } from '../../torch/index.js';

/**
 * B2: how tokens [B, N, D] become maps [B, D, h, w] (N = h·w).
 * - 'faithful': a plain reshape of the token-major buffer, as released: channel j holds the
 *   N consecutive values j·N ... j·N+N-1 (spec §14: m[c,h,w] = E[⌊k/D⌋][k mod D], k = c·N + h·w' + w).
 * - 'spatial': token t is position t (transpose, then reshape), what was intended.
 */
export type DecoderMapLayout = 'faithful' | 'spatial';

export function tokensToMap(tokens: Tensor, grid: readonly [number, number], layout: DecoderMapLayout = 'faithful'): Tensor {
  const [h, w] = grid;
  if (tokens.dim() !== 3 || tokens.size(1) !== h * w) {
    throw new RangeError(`tokensToMap: expected tokens [B, ${h * w}, D] for a ${h}x${w} grid, got [${tokens.shape.join(', ')}]`);
  }
  const [b, , d] = tokens.shape as [number, number, number];
  return layout === 'faithful' ? tokens.reshape(b, d, h, w) : tokens.transpose(1, 2).reshape(b, d, h, w);
}

/** Conv3x3 (no bias) → BatchNorm → ReLU, as a Sequential: keys `0.weight`, `1.*` (smp's Conv2dReLU). */
function convBnRelu(inChannels: number, outChannels: number, factory: FactoryOptions): Sequential {
  return new Sequential(new Conv2d(inChannels, outChannels, 3, { padding: 1, bias: false, ...factory }), new BatchNorm2d(outChannels, factory), new ReLU());
}

/** Nearest upsampling to `size`, then two conv-BN-ReLU (no skip connection, no attention). */
export class DecoderBlock extends Module<[Tensor, readonly [number, number]], Tensor> {
  readonly conv1: Sequential;
  readonly conv2: Sequential;

  constructor(inChannels: number, outChannels: number, factory: FactoryOptions = {}) {
    super();
    this.conv1 = this.registerModule('conv1', convBnRelu(inChannels, outChannels, factory));
    this.conv2 = this.registerModule('conv2', convBnRelu(outChannels, outChannels, factory));
  }

  forward(x: Tensor, size: readonly [number, number]): Tensor {
    return this.conv2.call(this.conv1.call(interpolate(x, { size, mode: 'nearest' })));
  }
}

export interface ImageDecoderOptions extends FactoryOptions {
  /** [h, w] of the token grid (layer4's; paper 7×7). The output is 32 times larger. */
  grid: readonly [number, number];
  /** D, the token width; the decoder input has 2D channels (image map + text map). */
  embedDim: number;
  /** Output channels (1: grayscale). */
  outChannels?: number;
  /** Dropout2d probability on the image map (paper 0.5). */
  imageDropout?: number;
  mapLayout?: DecoderMapLayout;
}

/** 5 doublings: the ResNet's total stride of 32. */
const BLOCKS = 5;

/**
 * Channels per block output for embedding width D: D, D/2, D/4, D/8, D/16 (paper: 768 ... 48), the
 * paper's 1536→768→384→192→96→48 scaled with D.
 */
export function decoderChannels(embedDim: number): number[] {
  if (embedDim % 16 !== 0) throw new RangeError(`ImageDecoder: embedDim must be a multiple of 16, got ${embedDim}`);
  return Array.from({ length: BLOCKS }, (_, i) => embedDim / 2 ** i);
}

export class ImageDecoder extends Module<[Tensor, Tensor], Tensor> {
  readonly blocks: ModuleList<DecoderBlock>;
  readonly outputHead: Sequential;
  readonly imageDropout: Dropout2d;
  readonly grid: [number, number];
  readonly embedDim: number;
  readonly mapLayout: DecoderMapLayout;

  constructor({ grid, embedDim, outChannels = 1, imageDropout = 0.5, mapLayout = 'faithful', ...factory }: ImageDecoderOptions) {
    super();
    this.grid = [grid[0], grid[1]];
    this.embedDim = embedDim;
    this.mapLayout = mapLayout;
    const channels = decoderChannels(embedDim);
    const inputs = [2 * embedDim, ...channels.slice(0, -1)];
    this.blocks = this.registerModule('blocks', new ModuleList(channels.map((c, i) => new DecoderBlock(inputs[i]!, c, factory))));
    this.outputHead = this.registerModule('output_head', new Sequential(new Conv2d(channels.at(-1)!, outChannels, 3, { padding: 1, ...factory })));
    this.imageDropout = this.registerModule('image_dropout', new Dropout2d(imageDropout));
  }

  /** [H, W] of the reconstruction: the grid times 32. */
  outputSize(): [number, number] {
    return [this.grid[0] * 2 ** BLOCKS, this.grid[1] * 2 ** BLOCKS];
  }

  /** Image tokens and their text context, both [B, N, D] → the reconstruction [B, outChannels, 32h, 32w]. */
  forward(imageTokens: Tensor, textContext: Tensor): Tensor {
    if (imageTokens.dim() !== 3 || imageTokens.size(2) !== this.embedDim || textContext.shape.join() !== imageTokens.shape.join()) {
      throw new RangeError(
        `ImageDecoder: expected image tokens and text context of the same shape [B, N, ${this.embedDim}], got [${imageTokens.shape.join(', ')}] and [${textContext.shape.join(', ')}]`,
      );
    }
    const imageMap = this.imageDropout.call(tokensToMap(imageTokens, this.grid, this.mapLayout));
    let x = cat([imageMap, tokensToMap(textContext, this.grid, this.mapLayout)], 1);
    let [h, w] = this.grid;
    for (const block of this.blocks) {
      h *= 2;
      w *= 2;
      x = block.call(x, [h, w]);
    }
    return this.outputHead.call(x);
  }
}

/**
 * rec_image_loss: mean |x̂ − x| against the normalised input image. A target of another size is
 * resized bilinearly with align_corners (the original's fallback; it never fires when
 * imageSize = 32·grid).
 */
export function reconstructionLoss(reconstruction: Tensor, image: Tensor): Tensor {
  const [, , h, w] = reconstruction.shape as [number, number, number, number];
  const target = image.size(2) === h && image.size(3) === w ? image : interpolate(image, { size: [h, w], mode: 'bilinear', alignCorners: true });
  return l1Loss(reconstruction, target);
}
