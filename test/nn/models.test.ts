// Composite models built the same way as in scripts/gen_fixtures_nn.py: a mini ResNet
// (Sequential stages of blocks with BatchNorm and a downsample, ModuleList heads) and a tiny
// transformer encoder (Embedding, MultiheadAttention, LayerNorm, ModuleDict). Their state dict
// keys, seeded init, train/eval forwards and running statistics must match PyTorch's.
import { describe, expect, it } from 'vitest';
import { nn } from '../../src/index.js';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { loadFixture, replayModuleCase } from './fixtures.js';
import type { ModuleCase } from './fixtures.js';

class BasicBlock extends nn.Module<[Tensor], Tensor> {
  readonly conv1: nn.Conv2d;
  readonly bn1: nn.BatchNorm2d;
  readonly relu: nn.ReLU;
  readonly conv2: nn.Conv2d;
  readonly bn2: nn.BatchNorm2d;
  readonly downsample: nn.Sequential | null;

  constructor(cin: number, cout: number, stride: number) {
    super();
    this.conv1 = this.registerModule('conv1', new nn.Conv2d(cin, cout, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new nn.BatchNorm2d(cout));
    this.relu = this.registerModule('relu', new nn.ReLU());
    this.conv2 = this.registerModule('conv2', new nn.Conv2d(cout, cout, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new nn.BatchNorm2d(cout));
    const needsDown = stride !== 1 || cin !== cout;
    this.downsample = this.registerModule(
      'downsample',
      needsDown ? new nn.Sequential(new nn.Conv2d(cin, cout, 1, { stride, bias: false }), new nn.BatchNorm2d(cout)) : null,
    );
  }

  forward(x: Tensor): Tensor {
    const out = this.bn2.call(this.conv2.call(this.relu.call(this.bn1.call(this.conv1.call(x)))));
    const identity = this.downsample ? this.downsample.call(x) : x;
    return this.relu.call(out.add(identity));
  }
}

class MiniResNet extends nn.Module<[Tensor], Tensor> {
  // Field initializers run in declaration order: PyTorch's registration (and init) order.
  readonly conv1 = this.registerModule('conv1', new nn.Conv2d(1, 8, 7, { stride: 2, padding: 3, bias: false }));
  readonly bn1 = this.registerModule('bn1', new nn.BatchNorm2d(8));
  readonly relu = this.registerModule('relu', new nn.ReLU());
  readonly maxpool = this.registerModule('maxpool', new nn.MaxPool2d(3, { stride: 2, padding: 1 }));
  readonly layer1 = this.registerModule('layer1', new nn.Sequential(new BasicBlock(8, 8, 1), new BasicBlock(8, 8, 1)));
  readonly layer2 = this.registerModule('layer2', new nn.Sequential(new BasicBlock(8, 16, 2)));
  readonly avgpool = this.registerModule('avgpool', new nn.AdaptiveAvgPool2d(1));
  readonly fc = this.registerModule('fc', new nn.Linear(16, 5));
  readonly heads = this.registerModule('heads', new nn.ModuleList([new nn.Linear(5, 2), new nn.Linear(5, 3)]));

  forward(x: Tensor): Tensor {
    let h = this.maxpool.call(this.relu.call(this.bn1.call(this.conv1.call(x))));
    h = this.layer2.call(this.layer1.call(h));
    h = this.fc.call(this.avgpool.call(h).flatten(1));
    return torch.cat([...this.heads].map((head) => head.call(h)), 1);
  }
}

class TinyEncoder extends nn.Module<[Tensor], [Tensor, Tensor | null]> {
  readonly embed = this.registerModule('embed', new nn.Embedding(20, 8, { paddingIdx: 0 }));
  readonly attn = this.registerModule('attn', new nn.MultiheadAttention(8, 2, { batchFirst: true }));
  readonly norm1 = this.registerModule('norm1', new nn.LayerNorm(8));
  readonly mlp = this.registerModule('mlp', new nn.Sequential(new nn.Linear(8, 16), new nn.GELU(), new nn.Dropout(0.0), new nn.Linear(16, 8)));
  readonly norm2 = this.registerModule('norm2', new nn.LayerNorm(8));
  readonly proj = this.registerModule('proj', new nn.ModuleDict<nn.Linear>({ image: new nn.Linear(8, 4), text: new nn.Linear(8, 4, { bias: false }) }));

  forward(ids: Tensor): [Tensor, Tensor | null] {
    let x = this.embed.call(ids);
    const [a, w] = this.attn.call(x, x, x, { keyPaddingMask: ids.eq(0) });
    x = this.norm1.call(x.add(a));
    x = this.norm2.call(x.add(this.mlp.call(x)));
    return [this.proj.get('text').call(x.mean([1])), w];
  }
}

const BUILDERS: Record<string, () => nn.Module> = {
  mini_resnet: () => new MiniResNet(),
  mini_resnet_eval: () => new MiniResNet(),
  tiny_encoder: () => new TinyEncoder(),
};

const { cases } = loadFixture<{ cases: ModuleCase[] }>('models');

describe('composite models vs PyTorch', () => {
  it('has a builder for every fixture case and a case for every builder', () => {
    expect(Object.keys(BUILDERS).sort()).toEqual(cases.map((c) => c.id).sort());
  });
  for (const c of cases) {
    it(c.id, () => replayModuleCase(c, BUILDERS[c.id]!));
  }

  it('names state dict keys as PyTorch does for nested containers', () => {
    const keys = [...new MiniResNet().stateDict().keys()];
    expect(keys).toContain('layer1.0.conv1.weight');
    expect(keys).toContain('layer2.0.downsample.1.running_mean');
    expect(keys).toContain('bn1.num_batches_tracked');
    expect(keys).toContain('heads.1.bias');
  });
});
