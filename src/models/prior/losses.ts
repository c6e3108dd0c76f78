// PRIOR's losses as pure functions of features (spec §7.1, §7.2, §6.4). The original loops over
// samples for the local losses and the SPG matching; here everything is batched with masks
// except the Q×Q assignments, solved on the CPU from one read of the batch's cost tensor.
import type { DeviceLike, Tensor } from '../../torch/index.js';
import { arange, cdist, cosineSimilarity, crossEntropy, normalize, tensor, where } from '../../torch/index.js';
import type { Predictor } from './heads.js';
import { packRows } from './gather.js';
import { linearSumAssignment } from './matching.js';

export interface GlobalAlignmentOptions {
  /**
   * Gathers a [B, D] tensor from every process into [W·B, D] with gradient (forward
   * all_gather + concat, backward the summed gradient's own slice). Identity when absent.
   */
  gather?: (x: Tensor) => Tensor;
  /** This process's rank among the W: its rows are B·rank .. B·rank+B-1 of the gathered ones. */
  rank?: number;
}

/**
 * The CLIP loss (§7.1): ½(CE(s·â·T̂ᵀ, labels) + CE(s·t̂·Âᵀ, labels)) with â, t̂ L2-normalised,
 * s = exp(logitScale) and labels = B·rank + arange(B). `a` goes in the image slot, `t` in the
 * text slot (the GPA loss passes generated prototypes as `a`).
 */
export function globalAlignmentLoss(a: Tensor, t: Tensor, logitScale: Tensor | number, { gather, rank = 0 }: GlobalAlignmentOptions = {}): Tensor {
  if (a.dim() !== 2 || t.dim() !== 2 || a.size(0) !== t.size(0) || a.size(1) !== t.size(1)) {
    throw new RangeError(`globalAlignmentLoss: expected a and t [B, D] alike, got [${a.shape.join(', ')}] and [${t.shape.join(', ')}]`);
  }
  if (!(Number.isInteger(rank) && rank >= 0)) throw new RangeError(`globalAlignmentLoss: rank must be a non-negative integer, got ${rank}`);
  const batch = a.size(0);
  const aHat = normalize(a, { dim: -1 });
  const tHat = normalize(t, { dim: -1 });
  const [aAll, tAll] = gather ? [gather(aHat), gather(tHat)] : [aHat, tHat];
  const scale = typeof logitScale === 'number' ? Math.exp(logitScale) : logitScale.exp();
  const labels = arange(batch * rank, batch * (rank + 1), 1, { dtype: 'int64', device: a.device as DeviceLike });
  const logitsA = aHat.matmul(tAll.t()).mul(scale);
  const logitsT = tHat.matmul(aAll.t()).mul(scale);
  return crossEntropy(logitsA, labels).add(crossEntropy(logitsT, labels)).div(2);
}

/**
 * The SimSiam local image loss (§7.2), averaged over samples and tokens:
 * −½(cos(pred(I), sg(C2)) + cos(pred(C2), sg(I))), one shared predictor. In [−1, 1].
 */
export function localImageLoss(predictor: Predictor, image: Tensor, imageContext: Tensor): Tensor {
  if (image.dim() !== 3 || image.shape.join() !== imageContext.shape.join()) {
    throw new RangeError(`localImageLoss: expected image and imageContext [B, N, D] alike, got [${image.shape.join(', ')}] and [${imageContext.shape.join(', ')}]`);
  }
  // Every sample has N tokens, so the mean over [B, N] is the mean of the per-sample means.
  const forward = cosineSimilarity(predictor.call(image), imageContext.detach(), -1, 1e-8).mean();
  const backward = cosineSimilarity(predictor.call(imageContext), image.detach(), -1, 1e-8).mean();
  return forward.add(backward).mul(-0.5);
}

/**
 * The local text loss (§7.2): per sample, InfoNCE between its sentences S_b and their image
 * contexts C1_b with only the same report's other sentences as negatives, both directions,
 * averaged over its T_b sentences; then averaged over the B samples. A one-sentence sample
 * gives exactly 0; a sample with no sentence counts as 0 (the original would give NaN).
 */
export function localTextLoss(sentences: Tensor, sentenceContext: Tensor, mask: Tensor, localLogitScale: Tensor | number): Tensor {
  if (sentences.dim() !== 3 || sentences.shape.join() !== sentenceContext.shape.join()) {
    throw new RangeError(`localTextLoss: expected sentences and sentenceContext [B, T, D] alike, got [${sentences.shape.join(', ')}] and [${sentenceContext.shape.join(', ')}]`);
  }
  const [batch, rows] = sentences.shape as [number, number, number];
  if (mask.dtype !== 'bool' || mask.dim() !== 2 || mask.size(0) !== batch || mask.size(1) !== rows) {
    throw new RangeError(`localTextLoss: mask must be bool [${batch}, ${rows}], got ${mask.dtype} [${mask.shape.join(', ')}]`);
  }
  const scale = typeof localLogitScale === 'number' ? Math.exp(localLogitScale) : localLogitScale.exp();
  const s = normalize(sentences, { dim: -1 });
  const c = normalize(sentenceContext, { dim: -1 });
  const logits = c.matmul(s.transpose(1, 2)).mul(scale); // [B, T, T]: context rows, sentence columns
  // Padded columns are no candidates; padded rows keep every column so they stay finite, then drop out.
  const allowed = mask.unsqueeze(1).logicalOr(mask.logicalNot().unsqueeze(2));
  const device = sentences.device as DeviceLike;
  const target = where(mask, arange(rows, { dtype: 'int64', device }).unsqueeze(0), -100).flatten();
  const rowLoss = (l: Tensor): Tensor =>
    crossEntropy(l.maskedFill(allowed.logicalNot(), -Infinity).reshape(batch * rows, rows), target, { reduction: 'none', ignoreIndex: -100 }).reshape(batch, rows);
  const perRow = rowLoss(logits).add(rowLoss(logits.transpose(1, 2)));
  const counts = mask.sum([1]).to(sentences.dtype).clampMin(1);
  return perRow.sum([1]).div(counts).mean().mul(0.5);
}

export type SpgPairing = 'faithful' | 'intended';

export interface SpgOptions {
  /** 'faithful': row i of R is G[col[i]] (the inverse pairing, B3); 'intended': G[argsort(col)], each generated row with its own target. */
  pairing: SpgPairing;
  /** The loss multiplier (lambda_proto, 10 in the paper). */
  lambda: number;
}

export interface SpgResult {
  /** λ · mean over samples of mean |R_b − P_b| over all Q×D entries, padded rows included. */
  loss: Tensor;
  /** R [B, Q, D]: the generated rows reordered by the assignment. */
  matched: Tensor;
  /** concat_b R_b[:len_b] with len_b = mask_b.sum(): the rows the KL and GPA steps use. */
  matchedRows: Tensor;
  /** Per sample, col[i] = the target row the solver assigned to generated row i. */
  assignments: Int32Array[];
}

/**
 * The SPG loss (§6.4): per sample, a Hungarian matching (scipy's solver, ties broken alike) on
 * the detached L1 distances between the generated prototypes G_b [Q, D] and the zero-padded
 * targets P_b [Q, D], then an L1 loss between the reordered G_b and P_b. `mask` [B, Q] marks
 * the real target rows; it selects {@link SpgResult.matchedRows} and does not enter the loss.
 */
export function spgLoss(generated: Tensor, targets: Tensor, mask: Tensor, { pairing, lambda }: SpgOptions): SpgResult {
  if (generated.dim() !== 3 || generated.shape.join() !== targets.shape.join()) {
    throw new RangeError(`spgLoss: expected generated and targets [B, Q, D] alike, got [${generated.shape.join(', ')}] and [${targets.shape.join(', ')}]`);
  }
  const [batch, queries, dim] = generated.shape as [number, number, number];
  if (mask.dtype !== 'bool' || mask.dim() !== 2 || mask.size(0) !== batch || mask.size(1) !== queries) {
    throw new RangeError(`spgLoss: mask must be bool [${batch}, ${queries}], got ${mask.dtype} [${mask.shape.join(', ')}]`);
  }
  if (pairing !== 'faithful' && pairing !== 'intended') throw new TypeError(`spgLoss: pairing must be 'faithful' or 'intended', got '${String(pairing)}'`);
  // One device-to-host read for the whole batch; the solver wants float32 values like scipy got.
  const cost = cdist(generated.detach().float(), targets.detach().float(), 1).cpu().toArray() as Float32Array;
  const assignments: Int32Array[] = [];
  const order = new BigInt64Array(batch * queries);
  for (let b = 0; b < batch; b++) {
    const { colInd } = linearSumAssignment(cost.subarray(b * queries * queries, (b + 1) * queries * queries), queries, queries);
    assignments.push(colInd);
    for (let i = 0; i < queries; i++) {
      // faithful: R[i] = G[col[i]]; intended: R[col[i]] = G[i], i.e. R = G[argsort(col)].
      if (pairing === 'faithful') order[b * queries + i] = BigInt(colInd[i]!);
      else order[b * queries + colInd[i]!] = BigInt(i);
    }
  }
  const index = tensor(order, { device: generated.device as DeviceLike }).reshape(batch, queries, 1).expand(batch, queries, dim);
  const matched = generated.gather(1, index);
  const loss = matched.sub(targets).abs().mean().mul(lambda);
  return { loss, matched, matchedRows: packRows(matched, mask), assignments };
}
