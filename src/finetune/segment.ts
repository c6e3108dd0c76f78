// Binary segmentation with the U-Net decoder: loss = BCE + soft Dice (1 − (2Σpt + 1)/(Σp + Σt + 1)
// per image, averaged), metric = mean per-image Dice of the 0.5-thresholded mask at the model's
// input size. Baseline: the mean training mask (pixelwise mean of the training masks,
// thresholded at 0.5) predicted for every image.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GrayImage } from '../data/gray-image.js';
import { renderMask, resizeNearest } from '../data/downstream/masks.js';
import type { SegmentationSample } from '../data/downstream/types.js';
import { meanDice } from '../eval/metrics/segmentation.js';
import { ResNetUnet } from '../models/downstream/unet.js';
import type { ResNet } from '../models/resnet/index.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import type { LoadedItem } from './data.js';
import { PREDICTION_COLOR, TRUTH_COLOR, overlayPng } from './overlay.js';
import type { FinetuneTask, TaskMetrics } from './task.js';

type Target = Uint8Array;
type Prediction = Uint8Array;

export class SegmentTask implements FinetuneTask<SegmentationSample, Target, Prediction> {
  readonly name = 'segment' as const;
  readonly model: ResNetUnet;
  readonly scoreName = 'dice';
  readonly classes = ['foreground'];

  constructor(
    encoder: ResNet,
    readonly size: number,
    readonly figureCases = 4,
  ) {
    this.model = new ResNetUnet(encoder, { numClasses: 1 });
  }

  async targetOf(sample: SegmentationSample, image: GrayImage): Promise<Target> {
    const mask = await renderMask(sample.mask, image.height, image.width);
    return resizeNearest(mask, image.height, image.width, this.size, this.size);
  }

  loss(logits: Tensor, items: readonly LoadedItem<Target>[]): { loss: Tensor; terms: Record<string, Tensor> } {
    const n = items.length;
    const s = this.size;
    const flat = new Float32Array(n * s * s);
    items.forEach((it, k) => flat.set(it.target, k * s * s));
    const target = torch.tensor(flat).reshape(n, 1, s, s).to(logits.device as torch.DeviceLike);
    const bce = torch.binaryCrossEntropyWithLogits(logits, target);
    const p = torch.sigmoid(logits).reshape(n, -1);
    const t = target.reshape(n, -1);
    const dice = torch.ones([n]).to(logits.device as torch.DeviceLike).sub(p.mul(t).sum([1]).mul(2).add(1).div(p.sum([1]).add(t.sum([1])).add(1))).mean();
    return { loss: bce.add(dice), terms: { bce, dice } };
  }

  predict(logits: Tensor): Prediction[] {
    const s = this.size;
    const flat = torch.noGrad(() => logits.gt(0).to('uint8').to('cpu').toArray() as Uint8Array);
    return Array.from({ length: logits.size(0) }, (_, i) => flat.slice(i * s * s, (i + 1) * s * s));
  }

  metrics(preds: readonly Prediction[], items: readonly LoadedItem<Target>[]): TaskMetrics {
    const d = meanDice(preds, items.map((i) => i.target));
    return { score: d.mean, values: { dice: d.mean } };
  }

  baselines(train: readonly LoadedItem<Target>[], items: readonly LoadedItem<Target>[]): Record<string, number> {
    const n = this.size * this.size;
    const sum = new Float64Array(n);
    for (const it of train) for (let i = 0; i < n; i++) sum[i]! += it.target[i]!;
    const meanMask = Uint8Array.from(sum, (v) => (v / train.length > 0.5 ? 1 : 0));
    return {
      dice_mean_training_mask: meanDice(
        items.map(() => meanMask),
        items.map((i) => i.target),
      ).mean,
    };
  }

  async figures(runDir: string, split: string, preds: readonly Prediction[], items: readonly LoadedItem<Target>[]): Promise<string[]> {
    const k = Math.min(this.figureCases, items.length);
    if (k === 0) return [];
    const cases = items.slice(0, k).map((it, i) => ({
      pixels: it.pixels,
      masks: [
        { mask: it.target, color: TRUTH_COLOR },
        { mask: preds[i]!, color: PREDICTION_COLOR },
      ],
    }));
    const file = join(runDir, `predictions-${split}.png`);
    writeFileSync(file, await overlayPng(cases, this.size));
    return [file];
  }
}
