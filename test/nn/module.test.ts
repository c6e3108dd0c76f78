// Module mechanics: registration and traversal, loadStateDict's checks, freezing, zeroGrad,
// to(dtype), train/eval, hooks, scopes and dispose.
import { describe, expect, it } from 'vitest';
import { nn } from '../../src/index.js';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';

class Net extends nn.Module<[Tensor], Tensor> {
  readonly fc1 = this.registerModule('fc1', new nn.Linear(3, 4));
  readonly bn = this.registerModule('bn', new nn.BatchNorm1d(4));
  readonly act = this.registerModule('act', new nn.ReLU());
  readonly fc2 = this.registerModule('fc2', new nn.Linear(4, 2));
  readonly scale = this.registerParameter('scale', torch.ones(2));
  readonly stash = this.registerBuffer('stash', torch.zeros(2), { persistent: false });

  forward(x: Tensor): Tensor {
    return this.fc2.call(this.act.call(this.bn.call(this.fc1.call(x)))).mul(this.scale);
  }
}

describe('Module', () => {
  it('registers parameters, buffers and children under dotted names', () => {
    const net = new Net();
    expect(net.namedParameters().map(([k]) => k)).toEqual(['scale', 'fc1.weight', 'fc1.bias', 'bn.weight', 'bn.bias', 'fc2.weight', 'fc2.bias']);
    expect(net.namedBuffers().map(([k]) => k)).toEqual(['stash', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']);
    // State dict order is per module: own parameters, own persistent buffers, then children.
    expect([...net.stateDict().keys()]).toEqual([
      'scale',
      'fc1.weight',
      'fc1.bias',
      'bn.weight',
      'bn.bias',
      'bn.running_mean',
      'bn.running_var',
      'bn.num_batches_tracked',
      'fc2.weight',
      'fc2.bias',
    ]);
    expect(net.namedChildren().map(([k]) => k)).toEqual(['fc1', 'bn', 'act', 'fc2']);
    expect(net.namedModules().map(([k]) => k)).toEqual(['', 'fc1', 'bn', 'act', 'fc2']);
    expect(net.parameters({ recurse: false })).toEqual([net.scale]);
    for (const p of net.parameters()) expect(p.requiresGrad && p.isLeaf).toBe(true);
    net.dispose();
  });

  it('lists a shared parameter once, but under both keys in the state dict', () => {
    const a = new nn.Linear(2, 2);
    const seq = new nn.Sequential(a, a);
    expect(seq.parameters()).toHaveLength(2);
    expect([...seq.stateDict().keys()]).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
  });

  it('rejects bad names and kind clashes', () => {
    class Bad extends nn.Module<[], null> {
      forward(): null {
        return null;
      }
    }
    const m = new Bad();
    expect(() => m.registerParameter('a.b', torch.zeros(1))).toThrow(/contain no '\.'/);
    m.registerBuffer('x', torch.zeros(1));
    expect(() => m.registerModule('x', new nn.ReLU())).toThrow(/cannot register submodule 'x': a buffer has that name/);
    const nonLeaf = torch.ones(2, { requiresGrad: true }).mul(2);
    expect(() => m.registerParameter('w', nonLeaf)).toThrow(/'w' must be a leaf tensor/);
  });

  it('loadStateDict copies values and reports every problem in one error', () => {
    const src = new Net();
    const dst = new Net();
    const result = dst.loadStateDict(src.stateDict());
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(dst.fc1.weight.equal(src.fc1.weight)).toBe(true);
    expect(dst.fc1.weight).not.toBe(src.fc1.weight); // copied, not shared

    const bad = src.stateDict();
    bad.delete('fc1.bias');
    bad.delete('bn.running_var');
    bad.set('fc3.weight', torch.zeros(1));
    bad.set('fc2.weight', torch.zeros(3, 3));
    const before = dst.fc2.bias!.clone();
    bad.set('fc2.bias', torch.full([2], 7));
    let message = '';
    try {
      dst.loadStateDict(bad);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/Net\.loadStateDict: 3 problem\(s\)/);
    expect(message).toContain('missing keys: fc1.bias, bn.running_var');
    expect(message).toContain('unexpected keys: fc3.weight');
    expect(message).toContain('fc2.weight: shape [3, 3] in the state dict, [2, 4] in the model');
    // Nothing was copied: the valid fc2.bias entry did not land either.
    expect(dst.fc2.bias!.equal(before)).toBe(true);

    // Non-strict: missing and unexpected keys are returned; shape mismatches still throw.
    bad.set('fc2.weight', torch.zeros(2, 4));
    expect(dst.loadStateDict(bad, { strict: false })).toEqual({ missingKeys: ['fc1.bias', 'bn.running_var'], unexpectedKeys: ['fc3.weight'] });
    expect(dst.fc2.bias!.toNested()).toEqual([7, 7]);
  });

  it('loadStateDict converts dtype and accepts a plain record', () => {
    const lin = new nn.Linear(2, 1);
    lin.loadStateDict({ weight: torch.tensor([[1, 2]], { dtype: 'float64' }), bias: torch.tensor([0.5], { dtype: 'float64' }) });
    expect(lin.weight.dtype).toBe('float32');
    expect(lin.forward(torch.tensor([[1, 1]])).toNested()).toEqual([[3.5]]);
  });

  it('requiresGrad_(false) freezes: frozen parameters get no gradient', () => {
    torch.scope(() => {
      const net = new Net();
      net.fc1.requiresGrad_(false);
      net.forward(torch.randn(5, 3)).sum().backward();
      expect(net.fc1.weight.grad).toBeNull();
      expect(net.fc1.bias!.grad).toBeNull();
      expect(net.fc2.weight.grad?.shape).toEqual([2, 4]);
      net.zeroGrad();
      expect(net.parameters().every((p) => p.grad === null)).toBe(true);
      net.dispose();
    });
  });

  it('to("float64") casts floating tensors in place, keeps identity, requiresGrad and int64 counters', () => {
    torch.scope(() => {
      const net = new Net();
      const x = torch.randn(5, 3);
      net.eval();
      const out32 = net.forward(x);
      net.forward(x).sum().backward();
      const weight = net.fc1.weight;
      net.to('float64');
      expect(net.fc1.weight).toBe(weight);
      expect(weight.dtype).toBe('float64');
      expect(weight.requiresGrad && weight.isLeaf).toBe(true);
      expect(weight.grad?.dtype).toBe('float64');
      expect(net.bn.runningMean!.dtype).toBe('float64');
      expect(net.bn.numBatchesTracked!.dtype).toBe('int64');
      expect(net.stash.dtype).toBe('float64');
      const out64 = net.forward(x.double());
      expect(out64.dtype).toBe('float64');
      expect(out64.float().allclose(out32, 1e-5, 1e-6)).toBe(true);
      net.dispose();
    });
  });

  it('train() and eval() set the mode recursively; dropout follows it', () => {
    const seq = new nn.Sequential(new nn.Dropout(0.5));
    const x = torch.ones(100);
    expect(seq.eval().forward(x).equal(x)).toBe(true);
    expect(seq.at(0).training).toBe(false);
    expect(seq.train().at(0).training).toBe(true);
    expect(seq.forward(x).eq(0).any().item()).toBe(true);
  });

  it('forward hooks see inputs and output, may replace it, fire inside containers, and can be removed', () => {
    torch.scope(() => {
      const inner = new nn.Linear(3, 2);
      const seq = new nn.Sequential(inner, new nn.ReLU());
      const seen: number[][] = [];
      const handle = inner.registerForwardHook((m, [x], out) => {
        expect(m).toBe(inner);
        seen.push([...x.shape, ...out.shape]);
      });
      seq.call(torch.randn(4, 3));
      expect(seen).toEqual([[4, 3, 4, 2]]);
      const replace = seq.registerForwardHook(() => torch.zeros(1));
      expect(seq.call(torch.randn(4, 3)).shape).toEqual([1]);
      // forward() is the bare computation: no hooks of its own module.
      expect(seq.forward(torch.randn(4, 3)).shape).toEqual([4, 2]);
      handle.remove();
      replace.remove();
      seq.call(torch.randn(4, 3));
      expect(seen).toHaveLength(3);
    });
  });

  it('captures attention maps with a hook on MultiheadAttention', () => {
    torch.scope(() => {
      const attn = new nn.MultiheadAttention(4, 2, { batchFirst: true });
      let maps: Tensor | null = null;
      attn.registerForwardHook((_m, _inputs, [, weights]) => {
        maps = weights;
      });
      const x = torch.randn(2, 3, 4);
      attn.call(x, x, x, { averageAttnWeights: false });
      expect(maps!.shape).toEqual([2, 2, 3, 3]);
    });
  });

  it('apply visits children before the module; toString prints the tree', () => {
    const net = new Net();
    const order: string[] = [];
    net.apply((m) => order.push(m.constructor.name));
    expect(order).toEqual(['Linear', 'BatchNorm1d', 'ReLU', 'Linear', 'Net']);
    expect(net.toString()).toBe(
      [
        'Net(',
        '  (fc1): Linear(in_features=3, out_features=4, bias=true)',
        '  (bn): BatchNorm1d(4, eps=0.00001, momentum=0.1, affine=true, track_running_stats=true)',
        '  (act): ReLU()',
        '  (fc2): Linear(in_features=4, out_features=2, bias=true)',
        ')',
      ].join('\n'),
    );
  });

  it('parameters survive the scope they were made in; dispose() frees them', () => {
    const net = torch.scope(() => new Net());
    expect(net.fc1.weight.isDisposed).toBe(false);
    expect(net.bn.runningMean!.isDisposed).toBe(false);
    net.dispose();
    expect(net.parameters().every((p) => p.isDisposed)).toBe(true);
    expect(net.buffers().every((b) => b.isDisposed)).toBe(true);
  });

  it('containers index, iterate and name their items', () => {
    const list = new nn.ModuleList([new nn.ReLU(), new nn.Sigmoid()]);
    expect(list.length).toBe(2);
    expect(list.at(-1)).toBeInstanceOf(nn.Sigmoid);
    expect(() => list.at(2)).toThrow(/index 2 is out of range for 2 modules/);
    expect(() => list.forward()).toThrow(/ModuleList has no forward/);
    const dict = new nn.ModuleDict({ a: new nn.Identity() });
    dict.set('b', new nn.ReLU());
    expect(dict.keys()).toEqual(['a', 'b']);
    expect(() => dict.get('c')).toThrow(/no module 'c' \(have: a, b\)/);
  });

  it('checks input ranks and constructor arguments with clear errors', () => {
    expect(() => new nn.BatchNorm2d(3).forward(torch.zeros(2, 3))).toThrow(/BatchNorm2d: expected 4D input, got shape \[2, 3\]/);
    expect(() => new nn.Conv2d(3, 4, 3, { groups: 2 })).toThrow(/in_channels 3 must be divisible by groups 2/);
    expect(() => new nn.MultiheadAttention(6, 4)).toThrow(/embedDim 6 must be divisible by numHeads 4/);
    expect(() => new nn.Embedding(3, 2, { paddingIdx: 3 })).toThrow(/paddingIdx 3 is outside \[-3, 3\)/);
  });

  it('nn.functional re-exports the functional ops', () => {
    const logits = torch.tensor([[2, 0, 0]]);
    const loss = nn.functional.crossEntropy(logits, torch.tensor([0n]));
    expect(loss.item()).toBeCloseTo(Math.log(1 + 2 * Math.exp(-2)), 6);
  });
});
