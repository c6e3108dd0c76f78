// What a downstream task tells the shared fine-tuning loop (run.ts): its model, the target of a
// sample at the model's input size, the loss, predictions in JS, metrics (one score to maximise
// for the best checkpoint), and its baselines and figures.
import type { GrayImage } from '../data/gray-image.js';
import type { Json } from '../io/checkpoint.js';
import type { EncoderModel } from '../models/downstream/encoder-model.js';
import type { Tensor } from '../torch/index.js';
import type { LoadedItem } from './data.js';

export interface TaskMetrics {
  /** Maximised: picks the best checkpoint and drives early stopping. */
  score: number;
  /** Logged per validation (validation.jsonl) and reported. */
  values: Record<string, number>;
  /** Anything else for metrics.json (per-class values, curves). */
  details?: Json;
}

export interface FinetuneTask<S extends { id: string; image: string }, T, P> {
  readonly name: 'classify' | 'segment' | 'detect';
  readonly model: EncoderModel<Tensor>;
  readonly classes: readonly string[];
  /** The name of `score` (e.g. 'auroc_macro'). */
  readonly scoreName: string;
  targetOf(sample: S, image: GrayImage): T | Promise<T>;
  /** Stratum of a sample for fraction sampling (classification: its label set). */
  stratum?(sample: S): string;
  loss(output: Tensor, items: readonly LoadedItem<T>[]): { loss: Tensor; terms: Record<string, Tensor> };
  predict(output: Tensor, items: readonly LoadedItem<T>[]): P[];
  metrics(preds: readonly P[], items: readonly LoadedItem<T>[]): TaskMetrics;
  /** Reference results that need no model (mean mask, mean box), from the training items, scored on `items`. */
  baselines?(train: readonly LoadedItem<T>[], items: readonly LoadedItem<T>[]): Record<string, number>;
  /** Figures of a split's predictions in runDir; returns the files written. */
  figures?(runDir: string, split: string, preds: readonly P[], items: readonly LoadedItem<T>[]): Promise<string[]>;
}
