// A U-Net decoder over a ResNet encoder's stages, laid out as segmentation_models_pytorch's
// `Unet` (decoder_channels (256, 128, 64, 32, 16), no attention, batch norm): the decoder starts
// from layer4 and, block by block, upsamples x2 (nearest), concatenates the skip (layer3, layer2,
// layer1, stem; none for the last block) and applies two conv3x3-BN-ReLU; a conv3x3 segmentation
// head gives logits at the input resolution. Module names follow smp (`decoder.blocks.N.conv1.0`,
// `segmentation_head.0`), so the structure reads the same as there.
import type { FactoryOptions } from '../../nn/index.js';
import { BatchNorm2d, Conv2d, Module, ModuleList, ReLU, Sequential } from '../../nn/index.js';
import type { Tensor } from '../../torch/index.js';
import { cat, interpolate } from '../../torch/index.js';
import type { ResNet } from '../resnet/index.js';
import { EncoderModel } from './encoder-model.js';

export const UNET_DECODER_CHANNELS = [256, 128, 64, 32, 16] as const;

/** smp's Conv2dReLU: conv (no bias before BN) → BN → ReLU. */
function conv2dRelu(inChannels: number, outChannels: number, factory: FactoryOptions): Sequential {
  return new Sequential(new Conv2d(inChannels, outChannels, 3, { padding: 1, bias: false, ...factory }), new BatchNorm2d(outChannels, factory), new ReLU());
}

export class UnetDecoderBlock extends Module<[Tensor, Tensor | null], Tensor> {
  readonly conv1: Sequential;
  readonly conv2: Sequential;

  constructor(inChannels: number, skipChannels: number, outChannels: number, factory: FactoryOptions = {}) {
    super();
    this.conv1 = this.registerModule('conv1', conv2dRelu(inChannels + skipChannels, outChannels, factory));
    this.conv2 = this.registerModule('conv2', conv2dRelu(outChannels, outChannels, factory));
  }

  forward(x: Tensor, skip: Tensor | null): Tensor {
    let h = interpolate(x, { scaleFactor: 2, mode: 'nearest' });
    if (skip !== null) {
      if (skip.size(2) !== h.size(2) || skip.size(3) !== h.size(3)) {
        // Odd input sides: the upsampled map is one pixel off its skip; match the skip (smp requires sides divisible by 32).
        h = interpolate(h, { size: [skip.size(2), skip.size(3)], mode: 'nearest' });
      }
      h = cat([h, skip], 1);
    }
    return this.conv2.call(this.conv1.call(h));
  }
}

export interface UnetOptions extends FactoryOptions {
  /** Output channels (1 for a binary mask). */
  numClasses?: number;
  decoderChannels?: readonly number[];
}

export class UnetDecoder extends Module<[Tensor[]], Tensor> {
  readonly blocks: ModuleList<UnetDecoderBlock>;

  /** `encoderChannels`: [stem, layer1, layer2, layer3, layer4] widths. */
  constructor(encoderChannels: readonly number[], decoderChannels: readonly number[], factory: FactoryOptions = {}) {
    super();
    if (encoderChannels.length !== 5 || decoderChannels.length !== 5) throw new RangeError(`UnetDecoder: need 5 encoder and 5 decoder widths, got ${encoderChannels.length} and ${decoderChannels.length}`);
    const [head, ...skips] = [...encoderChannels].reverse() as [number, ...number[]];
    const skipChannels = [...skips, 0];
    const inChannels = [head, ...decoderChannels.slice(0, -1)];
    this.blocks = this.registerModule('blocks', new ModuleList(decoderChannels.map((out, i) => new UnetDecoderBlock(inChannels[i]!, skipChannels[i]!, out, factory))));
  }

  /** `features`: [stem, layer1, layer2, layer3, layer4]. */
  forward(features: Tensor[]): Tensor {
    const reversed = [...features].reverse();
    let x = reversed[0]!;
    const skips = reversed.slice(1);
    let i = 0;
    for (const block of this.blocks) {
      x = block.call(x, skips[i] ?? null);
      i++;
    }
    return x;
  }
}

export class ResNetUnet extends EncoderModel<Tensor> {
  readonly decoder: UnetDecoder;
  readonly segmentationHead: Sequential;
  readonly numClasses: number;

  constructor(encoder: ResNet, { numClasses = 1, decoderChannels = UNET_DECODER_CHANNELS, ...factory }: UnetOptions = {}) {
    super(encoder);
    this.numClasses = numClasses;
    const expansion = encoder.numFeatures / 512;
    const encoderChannels = [64, 64 * expansion, 128 * expansion, 256 * expansion, 512 * expansion];
    this.decoder = this.registerModule('decoder', new UnetDecoder(encoderChannels, decoderChannels, factory));
    this.segmentationHead = this.registerModule('segmentation_head', new Sequential(new Conv2d(decoderChannels.at(-1)!, numClasses, 3, { padding: 1, ...factory })));
  }

  /** Mask logits [B, numClasses, H, W] for images [B, C, H, W]. */
  forward(x: Tensor): Tensor {
    const f = this.encoder.forwardFeatures(x);
    let out = this.segmentationHead.call(this.decoder.call([f.stem, f.layer1, f.layer2, f.layer3, f.layer4]));
    if (out.size(2) !== x.size(2) || out.size(3) !== x.size(3)) out = interpolate(out, { size: [x.size(2), x.size(3)], mode: 'bilinear', alignCorners: false });
    return out;
  }
}
