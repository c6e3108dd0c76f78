// Sentence gathering (PRIOR spec §3.3) and the ragged-row helpers around it. The original loops
// over samples and returns a list of [T_b, D] tensors; here a batch is one zero-padded
// [B, T, D] tensor plus a validity mask [B, T], built with one one-hot matmul.
import type { DeviceLike, Tensor } from '../../torch/index.js';
import { arange, cat, index, oneHot, tensor, where, zeros } from '../../torch/index.js';

export interface GatheredSentences {
  /** [B, T, D]: sample b's sentences in rows 0..counts[b]-1, zero rows after. */
  sentences: Tensor;
  /** bool [B, T]: true for a real sentence row. */
  mask: Tensor;
  /** Sentences per sample (after the maxSentences cap). */
  counts: number[];
}

export interface GatherOptions {
  /** Keep only each sample's first k sentences (stage 3 uses 16). */
  maxSentences?: number;
}

/**
 * The mean token of each sentence, per sample: sentence ids 1, 2, ... in ascending order, ids
 * with no token skipped (the rows are compacted), ids < 1 ([CLS], [SEP], [PAD] are -1) ignored.
 * `tokens` [B, L, D], `sentenceIndex` integer [B, L]. T is the largest count in the batch.
 */
export function gatherSentences(tokens: Tensor, sentenceIndex: Tensor, { maxSentences }: GatherOptions = {}): GatheredSentences {
  if (tokens.dim() !== 3) throw new RangeError(`gatherSentences: tokens must be [B, L, D], got [${tokens.shape.join(', ')}]`);
  const [batch, length] = tokens.shape as [number, number, number];
  if (sentenceIndex.dim() !== 2 || sentenceIndex.size(0) !== batch || sentenceIndex.size(1) !== length) {
    throw new RangeError(`gatherSentences: sentenceIndex must be [${batch}, ${length}] like tokens [B, L, D], got [${sentenceIndex.shape.join(', ')}]`);
  }
  if (sentenceIndex.dtype !== 'int64' && sentenceIndex.dtype !== 'int32') {
    throw new TypeError(`gatherSentences: sentenceIndex must be int64 or int32, got ${sentenceIndex.dtype}`);
  }
  if (maxSentences !== undefined && !(Number.isInteger(maxSentences) && maxSentences > 0)) {
    throw new RangeError(`gatherSentences: maxSentences must be a positive integer, got ${maxSentences}`);
  }
  const device = tokens.device as DeviceLike;
  const ids = sentenceIndex.to(device).long().clampMin(0); // 0 = no sentence
  const maxId = Math.max(Number(ids.max().item()), 0);
  // Compaction: a non-empty id's row is the number of non-empty ids before it.
  const present = oneHot(ids, maxId + 1).sum([1]).narrow(1, 1, maxId).gt(0); // [B, maxId]
  const rowOfId = cat([zeros(batch, 1, { dtype: 'int64', device }), present.long().cumsum(1)], 1); // [B, maxId+1]
  const total = Array.from(present.sum([1]).toArray() as BigInt64Array, Number);
  const counts = maxSentences === undefined ? total : total.map((c) => Math.min(c, maxSentences));
  const rows = Math.max(0, ...counts);
  // Token -> row (rows are 1-based here; 0 and anything past the cap fall in dropped columns).
  let row = rowOfId.gather(1, ids).mul(ids.gt(0));
  row = where(row.gt(rows), 0, row);
  const assign = oneHot(row, rows + 1).narrow(2, 1, rows).to(tokens.dtype); // [B, L, T]
  const tokenCounts = assign.sum([1]); // [B, T]
  const sums = assign.transpose(1, 2).bmm(tokens); // [B, T, D]
  const sentences = sums.div(tokenCounts.clampMin(1).unsqueeze(-1));
  const mask = arange(rows, { device }).unsqueeze(0).lt(tensor(counts, { dtype: 'int64', device }).unsqueeze(1));
  return { sentences, mask, counts };
}

/** The valid rows of a padded [B, T, ...] tensor, concatenated: [sum of mask, ...] (the original's torch.cat of a list). */
export function packRows(x: Tensor, mask: Tensor): Tensor {
  checkMask('packRows', x, mask);
  return index(x, [mask]);
}

/**
 * The inverse of {@link packRows}: rows of `flat` [N, ...] placed at the mask's true
 * positions of [B, T, ...], `fill` elsewhere (0 for features, -1 for prototype indices).
 */
export function unpackRows(flat: Tensor, mask: Tensor, fill = 0): Tensor {
  if (mask.dim() !== 2 || mask.dtype !== 'bool') throw new TypeError(`unpackRows: mask must be bool [B, T], got ${mask.dtype} [${mask.shape.join(', ')}]`);
  const [batch, rows] = mask.shape as [number, number];
  const rowOf = mask.flatten().long().cumsum(0).sub(1).clampMin(0); // [B*T] -> row of flat
  if (flat.size(0) === 0) return zeros(batch, rows, ...flat.shape.slice(1), { dtype: flat.dtype, device: flat.device as DeviceLike }).add(fill);
  const picked = flat.indexSelect(0, rowOf).reshape(batch, rows, ...flat.shape.slice(1));
  const keepMask = mask.reshape(batch, rows, ...flat.shape.slice(1).map(() => 1));
  return where(keepMask, picked, fill);
}

/**
 * Stage-3 padding (§6.3): exactly `maxRows` rows per sample, the first min(T_b, maxRows) kept,
 * zero rows (and a false mask) after. `sentences` [B, T, D], `mask` bool [B, T] with each
 * sample's valid rows first, as {@link gatherSentences} makes them.
 */
export function padSentences(sentences: Tensor, mask: Tensor, maxRows: number): { sentences: Tensor; mask: Tensor } {
  checkMask('padSentences', sentences, mask);
  if (!(Number.isInteger(maxRows) && maxRows > 0)) throw new RangeError(`padSentences: maxRows must be a positive integer, got ${maxRows}`);
  const rows = mask.size(1);
  if (rows >= maxRows) return { sentences: sentences.narrow(1, 0, maxRows), mask: mask.narrow(1, 0, maxRows) };
  const extra = maxRows - rows;
  const padRows = zeros(sentences.size(0), extra, ...sentences.shape.slice(2), { dtype: sentences.dtype, device: sentences.device as DeviceLike });
  const padMask = zeros(mask.size(0), extra, { dtype: 'bool', device: mask.device as DeviceLike });
  return { sentences: cat([sentences, padRows], 1), mask: cat([mask, padMask], 1) };
}

function checkMask(op: string, x: Tensor, mask: Tensor): void {
  if (mask.dtype !== 'bool' || mask.dim() !== 2 || x.dim() < 2 || x.size(0) !== mask.size(0) || x.size(1) !== mask.size(1)) {
    throw new RangeError(`${op}: expected x [B, T, ...] and a bool mask [B, T], got x [${x.shape.join(', ')}] and ${mask.dtype} mask [${mask.shape.join(', ')}]`);
  }
}
