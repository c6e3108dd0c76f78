// The pre-training batch (spec 3.2, after collation): what the loader yields and what the PRIOR
// model's stage steps take. Declared here, in the data layer, because data flows into models.
import type { Tensor } from '../torch/index.js';

export interface PriorBatch {
  /** Normalised images, float32 [B, 1, H, W]. */
  image: Tensor<'float32'>;
  /** Token ids, int64 [B, L]. */
  inputIds: Tensor<'int64'>;
  /** 1 on real tokens, 0 on padding, int64 [B, L]. */
  attentionMask: Tensor<'int64'>;
  /** Per-token sentence number (1-based), -1 on [CLS], [SEP] and [PAD], int64 [B, L]. */
  sentenceIndex: Tensor<'int64'>;
  /** Multi-hot labels over the dataset's classes, int64 [B, C], when the dataset has classes. */
  label?: Tensor<'int64'>;
  /** The dataset keys of the B items, in batch order. */
  keys: string[];
  /** The items' positions in the dataset, in batch order. */
  indices: number[];
}

/** Releases a batch's tensors (the consumer owns them). */
export function disposeBatch(batch: PriorBatch): void {
  batch.image.dispose();
  batch.inputIds.dispose();
  batch.attentionMask.dispose();
  batch.sentenceIndex.dispose();
  batch.label?.dispose();
}
