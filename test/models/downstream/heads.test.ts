// Downstream heads: the U-Net's segmentation_models layout and output size, linear probing's
// frozen encoder, and the YOLO head's box decoding and loss targets on hand-computed cases.
import { describe, expect, it } from 'vitest';
import { ResNetClassifier } from '../../../src/models/downstream/classifier.js';
import { YoloDetector, kmeansAnchors } from '../../../src/models/downstream/detector.js';
import { ResNetUnet } from '../../../src/models/downstream/unet.js';
import { ResNet } from '../../../src/models/resnet/index.js';
import * as torch from '../../../src/torch/index.js';

const encoder18 = (): ResNet => new ResNet(18, { inChannels: 1, numClasses: null });

describe('ResNetUnet', () => {
  it('has smp Unet widths (decoder (256, 128, 64, 32, 16), skips layer3..stem) and full-size logits', () => {
    torch.manualSeed(0);
    const unet = new ResNetUnet(encoder18());
    const shapes = new Map([...unet.stateDict()].map(([k, t]) => [k, t.shape]));
    // smp resnet18 encoder channels (1, 64, 64, 128, 256, 512): block i gets in + skip channels.
    expect(shapes.get('decoder.blocks.0.conv1.0.weight')).toEqual([256, 512 + 256, 3, 3]);
    expect(shapes.get('decoder.blocks.1.conv1.0.weight')).toEqual([128, 256 + 128, 3, 3]);
    expect(shapes.get('decoder.blocks.2.conv1.0.weight')).toEqual([64, 128 + 64, 3, 3]);
    expect(shapes.get('decoder.blocks.3.conv1.0.weight')).toEqual([32, 64 + 64, 3, 3]);
    expect(shapes.get('decoder.blocks.4.conv1.0.weight')).toEqual([16, 32, 3, 3]);
    expect(shapes.get('decoder.blocks.4.conv2.1.running_var')).toEqual([16]);
    expect(shapes.get('segmentation_head.0.weight')).toEqual([1, 16, 3, 3]);
    const out = torch.noGrad(() => unet.eval().call(torch.randn(2, 1, 64, 64)));
    expect(out.shape).toEqual([2, 1, 64, 64]);
    const r50 = new ResNetUnet(new ResNet(50, { inChannels: 1, numClasses: null }));
    expect(r50.stateDict().get('decoder.blocks.0.conv1.0.weight')!.shape).toEqual([256, 2048 + 1024, 3, 3]);
    expect(r50.stateDict().get('decoder.blocks.3.conv1.0.weight')!.shape).toEqual([32, 64 + 64, 3, 3]);
  });
});

describe('linear probing', () => {
  it('freezes the encoder (no gradients, eval-mode BN) and trains the head', () => {
    const clf = new ResNetClassifier(encoder18(), { numClasses: 3 }).freezeEncoder(true);
    clf.train(true);
    expect(clf.encoder.training).toBe(false);
    expect(clf.encoder.bn1.training).toBe(false);
    expect(clf.head.training).toBe(true);
    expect(clf.trainableParameters()).toEqual([clf.head.weight, clf.head.bias]);
    const before = clf.encoder.bn1.runningMean!.clone();
    const loss = torch.crossEntropy(clf.call(torch.randn(4, 1, 32, 32)), torch.tensor(BigInt64Array.from([0n, 1n, 2n, 0n])));
    loss.backward();
    expect(clf.encoder.conv1.weight.grad).toBeNull();
    expect(clf.head.weight.grad).not.toBeNull();
    expect(torch.equal(before, clf.encoder.bn1.runningMean!)).toBe(true);
    clf.freezeEncoder(false).train(true);
    expect(clf.encoder.training).toBe(true);
    expect(clf.trainableParameters().length).toBe(clf.parameters().length);
  });
});

describe('YoloDetector', () => {
  const detector = (): YoloDetector => new YoloDetector(encoder18(), { numClasses: 1, anchors: [[16, 16]] });
  // Raw predictions [1, 1, 2, 2, 6]: (tx, ty, tw, th, obj, cls) per cell of a 2x2 grid, stride 16.
  const raw = (cell: [number, number], values: number[]): torch.Tensor => {
    const data = new Float32Array(2 * 2 * 6);
    for (let i = 0; i < 4; i++) data[i * 6 + 4] = -20; // objectness ~0 elsewhere
    data.set(values, (cell[0] * 2 + cell[1]) * 6);
    return torch.tensor(data).reshape(1, 1, 2, 2, 6);
  };

  it('decodes centre = (cell + sigmoid t) · stride, size = anchor · exp t, score = obj · cls', () => {
    const d = detector().decode(raw([1, 0], [0, 0, 0, Math.log(2), 20, 20]));
    expect(d).toHaveLength(1);
    expect(d[0]!.boxes).toHaveLength(1);
    // centre (8, 24), size 16 x 32.
    d[0]!.boxes[0]!.forEach((v, i) => expect(v).toBeCloseTo([0, 8, 16, 40][i]!, 4));
    expect(d[0]!.scores[0]).toBeCloseTo(1, 6);
  });

  it('assigns a box to the cell of its centre: a perfect prediction leaves only the entropy of the 0.5 centre targets', () => {
    const det = detector();
    // Ground truth centred in cell (1, 0) with the anchor's size: targets t_xy = 0.5, t_wh = 0.
    const target = { boxes: [[0, 16, 16, 32] as const], labels: [0] };
    const { terms } = det.loss(raw([1, 0], [0, 0, 0, 0, 20, 20]), [target]);
    expect(terms.box_xy!.item()).toBeCloseTo(2 * Math.log(2), 5);
    expect(terms.box_wh!.item()).toBeCloseTo(0, 6);
    expect(terms.objectness!.item()).toBeLessThan(1e-6);
    expect(terms.class!.item()).toBeLessThan(1e-6);
    // The same prediction for a box in cell (0, 1): objectness now pays on both cells.
    const moved = det.loss(raw([1, 0], [0, 0, 0, 0, 20, 20]), [{ boxes: [[16, 0, 32, 16]], labels: [0] }]);
    expect(moved.terms.objectness!.item()).toBeGreaterThan(19);
  });

  it('k-means anchors find box-shape clusters', () => {
    const shapes = [
      [10, 10],
      [11, 9],
      [9, 11],
      [40, 20],
      [42, 19],
      [38, 21],
    ] as const;
    const anchors = kmeansAnchors(shapes, 2);
    expect(anchors[0]![0]).toBeCloseTo(10, 5);
    expect(anchors[0]![1]).toBeCloseTo(10, 5);
    expect(anchors[1]![0]).toBeCloseTo(40, 5);
    expect(anchors[1]![1]).toBeCloseTo(20, 5);
  });
});
