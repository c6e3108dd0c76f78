// Classification: softmax + cross-entropy over the classes (single-label) or one sigmoid + BCE
// per class (multi-label). Metrics: per-class and macro AUROC (one-vs-rest for single-label),
// accuracy (argmax for single-label; for multi-label the share of correct 0.5-thresholded
// decisions), and ROC curves as a PNG.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClassificationSample } from '../data/downstream/types.js';
import { accuracy, aurocMultiLabel, aurocOneVsRest, rocCurve } from '../eval/metrics/classification.js';
import { ResNetClassifier } from '../models/downstream/classifier.js';
import type { ResNet } from '../models/resnet/index.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { PALETTE, linePlot } from '../util/plot.js';
import type { LoadedItem } from './data.js';
import type { FinetuneTask, TaskMetrics } from './task.js';

type Target = number[];
/** Class probabilities of one sample. */
type Prediction = Float64Array;

export class ClassifyTask implements FinetuneTask<ClassificationSample, Target, Prediction> {
  readonly name = 'classify' as const;
  readonly model: ResNetClassifier;
  readonly scoreName = 'auroc_macro';

  constructor(
    encoder: ResNet,
    readonly classes: readonly string[],
    readonly multiLabel: boolean,
  ) {
    this.model = new ResNetClassifier(encoder, { numClasses: classes.length });
  }

  targetOf(sample: ClassificationSample): Target {
    if (sample.target.length !== this.classes.length) throw new RangeError(`${sample.id}: ${sample.target.length} target values for ${this.classes.length} classes`);
    return sample.target;
  }

  stratum(sample: ClassificationSample): string {
    return sample.target.join('');
  }

  loss(logits: Tensor, items: readonly LoadedItem<Target>[]): { loss: Tensor; terms: Record<string, Tensor> } {
    const dev = logits.device as torch.DeviceLike;
    if (this.multiLabel) {
      const t = torch.tensor(Float32Array.from(items.flatMap((i) => i.target))).reshape(items.length, this.classes.length).to(dev);
      return { loss: torch.binaryCrossEntropyWithLogits(logits, t), terms: {} };
    }
    const labels = torch.tensor(BigInt64Array.from(items.map((i) => BigInt(i.target.indexOf(1))))).to(dev);
    return { loss: torch.crossEntropy(logits, labels), terms: {} };
  }

  predict(logits: Tensor): Prediction[] {
    const probs = torch.noGrad(() => (this.multiLabel ? torch.sigmoid(logits) : torch.softmax(logits, 1)).to('cpu').toArray() as Float32Array);
    const k = this.classes.length;
    return Array.from({ length: logits.size(0) }, (_, i) => Float64Array.from(probs.subarray(i * k, (i + 1) * k)));
  }

  metrics(preds: readonly Prediction[], items: readonly LoadedItem<Target>[]): TaskMetrics {
    const k = this.classes.length;
    const scores = Float64Array.from(preds.flatMap((p) => [...p]));
    let auroc;
    let acc: number;
    if (this.multiLabel) {
      const targets = items.flatMap((i) => i.target);
      auroc = aurocMultiLabel(targets, scores, k);
      acc = targets.filter((t, j) => (scores[j]! > 0.5 ? 1 : 0) === t).length / Math.max(1, targets.length);
    } else {
      const yTrue = items.map((i) => i.target.indexOf(1));
      auroc = aurocOneVsRest(yTrue, scores, k);
      acc = accuracy(
        yTrue,
        preds.map((p) => p.indexOf(Math.max(...p))),
      );
    }
    const values: Record<string, number> = { auroc_macro: auroc.macro, accuracy: acc };
    this.classes.forEach((c, i) => (values[`auroc/${c}`] = auroc.perClass[i]!));
    return { score: auroc.macro, values, details: { perClassAuroc: Object.fromEntries(this.classes.map((c, i) => [c, Number.isNaN(auroc.perClass[i]!) ? null : auroc.perClass[i]!])) } };
  }

  async figures(runDir: string, split: string, preds: readonly Prediction[], items: readonly LoadedItem<Target>[]): Promise<string[]> {
    const series = this.classes.flatMap((c, k) => {
      const y = items.map((i) => (this.multiLabel ? i.target[k]! : i.target.indexOf(1) === k ? 1 : 0));
      if (y.every((v) => v === y[0])) return [];
      const { fpr, tpr } = rocCurve(y, preds.map((p) => p[k]!));
      return [{ name: c, x: fpr, y: tpr, color: PALETTE[k % PALETTE.length]! }];
    });
    if (series.length === 0) return [];
    series.push({ name: 'chance', x: Float64Array.from([0, 1]), y: Float64Array.from([0, 1]), color: '#999999', dash: '4 3' } as (typeof series)[number]);
    const png = await linePlot([{ title: `ROC (${split})`, series, xLabel: 'false positive rate', yLabel: 'true positive rate', xRange: [0, 1], yRange: [0, 1], legend: true }], { columns: 1 });
    const file = join(runDir, `roc-${split}.png`);
    writeFileSync(file, png);
    return [file];
  }
}
