// ResNet, AttentionPool2d and PRIOR's image encoder against PyTorch references
// (scripts/gen_fixtures_models_resnet.py). The weights are rebuilt here with the script's seeded
// draws (same libtorch generator), so only keys, init sums, outputs and input gradients are stored.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { safetensors } from '../../src/io/index.js';
import type { Module } from '../../src/nn/index.js';
import { AttentionPool2d, PriorImageEncoder, ResNet, grayscaleBackboneStateDict, localTokens } from '../../src/models/resnet/index.js';
import type { ResNetDepth } from '../../src/models/resnet/index.js';
import * as torch from '../../src/torch/index.js';
import type { DType, Tensor } from '../../src/torch/index.js';
import { decodeTensor } from '../nn/fixtures.js';
import type { EncodedTensor } from '../nn/fixtures.js';

interface RunCase {
  weightSeed: number;
  inputSeed: number;
  inputShape: number[];
  cotSeed: number;
  outputs: EncodedTensor[];
  inputGrad: EncodedTensor;
}

type KeyList = [string, number[], DType][];

interface InitCase extends RunCase {
  initSeed: number;
  init: [string, [number, number]][];
  keys: KeyList;
}

interface Fixtures {
  resnet18: InitCase & { depth: ResNetDepth };
  resnet50: InitCase & { depth: ResNetDepth };
  attentionPool: InitCase & { grid: number; width: number; heads: number; outputDim: number };
  prior: Omit<RunCase, 'weightSeed'> & { imageSize: number; rgbSeed: number; poolSeed: number; keys: KeyList };
  priorCheckpointKeys: KeyList;
}

const FILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'models', 'resnet.json.gz');
const fx = JSON.parse(gunzipSync(readFileSync(FILE)).toString('utf8')) as Fixtures;

function seeded(seed: number, shape: number[]): Tensor {
  torch.manualSeed(seed);
  return torch.randn(...shape);
}

/** The script's fill_seeded: every floating state entry from one seeded stream, in key order. */
function fillSeeded(m: Module, seed: number): void {
  torch.manualSeed(seed);
  torch.noGrad(() => {
    for (const [key, t] of m.stateDict()) {
      if (!torch.isFloatingDType(t.dtype)) continue;
      let n = torch.randn(...t.shape);
      if (t.dim() >= 2) n = n.mul(1 / Math.sqrt(t.numel / t.size(0)));
      else if (key.endsWith('running_var')) n = n.abs().mul(0.1).add(1);
      else if (key.endsWith('.weight')) n = n.mul(0.1).add(1);
      else n = n.mul(0.1);
      t.copy_(n);
    }
  });
}

function keyList(m: Module): KeyList {
  return [...m.stateDict()].map(([k, t]) => [k, t.shape, t.dtype]);
}

/** max |actual − expected| within `rtol` of the expected tensor's largest magnitude. */
function expectClose(actual: Tensor, encoded: EncodedTensor, what: string, rtol = 1e-4): void {
  const expected = decodeTensor(encoded);
  expect(actual.shape, `${what} shape`).toEqual(expected.shape);
  const err = actual.detach().sub(expected).abs().max().item() as number;
  const scale = expected.abs().max().item() as number;
  expect(scale, `${what} is all zeros: a vacuous check`).toBeGreaterThan(0);
  expect(err / scale, `${what}: max error ${err} vs scale ${scale}`).toBeLessThan(rtol);
}

/** The init fingerprint: per key [sum, sum of squares] in float64. */
function expectInit(m: Module, init: [string, [number, number]][]): void {
  const got = [...m.stateDict()].map(([k, t]) => {
    const d = t.to('float64');
    return [k, [d.sum().item() as number, d.mul(d).sum().item() as number]] as const;
  });
  expect(got.map(([k]) => k)).toEqual(init.map(([k]) => k));
  got.forEach(([k, [s, s2]], i) => {
    const [es, es2] = init[i]![1];
    expect(Math.abs(s - es), `${k} sum`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(es2)));
    expect(Math.abs(s2 - es2), `${k} sum of squares`).toBeLessThanOrEqual(1e-9 * Math.max(1, es2));
  });
}

/** Runs `forward` on the seeded input, checks its outputs and d(Σ out·cotangent)/dx. */
function checkRun(c: Omit<RunCase, 'weightSeed'>, forward: (x: Tensor) => Tensor[]): void {
  const x = seeded(c.inputSeed, c.inputShape).requiresGrad_(true);
  const outs = forward(x);
  torch.manualSeed(c.cotSeed);
  let loss = torch.tensor(0);
  for (const o of outs) loss = loss.add(o.mul(torch.randn(...o.shape)).sum());
  const [gx] = torch.autograd.grad([loss], [x]);
  expect(outs.length).toBe(c.outputs.length);
  outs.forEach((o, i) => expectClose(o, c.outputs[i]!, `output ${i}`));
  expectClose(gx!, c.inputGrad, 'input gradient');
}

describe.each(['resnet18', 'resnet50'] as const)('%s', (name) => {
  const c = fx[name];

  it('has torchvision key names, shapes and the seeded initialisation', () => {
    torch.scope(() => {
      torch.manualSeed(c.initSeed);
      const m = new ResNet(c.depth);
      expect(keyList(m)).toEqual(c.keys);
      expectInit(m, c.init);
      m.dispose();
    });
  });

  it('forward and input gradient match PyTorch (eval mode)', () => {
    torch.scope(() => {
      const m = new ResNet(c.depth);
      fillSeeded(m, c.weightSeed);
      m.eval();
      checkRun(c, (x) => [m.call(x)]);
      m.dispose();
    });
  });
});

describe('ResNet', () => {
  it("has torchvision's parameter counts (its model docs) for every depth, ResNet-34 included", () => {
    const counts: [ResNetDepth, number][] = [
      [18, 11_689_512],
      [34, 21_797_672],
      [50, 25_557_032],
    ];
    for (const [depth, expected] of counts) {
      const m = new ResNet(depth);
      expect(m.parameters().reduce((n, p) => n + p.numel, 0), `resnet${depth}`).toBe(expected);
      m.dispose();
    }
  });

  it('derives the layer4 grid from the input size', () => {
    const m = new ResNet(18, { numClasses: null });
    expect(m.featureGrid(224)).toEqual([7, 7]);
    expect(m.featureGrid([64, 97])).toEqual([2, 4]);
    torch.scope(() => expect(m.forwardFeatures(torch.zeros(1, 3, 64, 97)).layer4.shape).toEqual([1, 512, 2, 4]));
    expect(m.call(torch.zeros(1, 3, 32, 32)).shape).toEqual([1, 512]); // no fc: pooled features
    expect(() => m.call(torch.zeros(1, 1, 32, 32))).toThrow(/expected input \[B, 3, H, W\], got \[1, 1, 32, 32\]/);
    m.dispose();
  });
});

describe('AttentionPool2d', () => {
  const c = fx.attentionPool;

  it("matches CLIP's keys and seeded initialisation", () => {
    torch.scope(() => {
      torch.manualSeed(c.initSeed);
      const m = new AttentionPool2d(c.grid, c.width, c.heads, { outputDim: c.outputDim });
      expect(keyList(m)).toEqual(c.keys);
      expectInit(m, c.init);
      m.dispose();
    });
  });

  it("forward and input gradient match CLIP's (all queries projected, token 0 kept)", () => {
    torch.scope(() => {
      const m = new AttentionPool2d(c.grid, c.width, c.heads, { outputDim: c.outputDim });
      fillSeeded(m, c.weightSeed);
      checkRun(c, (x) => [m.call(x)]);
      expect(() => m.call(torch.zeros(1, c.width, 2, 2))).toThrow(/expected input \[B, 64, 3, 3\]/);
      m.dispose();
    });
  });
});

describe('PriorImageEncoder', () => {
  const c = fx.prior;
  const tmp = mkdtempSync(join(tmpdir(), 'prior-resnet-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('has the accessors of spec §1.4, derived from the image size', () => {
    const m = new PriorImageEncoder();
    expect([m.width(), m.globalWidth(), m.localWidth(), m.name()]).toEqual([2048, 2048, 2048, 'resnet50']);
    expect(m.lastSpatialInfo()).toEqual([7, 7]);
    expect(m.attenPool.positionalEmbedding.shape).toEqual([50, 2048]);
    expect(new PriorImageEncoder({ imageSize: 64 }).lastSpatialInfo()).toEqual([2, 2]);
    expect(new PriorImageEncoder({ depth: 18, imageSize: [96, 64] }).attenPool.positionalEmbedding.shape).toEqual([7, 512]);
  });

  it('with adapted RGB ImageNet-style weights matches the PyTorch reference (global, faithful and spatial local, input gradient)', () => {
    torch.scope(() => {
      const rgb = new ResNet(50);
      fillSeeded(rgb, c.rgbSeed);
      const m = new PriorImageEncoder({ imageSize: c.imageSize });
      expect(keyList(m)).toEqual(c.keys);
      m.encoder.loadStateDict(grayscaleBackboneStateDict(rgb.stateDict()));
      rgb.dispose();
      fillSeeded(m.attenPool, c.poolSeed);
      m.eval();
      checkRun(c, (x) => {
        const out = m.call(x);
        return [out.global, out.local, localTokens(out.features.layer4, 'spatial')];
      });
      m.dispose();
    });
  });

  it('lays out local tokens as spec §14 B1 says (faithful) or per position (spatial)', () => {
    torch.scope(() => {
      const [c4, h, w] = [6, 2, 3];
      const layer4 = torch.arange(2 * c4 * h * w).reshape(2, c4, h, w).to('float32');
      const faithful = localTokens(layer4).toArray() as ArrayLike<number>;
      const spatial = localTokens(layer4, 'spatial').toArray() as ArrayLike<number>;
      const at = (b: number, ch: number, y: number, x: number): number => ((b * c4 + ch) * h + y) * w + x;
      for (let b = 0; b < 2; b++) {
        for (let t = 0; t < h * w; t++) {
          for (let f = 0; f < c4; f++) {
            const k = t * c4 + f;
            const pix = k % (h * w);
            const flat = (b * h * w + t) * c4 + f;
            expect(faithful[flat]).toBe(at(b, Math.floor(k / (h * w)), Math.floor(pix / w), pix % w));
            expect(spatial[flat]).toBe(at(b, f, Math.floor(t / w), t % w));
          }
        }
      }
    });
  });

  it('sums conv1 over its RGB channels and drops fc when adapting ImageNet weights', () => {
    torch.scope(() => {
      const w = torch.arange(64 * 3 * 49).reshape(64, 3, 7, 7).to('float32');
      const adapted = grayscaleBackboneStateDict(new Map([['conv1.weight', w], ['fc.weight', torch.zeros(2, 2)], ['bn1.bias', torch.ones(64)]]));
      expect([...adapted.keys()]).toEqual(['conv1.weight', 'bn1.bias']);
      const conv1 = adapted.get('conv1.weight')!;
      expect(conv1.shape).toEqual([64, 1, 7, 7]);
      // Element (o, 0, i, j) = Σ_c (o·147 + c·49 + i·7 + j) = 3·(o·147 + i·7 + j) + 147.
      expect((conv1.toArray() as Float32Array)[5]).toBe(3 * 5 + 147);
      expect(() => grayscaleBackboneStateDict(new Map([['conv1.weight', torch.zeros(64, 1, 7, 7)]]))).toThrow(/must be \[out, 3, kh, kw\]/);
      expect(() => grayscaleBackboneStateDict(new Map())).toThrow(/no 'conv1.weight'/);
    });
  });

  it('loads a prior_resnet50-style safetensors checkpoint (spec §12.1 keys) strictly into the backbone', () => {
    const keys = fx.priorCheckpointKeys;
    expect(keys.length).toBe(318);
    torch.scope(() => {
      // A synthetic checkpoint with exactly the spec's keys, shapes and dtypes.
      torch.manualSeed(5);
      const sd = new Map(keys.map(([k, shape, dtype]) => [k, dtype === 'int64' ? torch.tensor(7n) : torch.randn(...shape)] as const));
      const file = join(tmp, 'prior_resnet50.safetensors');
      safetensors.save(file, sd);
      const m = new PriorImageEncoder();
      expect(keyList(m.encoder)).toEqual(keys);
      m.loadBackbone(file);
      const loaded = m.encoder.stateDict();
      for (const k of ['conv1.weight', 'layer4.2.bn3.running_var', 'layer1.0.downsample.0.weight', 'bn1.num_batches_tracked']) {
        expect(loaded.get(k)!.equal(sd.get(k)!), k).toBe(true);
      }
      // An RGB checkpoint with fc is rejected, naming the file and the problems.
      const rgbFile = join(tmp, 'rgb.safetensors');
      safetensors.save(rgbFile, new Map([...sd, ['conv1.weight', torch.zeros(64, 3, 7, 7)], ['fc.weight', torch.zeros(10, 2048)]]));
      expect(() => m.loadBackbone(rgbFile)).toThrow(/rgb\.safetensors: not a resnet50 backbone for 1 channel\(s\).*\n.*unexpected keys: fc\.weight\n.*conv1\.weight: shape \[64, 3, 7, 7\]/);
      m.dispose();
    });
  });
});
