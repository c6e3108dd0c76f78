// torchvision's ResNet (v1.5: the stride sits on the 3x3 conv of a Bottleneck) with its module
// names, so torchvision state dicts (`conv1`, `bn1`, `layer1.0.conv1`, `layer1.0.downsample.0`,
// `fc`) load unchanged. Construction and initialisation follow torchvision's order (each
// block's downsample is built before the block; then kaiming_normal_ fan_out over `modules()`).
import type { Tensor } from '../../torch/index.js';
import { relu } from '../../torch/index.js';
import type { FactoryOptions } from '../../nn/index.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, Module, Sequential, init } from '../../nn/index.js';

/** The depths torchvision defines with these block types. */
export type ResNetDepth = 18 | 34 | 50;

export interface ResNetOptions extends FactoryOptions {
  /** Image channels of conv1 (3 for RGB, 1 for PRIOR's grayscale X-rays). */
  inChannels?: number;
  /** Classes of the `fc` head; null leaves `fc` out (torchvision's `fc = Identity()`: no keys). */
  numClasses?: number | null;
}

/** Every stage's output, shallowest first (the stem is conv1 → bn1 → relu, before the max pool). */
export interface ResNetFeatures {
  stem: Tensor;
  layer1: Tensor;
  layer2: Tensor;
  layer3: Tensor;
  layer4: Tensor;
}

/** A residual block, as a stage (Sequential) chains them. */
type BlockModule = Module<[Tensor], Tensor>;

interface BlockType {
  /** Output channels per `planes`. */
  expansion: number;
  create(inplanes: number, planes: number, stride: number, downsample: Sequential | null, factory: FactoryOptions): BlockModule;
}

function conv3x3(inPlanes: number, outPlanes: number, stride: number, factory: FactoryOptions): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 3, { stride, padding: 1, bias: false, ...factory });
}

function conv1x1(inPlanes: number, outPlanes: number, stride: number, factory: FactoryOptions): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false, ...factory });
}

/** relu(branch(x) + identity), the identity downsampled when the shape changes. */
function residual(x: Tensor, branch: Tensor, downsample: Sequential | null): Tensor {
  return relu(branch.add(downsample ? downsample.call(x) : x));
}

/** Two 3x3 convs (ResNet-18/34). */
export class BasicBlock extends Module<[Tensor], Tensor> {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;

  constructor(inplanes: number, planes: number, stride = 1, downsample: Sequential | null = null, factory: FactoryOptions = {}) {
    super();
    this.conv1 = this.registerModule('conv1', conv3x3(inplanes, planes, stride, factory));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes, factory));
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes, 1, factory));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes, factory));
    this.downsample = this.registerModule('downsample', downsample);
  }

  forward(x: Tensor): Tensor {
    const h = relu(this.bn1.call(this.conv1.call(x)));
    return residual(x, this.bn2.call(this.conv2.call(h)), this.downsample);
  }
}

/** 1x1 → 3x3 (strided, v1.5) → 1x1 expanding by 4 (ResNet-50). */
export class Bottleneck extends Module<[Tensor], Tensor> {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly downsample: Sequential | null;

  constructor(inplanes: number, planes: number, stride = 1, downsample: Sequential | null = null, factory: FactoryOptions = {}) {
    super();
    const width = planes; // groups 1, base width 64
    this.conv1 = this.registerModule('conv1', conv1x1(inplanes, width, 1, factory));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(width, factory));
    this.conv2 = this.registerModule('conv2', conv3x3(width, width, stride, factory));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(width, factory));
    this.conv3 = this.registerModule('conv3', conv1x1(width, planes * Bottleneck.expansion, 1, factory));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d(planes * Bottleneck.expansion, factory));
    this.downsample = this.registerModule('downsample', downsample);
  }

  forward(x: Tensor): Tensor {
    let h = relu(this.bn1.call(this.conv1.call(x)));
    h = relu(this.bn2.call(this.conv2.call(h)));
    return residual(x, this.bn3.call(this.conv3.call(h)), this.downsample);
  }
}

const BLOCKS: Record<'basic' | 'bottleneck', BlockType> = {
  basic: { expansion: BasicBlock.expansion, create: (i, p, s, d, f) => new BasicBlock(i, p, s, d, f) },
  bottleneck: { expansion: Bottleneck.expansion, create: (i, p, s, d, f) => new Bottleneck(i, p, s, d, f) },
};

const ARCHS: Record<ResNetDepth, { block: keyof typeof BLOCKS; layers: [number, number, number, number] }> = {
  18: { block: 'basic', layers: [2, 2, 2, 2] },
  34: { block: 'basic', layers: [3, 4, 6, 3] },
  50: { block: 'bottleneck', layers: [3, 4, 6, 3] },
};

/** Output side of a conv or pool along one axis (floor mode). */
function convOut(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

export class ResNet extends Module<[Tensor], Tensor> {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly maxpool: MaxPool2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly fc: Linear | null;
  /** Channels of layer4's output (512 × block expansion): the pooled feature width. */
  readonly numFeatures: number;
  readonly inChannels: number;

  constructor(
    readonly depth: ResNetDepth,
    { inChannels = 3, numClasses = 1000, ...factory }: ResNetOptions = {},
  ) {
    super();
    const arch = ARCHS[depth];
    if (arch === undefined) throw new RangeError(`ResNet: depth must be one of ${Object.keys(ARCHS).join(', ')}, got ${String(depth)}`);
    const block = BLOCKS[arch.block];
    this.inChannels = inChannels;
    this.conv1 = this.registerModule('conv1', new Conv2d(inChannels, 64, 7, { stride: 2, padding: 3, bias: false, ...factory }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(64, factory));
    this.maxpool = this.registerModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 }));
    let inplanes = 64;
    // torchvision's _make_layer: the first block of a stage strides (except layer1) and gets a
    // 1x1 conv + BN downsample when the shape changes; it is constructed before the block.
    const makeLayer = (planes: number, blocks: number, stride: number): Sequential => {
      const out = planes * block.expansion;
      const downsample =
        stride !== 1 || inplanes !== out ? new Sequential(conv1x1(inplanes, out, stride, factory), new BatchNorm2d(out, factory)) : null;
      const layer = new Sequential(block.create(inplanes, planes, stride, downsample, factory));
      inplanes = out;
      for (let i = 1; i < blocks; i++) layer.append(block.create(inplanes, planes, 1, null, factory));
      return layer;
    };
    this.layer1 = this.registerModule('layer1', makeLayer(64, arch.layers[0], 1));
    this.layer2 = this.registerModule('layer2', makeLayer(128, arch.layers[1], 2));
    this.layer3 = this.registerModule('layer3', makeLayer(256, arch.layers[2], 2));
    this.layer4 = this.registerModule('layer4', makeLayer(512, arch.layers[3], 2));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.numFeatures = inplanes;
    this.fc = this.registerModule('fc', numClasses === null ? null : new Linear(inplanes, numClasses, factory));
    for (const m of this.modules()) {
      if (m instanceof Conv2d) init.kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
      else if (m instanceof BatchNorm2d && m.weight && m.bias) {
        init.ones_(m.weight);
        init.zeros_(m.bias);
      }
    }
  }

  /** The stem and the four stages' outputs. */
  forwardFeatures(x: Tensor): ResNetFeatures {
    if (x.dim() !== 4 || x.size(1) !== this.inChannels) {
      throw new RangeError(`ResNet-${this.depth}: expected input [B, ${this.inChannels}, H, W], got [${x.shape.join(', ')}]`);
    }
    const stem = relu(this.bn1.call(this.conv1.call(x)));
    const layer1 = this.layer1.call(this.maxpool.call(stem));
    const layer2 = this.layer2.call(layer1);
    const layer3 = this.layer3.call(layer2);
    const layer4 = this.layer4.call(layer3);
    return { stem, layer1, layer2, layer3, layer4 };
  }

  /** Logits [B, numClasses], or the pooled features [B, numFeatures] without `fc`. */
  forward(x: Tensor): Tensor {
    const pooled = this.avgpool.call(this.forwardFeatures(x).layer4).flatten(1);
    return this.fc ? this.fc.call(pooled) : pooled;
  }

  /** [H, W] of layer4's output for an input of `imageSize` ([H, W] or a square side). */
  featureGrid(imageSize: number | readonly [number, number]): [number, number] {
    const [h, w] = typeof imageSize === 'number' ? [imageSize, imageSize] : imageSize;
    const side = (s: number): number => {
      let out = convOut(convOut(s, 7, 2, 3), 3, 2, 1); // conv1, maxpool
      for (let i = 0; i < 3; i++) out = convOut(out, 3, 2, 1); // the strided 3x3 (or 1x1 downsample) of layers 2-4
      return out;
    };
    return [side(h), side(w)];
  }

  protected override extraRepr(): string {
    return `depth=${this.depth}, in_channels=${this.inChannels}`;
  }
}

export function resnet18(options: ResNetOptions = {}): ResNet {
  return new ResNet(18, options);
}

export function resnet34(options: ResNetOptions = {}): ResNet {
  return new ResNet(34, options);
}

export function resnet50(options: ResNetOptions = {}): ResNet {
  return new ResNet(50, options);
}
