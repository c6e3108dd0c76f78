// Dice overlap for binary segmentation masks.
//
// A mask is either a Uint8Array (any non-zero byte is foreground, so 0/1 and 0/255 masks both
// work) or a float array of probabilities, foreground where p > threshold (default 0.5; a Float32Array
// is compared with the threshold rounded to float32, like a float32 tensor in PyTorch).
// Convention for empty masks: prediction and target both empty -> Dice 1 (a correct "nothing
// here"); exactly one empty -> 0.

export type Mask = Uint8Array | Float32Array | Float64Array | readonly number[];

export interface DiceOptions {
  /** Foreground where probability > threshold; applies to float masks only. Default 0.5. */
  threshold?: number;
}

/** Foreground flags of a mask. Float32 maps compare against the threshold rounded to float32, as `probs > t` does in PyTorch. */
function foreground(mask: Mask, threshold: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  if (mask instanceof Uint8Array) {
    for (let i = 0; i < mask.length; i++) out[i] = mask[i] !== 0 ? 1 : 0;
  } else {
    const t = mask instanceof Float32Array ? Math.fround(threshold) : threshold;
    for (let i = 0; i < mask.length; i++) out[i] = mask[i]! > t ? 1 : 0;
  }
  return out;
}

/** 2|P ∩ T| / (|P| + |T|) for one image. */
export function dice(pred: Mask, target: Mask, options: DiceOptions = {}): number {
  if (pred.length !== target.length) {
    throw new Error(`dice: prediction has ${pred.length} pixels but target has ${target.length}`);
  }
  const threshold = options.threshold ?? 0.5;
  const a = foreground(pred, threshold);
  const b = foreground(target, threshold);
  let inter = 0;
  let p = 0;
  let t = 0;
  for (let i = 0; i < a.length; i++) {
    p += a[i]!;
    t += b[i]!;
    inter += a[i]! & b[i]!;
  }
  return p + t === 0 ? 1 : (2 * inter) / (p + t);
}

export interface DiceResult {
  perImage: number[];
  /** Mean of perImage (NaN for no images). */
  mean: number;
}

/** Dice per image pair and their mean (the per-image average, not one pooled Dice). */
export function meanDice(preds: readonly Mask[], targets: readonly Mask[], options: DiceOptions = {}): DiceResult {
  if (preds.length !== targets.length) throw new Error(`meanDice: ${preds.length} predictions but ${targets.length} targets`);
  const perImage = preds.map((p, i) => {
    try {
      return dice(p, targets[i]!, options);
    } catch (e) {
      throw new Error(`meanDice: image ${i}: ${(e as Error).message}`);
    }
  });
  let s = 0;
  for (const d of perImage) s += d;
  return { perImage, mean: s / perImage.length };
}
