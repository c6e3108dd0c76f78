// Fine-tuning data: deterministic subsets (train fractions, stratified; a validation split when
// none is given), images read and normalised at the model's input size (PRIOR's pre-training
// statistics, no augmentation), optionally cached, and batches for the trainer (BatchSource).
import { PRETRAIN_NORMALIZATION, readImage, transformImage } from '../data/image.js';
import type { GrayImage } from '../data/gray-image.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import type { BatchSource } from '../train/trainer.js';
import { Rng } from '../util/rng.js';

/**
 * The indices of a `fraction` of 0..n-1, drawn per stratum (ceil(fraction · stratum size), at
 * least one item each) with Rng(seed, stratum number); returned sorted. fraction 1 keeps all.
 */
export function sampleFraction(n: number, fraction: number, seed: number, strataOf?: (i: number) => string): number[] {
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`sampleFraction: fraction must be in (0, 1], got ${fraction}`);
  const all = Array.from({ length: n }, (_, i) => i);
  if (fraction === 1) return all;
  const strata = new Map<string, number[]>();
  for (const i of all) {
    const key = strataOf ? strataOf(i) : '';
    let s = strata.get(key);
    if (s === undefined) strata.set(key, (s = []));
    s.push(i);
  }
  const keys = [...strata.keys()].sort();
  const chosen: number[] = [];
  keys.forEach((key, k) => {
    const members = strata.get(key)!;
    const take = Math.max(1, Math.ceil(fraction * members.length));
    chosen.push(...Rng.derive(seed, k).shuffle([...members]).slice(0, take));
  });
  return chosen.sort((a, b) => a - b);
}

/** A seeded split of 0..n-1 into [rest, held-out] with round(share · n) held out (at least 1). */
export function holdOut(n: number, share: number, seed: number): [number[], number[]] {
  if (!(share > 0 && share < 1)) throw new RangeError(`holdOut: share must be in (0, 1), got ${share}`);
  const order = Rng.derive(seed, 0x5e1).permutation(n);
  const k = Math.min(n - 1, Math.max(1, Math.round(share * n)));
  return [order.slice(k).sort((a, b) => a - b), order.slice(0, k).sort((a, b) => a - b)];
}

/** One sample as the model sees it. */
export interface LoadedItem<T> {
  id: string;
  /** Normalised [size, size] plane. */
  pixels: Float32Array;
  /** The stored image's [height, width]. */
  imageSize: [number, number];
  target: T;
}

/** Reads items on demand (each once when caching). */
export class ItemStore<S extends { id: string; image: string }, T> {
  private readonly cache = new Map<number, Promise<LoadedItem<T>>>();

  constructor(
    readonly samples: readonly S[],
    readonly size: number,
    /** The target at the model's input size, from the sample and its decoded image. */
    private readonly targetOf: (sample: S, image: GrayImage) => Promise<T> | T,
    private readonly caching = true,
  ) {}

  get length(): number {
    return this.samples.length;
  }

  get(i: number): Promise<LoadedItem<T>> {
    const hit = this.cache.get(i);
    if (hit) return hit;
    const p = this.load(i);
    if (this.caching) this.cache.set(i, p);
    return p;
  }

  private async load(i: number): Promise<LoadedItem<T>> {
    const s = this.samples[i];
    if (s === undefined) throw new RangeError(`ItemStore: no sample ${i} of ${this.samples.length}`);
    const img = await readImage(s.image);
    const pixels = transformImage(img, { size: [this.size, this.size], ...PRETRAIN_NORMALIZATION, augment: false }, new Rng(0));
    return { id: s.id, pixels, imageSize: [img.height, img.width], target: await this.targetOf(s, img) };
  }
}

export interface FinetuneBatch<T> {
  /** [B, 1, size, size] float32. */
  image: Tensor<'float32'>;
  items: LoadedItem<T>[];
}

export function disposeFinetuneBatch(batch: FinetuneBatch<unknown>): void {
  batch.image.dispose();
}

export async function loadBatch<S extends { id: string; image: string }, T>(store: ItemStore<S, T>, indices: readonly number[], device: torch.DeviceLike = 'cpu'): Promise<FinetuneBatch<T>> {
  const items = await Promise.all(indices.map((i) => store.get(i)));
  const s = store.size;
  const flat = new Float32Array(items.length * s * s);
  items.forEach((it, k) => flat.set(it.pixels, k * s * s));
  const image = torch.scope(() => {
    const t = torch.tensor(flat).reshape(items.length, 1, s, s);
    return (device === 'cpu' ? t : t.to(device)) as Tensor<'float32'>;
  });
  return { image, items };
}

/**
 * Batches of `indices` for the trainer: shuffled per epoch with Rng(seed, epoch) when training,
 * the last incomplete batch dropped (BatchNorm needs more than one sample); in order and complete
 * for evaluation.
 */
export function batchSource<S extends { id: string; image: string }, T>(
  store: ItemStore<S, T>,
  indices: readonly number[],
  { batchSize, seed, train, device = 'cpu' }: { batchSize: number; seed: number; train: boolean; device?: torch.DeviceLike },
): BatchSource<FinetuneBatch<T>> {
  const batches = train ? Math.max(1, Math.floor(indices.length / batchSize)) : Math.ceil(indices.length / batchSize);
  return {
    batchesPerEpoch: batches,
    epoch(epoch: number, options: { startBatch?: number } = {}): AsyncIterableIterator<FinetuneBatch<T>> {
      const order = train ? Rng.derive(seed, epoch).shuffle([...indices]) : [...indices];
      async function* gen(): AsyncGenerator<FinetuneBatch<T>> {
        for (let b = options.startBatch ?? 0; b < batches; b++) {
          const chunk = order.slice(b * batchSize, (b + 1) * batchSize);
          if (chunk.length === 0) return;
          yield await loadBatch(store, chunk, device);
        }
      }
      return gen();
    },
  };
}
