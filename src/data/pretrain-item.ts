// One pre-training item (spec 3.2 steps 1-2) from a record's image paths and sentences: pick an
// image, decode, transform, and build the text tensors. Pure TypeScript (no addon): it runs in
// the loader's worker threads, or in the main thread when the loader has no workers. Every random
// choice comes from Rng.derive(seed, epoch, index), so an item is the same on any worker.
import { Rng } from '../util/rng.js';
import { type GrayImage, readImage, transformImage } from './image.js';
import { encodePriorSentences, isBlankReport, type TextJoin } from './prior-text.js';
import { BertTokenizer } from './tokenizer.js';

/** What every item of a loader shares (sent once to each worker). */
export interface ItemConfig {
  seed: number;
  imageSize: readonly [number, number];
  maxLength: number;
  augment: boolean;
  textJoin: TextJoin;
  vocabPath: string;
  normalization: { mean: number; std: number };
}

/** One item to make: the record's data travels with the task, so workers hold no dataset. */
export interface ItemTask {
  epoch: number;
  /** Position in the dataset (the Rng stream and the batch's `indices`). */
  index: number;
  key: string;
  imagePaths: string[];
  /** Impression sentences, then findings sentences, unshuffled. */
  sentences: string[];
}

export type ItemResult =
  | { ok: true; image: Float32Array; inputIds: Int32Array; attentionMask: Int32Array; sentenceIndex: Int32Array }
  /** Bad input: the loader skips the item (or throws in strict mode). */
  | { ok: false; reason: string; file?: string };

/** The buffers of a result, for a worker's transfer list. */
export function resultBuffers(r: ItemResult): ArrayBuffer[] {
  if (!r.ok) return [];
  return [r.image.buffer, r.inputIds.buffer, r.attentionMask.buffer, r.sentenceIndex.buffer] as ArrayBuffer[];
}

export class ItemMaker {
  private readonly tokenizer: BertTokenizer;

  constructor(readonly config: ItemConfig) {
    this.tokenizer = BertTokenizer.fromVocabFile(config.vocabPath);
  }

  /** Bad input (no sentences, unreadable image) is a result; anything else throws. */
  async make(task: ItemTask): Promise<ItemResult> {
    if (isBlankReport(task.sentences)) return { ok: false, reason: 'report has no sentences' };
    const rng = Rng.derive(this.config.seed, task.epoch, task.index);
    // Python's random.choice draws even from a single image; drawing always keeps streams aligned.
    const file = task.imagePaths[rng.int(task.imagePaths.length)]!;
    let img: GrayImage;
    try {
      img = await readImage(file);
    } catch (e) {
      // readImage only reads and decodes this file: whatever it throws is the file's fault.
      return { ok: false, file, reason: e instanceof Error ? e.message : String(e) };
    }
    const { imageSize, normalization, augment } = this.config;
    const image = transformImage(img, { size: imageSize, mean: normalization.mean, std: normalization.std, augment }, rng);
    const text = encodePriorSentences(this.tokenizer, rng.shuffle([...task.sentences]), { maxLength: this.config.maxLength, textJoin: this.config.textJoin });
    return { ok: true, image, inputIds: text.inputIds, attentionMask: text.attentionMask, sentenceIndex: text.sentenceIndex };
  }
}
