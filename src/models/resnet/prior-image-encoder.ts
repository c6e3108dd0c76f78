// PRIOR's image encoder (spec §1): a 1-channel torchvision ResNet without `fc`, a CLIP attention
// pool over layer4 for the global feature, and layer4 read as local tokens. Module names match
// the original (`encoder.<torchvision keys>`, `atten_pool.*`), so its checkpoints load as is.
import type { StateDict } from '../../nn/index.js';
import type { FactoryOptions } from '../../nn/index.js';
import { Module } from '../../nn/index.js';
import { safetensors } from '../../io/index.js';
import type { Tensor } from '../../torch/index.js';
import { noGrad } from '../../torch/index.js';
import { AttentionPool2d } from './attention-pool.js';
import type { ResNetDepth, ResNetFeatures } from './resnet.js';
import { ResNet } from './resnet.js';

/**
 * How layer4 [B, C, H, W] becomes local tokens [B, H·W, C].
 * - 'faithful': the released code's plain reshape of the NCHW memory, no permute (spec §1.3, bug
 *   B1): token t is the elements [t·C, (t+1)·C) of a sample's (channel, row, col) array. The
 *   released weights were trained with it.
 * - 'spatial': what was intended, one token per position (`flatten(2).transpose(1, 2)`).
 */
export type LocalLayout = 'faithful' | 'spatial';

export function localTokens(layer4: Tensor, layout: LocalLayout = 'faithful'): Tensor {
  const [b, c, h, w] = layer4.shape as [number, number, number, number];
  return layout === 'faithful' ? layer4.reshape(b, h * w, c) : layer4.flatten(2).transpose(1, 2);
}

export interface PriorImageEncoderOptions extends FactoryOptions {
  /** Backbone depth (PRIOR: 50). */
  depth?: ResNetDepth;
  /** Image channels (PRIOR: 1, grayscale). */
  inChannels?: number;
  /** Input side (or [H, W]) the attention pool's positional embedding is sized for (PRIOR: 224). */
  imageSize?: number | readonly [number, number];
  /** Attention pool heads (PRIOR: 8). */
  numHeads?: number;
  localLayout?: LocalLayout;
}

export interface PriorImageFeatures {
  /** The attention-pooled feature [B, globalWidth]. */
  global: Tensor;
  /** layer4 as tokens [B, H·W, localWidth], laid out per {@link LocalLayout}. */
  local: Tensor;
  /** The backbone's stage outputs (the original's `return_features` list, which PRIOR ignores). */
  features: ResNetFeatures;
}

export class PriorImageEncoder extends Module<[Tensor], PriorImageFeatures> {
  readonly encoder: ResNet;
  readonly attenPool: AttentionPool2d;
  readonly localLayout: LocalLayout;
  private readonly grid: [number, number];

  constructor({ depth = 50, inChannels = 1, imageSize = 224, numHeads = 8, localLayout = 'faithful', ...factory }: PriorImageEncoderOptions = {}) {
    super();
    this.encoder = this.registerModule('encoder', new ResNet(depth, { inChannels, numClasses: null, ...factory }));
    this.grid = this.encoder.featureGrid(imageSize);
    const width = this.encoder.numFeatures;
    this.attenPool = this.registerModule('atten_pool', new AttentionPool2d(this.grid, width, numHeads, factory));
    this.localLayout = localLayout;
  }

  forward(x: Tensor): PriorImageFeatures {
    const features = this.encoder.forwardFeatures(x);
    return { global: this.attenPool.call(features.layer4), local: localTokens(features.layer4, this.localLayout), features };
  }

  /** The global feature width (the original's `get_width`). */
  width(): number {
    return this.globalWidth();
  }

  globalWidth(): number {
    return this.attenPool.cProj.outFeatures;
  }

  localWidth(): number {
    return this.encoder.numFeatures;
  }

  /** [H, W] of layer4 for the configured image size ([7, 7] at 224; the original hard-codes it). */
  lastSpatialInfo(): [number, number] {
    return [...this.grid];
  }

  name(): string {
    return `resnet${this.encoder.depth}`;
  }

  /**
   * Loads a backbone checkpoint converted to safetensors (spec §12.1, `prior_resnet50.pt`:
   * torchvision keys, conv1 with this encoder's input channels, no `fc`) strictly into `encoder`.
   */
  loadBackbone(file: string): void {
    const { tensors } = safetensors.load(file);
    try {
      this.encoder.loadStateDict(tensors);
    } catch (e) {
      throw new Error(`${file}: not a ${this.name()} backbone for ${this.encoder.inChannels} channel(s): ${(e as Error).message}`);
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }
}

/**
 * Adapts torchvision ImageNet weights to PRIOR's grayscale backbone (spec §1.1): conv1's weight
 * [64, 3, 7, 7] is summed (not averaged) over its input channels to [64, 1, 7, 7], and `fc.*` is
 * dropped. The other entries are passed through (same tensors).
 */
export function grayscaleBackboneStateDict(stateDict: StateDict): StateDict {
  const conv1 = stateDict.get('conv1.weight');
  if (conv1 === undefined) throw new Error(`grayscaleBackboneStateDict: no 'conv1.weight' in the state dict`);
  if (conv1.dim() !== 4 || conv1.size(1) !== 3) {
    throw new RangeError(`grayscaleBackboneStateDict: 'conv1.weight' must be [out, 3, kh, kw] (RGB), got [${conv1.shape.join(', ')}]`);
  }
  const out: StateDict = new Map();
  for (const [key, t] of stateDict) {
    if (key === 'fc.weight' || key === 'fc.bias') continue;
    out.set(key, key === 'conv1.weight' ? noGrad(() => t.sum([1], true)) : t);
  }
  return out;
}
