// The pre-training loader (spec 3.2 steps 5-6): DistributedSampler order, items made in worker
// threads (or in the main thread), collated into PriorBatch tensors in the main thread. An item
// depends only on (seed, epoch, index), never on which worker made it or when, so the batches are
// the same for any worker count or prefetch depth, and a resumed run can skip batches unread.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import * as torch from '../torch/index.js';
import { Rng } from '../util/rng.js';
import type { PriorBatch } from './batch.js';
import type { DatasetFile, DatasetRecord } from './dataset-file.js';
import { PRETRAIN_NORMALIZATION } from './image.js';
import type { WorkerReply, WorkerRequest } from './loader-worker.js';
import { type ItemConfig, ItemMaker, type ItemResult, type ItemTask } from './pretrain-item.js';
import { TEXT_JOINS, reportSentences } from './prior-text.js';
import { DEFAULT_VOCAB_PATH, PRIOR_MAX_LENGTH } from './tokenizer.js';

const PositiveInt = z.number().int().positive();
const NonNegativeInt = z.number().int().nonnegative();

export const PretrainLoaderOptions = z
  .strictObject({
    batchSize: PositiveInt,
    imageSize: z.tuple([PositiveInt, PositiveInt]).default([224, 224]),
    maxLength: PositiveInt.default(PRIOR_MAX_LENGTH),
    /** Random rotation and flip (train). */
    augment: z.boolean().default(true),
    /** Reshuffle the order every epoch (seeded with seed + epoch, as DistributedSampler). */
    shuffle: z.boolean().default(true),
    seed: NonNegativeInt.max(Number.MAX_SAFE_INTEGER).default(0),
    /** Drop the last short batch (the original keeps it). */
    dropLast: z.boolean().default(false),
    rank: NonNegativeInt.default(0),
    worldSize: PositiveInt.default(1),
    /** Worker threads making items; 0 makes them in the main thread. */
    workers: NonNegativeInt.default(0),
    /** Batches in flight ahead of the consumer. */
    prefetch: PositiveInt.default(2),
    /** Throw on the first bad item instead of skipping it with a warning. */
    strict: z.boolean().default(false),
    textJoin: z.enum(TEXT_JOINS).default('none'),
    vocabPath: z.string().min(1).default(DEFAULT_VOCAB_PATH),
    normalization: z.strictObject({ mean: z.number(), std: z.number().positive() }).default({ ...PRETRAIN_NORMALIZATION }),
  })
  .refine((o) => o.rank < o.worldSize, { message: 'rank must be below worldSize', path: ['rank'] });
export type PretrainLoaderOptions = z.input<typeof PretrainLoaderOptions>;
type Options = z.output<typeof PretrainLoaderOptions>;

export class LoaderError extends Error {
  override name = 'LoaderError';
}

export interface SkippedItem {
  key: string;
  file?: string;
  reason: string;
}

/** Where an epoch's iteration stands: what a checkpoint stores to resume exactly. */
export interface LoaderCursor {
  epoch: number;
  /** Items of this rank's order consumed (loaded or skipped) by the batches yielded so far. */
  item: number;
  /** Batches yielded so far, counting the ones a resumed epoch skipped. */
  batch: number;
}

export interface EpochOptions {
  /** Skip the first startBatch·batchSize items unread (exact when none of them was bad). */
  startBatch?: number;
  /** Resume after a checkpointed cursor() of the same epoch: exact even after skipped items. */
  from?: LoaderCursor;
}

export interface LoaderSummary {
  /** Items that made it into batches this epoch. */
  loaded: number;
  skipped: SkippedItem[];
}

/**
 * DistributedSampler's indices for one rank: a permutation seeded with seed + epoch (or 0..n-1),
 * padded by repeating its start to a multiple of worldSize, then every worldSize-th from rank.
 */
export function distributedIndices(n: number, o: { shuffle: boolean; seed: number; epoch: number; rank: number; worldSize: number }): number[] {
  const order = o.shuffle ? Rng.derive(o.seed + o.epoch).permutation(n) : Array.from({ length: n }, (_, i) => i);
  const total = Math.ceil(n / o.worldSize) * o.worldSize;
  for (let i = 0; order.length < total; i++) order.push(order[i]!);
  const mine: number[] = [];
  for (let i = o.rank; i < total; i += o.worldSize) mine.push(order[i]!);
  return mine;
}

/**
 * How to start a worker. From dist/ it is plain JavaScript. From the sources (vitest, tsx) it is
 * TypeScript, and Node 20 applies a worker's `--import tsx` only after resolving its entry, so a
 * small eval'd bootstrap registers tsx's ESM hooks first and then imports the .ts module.
 */
function workerEntry(): { script: string | URL; eval: boolean } {
  if (!import.meta.url.endsWith('.ts')) return { script: new URL('./loader-worker.js', import.meta.url), eval: false };
  const pkgPath = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = TsxPackage.parse(JSON.parse(readFileSync(pkgPath, 'utf8')));
  const api = pathToFileURL(join(dirname(pkgPath), pkg.exports['./esm/api'].import.default)).href;
  const entry = new URL('./loader-worker.ts', import.meta.url).href;
  return { script: `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`, eval: true };
}

const TsxPackage = z.object({ exports: z.object({ './esm/api': z.object({ import: z.object({ default: z.string() }) }) }) });

interface Pending {
  resolve(r: ItemResult): void;
  reject(e: Error): void;
  worker: PoolWorker;
}

interface PoolWorker {
  thread: Worker;
  inFlight: number;
}

/** Worker threads making items; a crash rejects every pending item. Idle workers are unref'd. */
class WorkerPool {
  private readonly workers: PoolWorker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | null = null;
  private closing = false;

  constructor(count: number, config: ItemConfig) {
    const entry = workerEntry();
    for (let i = 0; i < count; i++) {
      const thread = new Worker(entry.script, { eval: entry.eval, workerData: config });
      const w: PoolWorker = { thread, inFlight: 0 };
      thread.on('message', (reply: WorkerReply) => this.onReply(reply));
      thread.on('error', (e) => this.fail(new LoaderError(`loader worker ${i} crashed: ${e.message}`)));
      thread.on('exit', (code) => {
        if (!this.closing) this.fail(new LoaderError(`loader worker ${i} exited unexpectedly (code ${code})`));
      });
      thread.unref();
      this.workers.push(w);
    }
  }

  run(task: ItemTask): Promise<ItemResult> {
    if (this.failure) return Promise.reject(this.failure);
    const w = this.workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    const id = this.nextId++;
    return new Promise<ItemResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: w });
      // Only a busy worker keeps the process alive, so an idle loader never blocks exit.
      if (w.inFlight++ === 0) w.thread.ref();
      w.thread.postMessage({ id, task } satisfies WorkerRequest);
    });
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (p === undefined) return undefined;
    this.pending.delete(id);
    if (--p.worker.inFlight === 0) p.worker.thread.unref();
    return p;
  }

  private onReply(reply: WorkerReply): void {
    const p = this.settle(reply.id);
    if (p === undefined) return;
    if ('error' in reply) p.reject(new LoaderError(`loader worker failed: ${reply.error}`));
    else p.resolve(reply.result);
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(e);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.fail(new LoaderError('the loader was closed'));
    await Promise.all(this.workers.map((w) => w.thread.terminate()));
  }
}

type GoodItem = Extract<ItemResult, { ok: true }> & { index: number };

/**
 * PRIOR's pre-training DataLoader over a dataset file's records. Items that cannot be made (bad
 * image, no sentences) are skipped with a warning and the batch is filled from the next items
 * (only the epoch's last batch may be short), or throw when `strict`.
 */
export class PretrainLoader {
  readonly options: Readonly<Options>;
  /** Batches one rank yields per epoch when no item is skipped. */
  readonly batchesPerEpoch: number;
  /** Items one rank sees per epoch (⌈N / worldSize⌉, DistributedSampler's padding included). */
  readonly itemsPerEpoch: number;
  private readonly records: readonly DatasetRecord[];
  private readonly labelWidth: number | null;
  private pool: WorkerPool | null = null;
  private local: ItemMaker | null = null;
  /** Bumped by every epoch() call: an older iterator that is resumed afterwards throws. */
  private generation = 0;
  private closed = false;
  private current: LoaderSummary = { loaded: 0, skipped: [] };
  private position: LoaderCursor = { epoch: 0, item: 0, batch: 0 };

  constructor(dataset: DatasetFile | readonly DatasetRecord[], options: PretrainLoaderOptions) {
    const parsed = PretrainLoaderOptions.safeParse(options);
    if (!parsed.success) throw new LoaderError(`PretrainLoader options: ${z.prettifyError(parsed.error)}`);
    this.options = parsed.data;
    this.records = 'records' in dataset ? dataset.records : dataset;
    if (this.records.length === 0) throw new LoaderError('PretrainLoader: the dataset has no records');
    // Labels go into batches only when every record has them, all of one width.
    const widths = new Set(this.records.map((r) => r.label?.length ?? -1));
    const [width] = widths;
    this.labelWidth = widths.size === 1 && width !== undefined && width >= 0 ? width : null;
    const o = this.options;
    this.itemsPerEpoch = Math.ceil(this.records.length / o.worldSize);
    this.batchesPerEpoch = o.dropLast ? Math.floor(this.itemsPerEpoch / o.batchSize) : Math.ceil(this.itemsPerEpoch / o.batchSize);
  }

  /** This rank's dataset positions for an epoch, in order. */
  indices(epoch: number): number[] {
    const { shuffle, seed, rank, worldSize } = this.options;
    return distributedIndices(this.records.length, { shuffle, seed, epoch, rank, worldSize });
  }

  /** The current (or last) epoch's position after its last yielded batch. */
  cursor(): LoaderCursor {
    return { ...this.position };
  }

  /** Loaded and skipped items of the current (or last) epoch. */
  summary(): LoaderSummary {
    return { loaded: this.current.loaded, skipped: [...this.current.skipped] };
  }

  /**
   * The batches of one epoch. A resumed run skips what it consumed, unread: `from` (a checkpointed
   * cursor()) is exact; `startBatch` is exact when none of the skipped items was bad. A later
   * call supersedes this iterator (an abandoned one need not be closed): resuming it throws.
   */
  epoch(epoch: number, opts: EpochOptions = {}): AsyncIterableIterator<PriorBatch> {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new LoaderError(`PretrainLoader.epoch: epoch must be a non-negative integer, got ${epoch}`);
    const { startBatch, from } = opts;
    if (startBatch !== undefined && (!Number.isSafeInteger(startBatch) || startBatch < 0)) {
      throw new LoaderError(`PretrainLoader.epoch: startBatch must be a non-negative integer, got ${startBatch}`);
    }
    if (from !== undefined) {
      if (startBatch !== undefined) throw new LoaderError('PretrainLoader.epoch: give startBatch or from, not both');
      if (from.epoch !== epoch) throw new LoaderError(`PretrainLoader.epoch: the cursor is from epoch ${from.epoch}, not ${epoch}`);
      if (![from.item, from.batch].every((v) => Number.isSafeInteger(v) && v >= 0)) throw new LoaderError(`PretrainLoader.epoch: invalid cursor ${JSON.stringify(from)}`);
    }
    if (this.closed) throw new LoaderError('PretrainLoader.epoch: the loader is closed');
    const start = from ?? { epoch, item: (startBatch ?? 0) * this.options.batchSize, batch: startBatch ?? 0 };
    return this.batches(epoch, start.item, start.batch, ++this.generation);
  }

  /** Terminates the workers. */
  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = null;
    await pool?.close();
  }

  private config(): ItemConfig {
    const { seed, imageSize, maxLength, augment, textJoin, vocabPath, normalization } = this.options;
    return { seed, imageSize, maxLength, augment, textJoin, vocabPath, normalization };
  }

  private make(task: ItemTask): Promise<ItemResult> {
    if (this.options.workers === 0) {
      this.local ??= new ItemMaker(this.config());
      return this.local.make(task);
    }
    this.pool ??= new WorkerPool(this.options.workers, this.config());
    return this.pool.run(task);
  }

  private task(epoch: number, index: number): ItemTask {
    const r = this.records[index]!;
    return { epoch, index, key: r.key, imagePaths: r.imagePaths, sentences: reportSentences(r) };
  }

  private async *batches(epoch: number, startItem: number, startBatch: number, generation: number): AsyncGenerator<PriorBatch> {
    const o = this.options;
    const summary: LoaderSummary = { loaded: 0, skipped: [] };
    this.current = summary;
    const order = this.indices(epoch);
    this.position = { epoch, item: Math.min(startItem, order.length), batch: startBatch };
    const superseded = (): void => {
      if (generation !== this.generation) throw new LoaderError(`PretrainLoader: the iterator of epoch ${epoch} was superseded by a later epoch() call`);
    };
    // In the main thread items are made one at a time; workers get `prefetch` batches ahead.
    const window = o.workers === 0 ? 1 : o.prefetch * o.batchSize;
    const inFlight = new Map<number, Promise<ItemResult>>();
    let next = Math.min(startItem, order.length);
    let items: GoodItem[] = [];
    for (let pos = next; pos < order.length; pos++) {
      superseded();
      for (; next < order.length && next - pos < window; next++) {
        const p = this.make(this.task(epoch, order[next]!));
        p.catch(() => {}); // awaited in order below; this only keeps an early rejection from being "unhandled"
        inFlight.set(next, p);
      }
      const result = await inFlight.get(pos)!;
      inFlight.delete(pos);
      superseded();
      const index = order[pos]!;
      if (!result.ok) {
        const key = this.records[index]!.key;
        const where = result.file !== undefined && !result.reason.includes(result.file) ? `${result.file}: ` : '';
        if (o.strict) throw new LoaderError(`record '${key}': ${where}${result.reason}`);
        const skipped: SkippedItem = { key, reason: result.reason };
        if (result.file !== undefined) skipped.file = result.file;
        summary.skipped.push(skipped);
        process.emitWarning(`skipped record '${key}': ${where}${result.reason}`, { code: 'PRIOR_LOADER_SKIP' });
        continue;
      }
      items.push({ ...result, index });
      if (items.length === o.batchSize) {
        summary.loaded += items.length;
        this.position = { epoch, item: pos + 1, batch: this.position.batch + 1 };
        yield this.collate(items);
        items = [];
      }
    }
    superseded();
    if (items.length > 0 && !o.dropLast) {
      summary.loaded += items.length;
      this.position = { epoch, item: order.length, batch: this.position.batch + 1 };
      yield this.collate(items);
    }
  }

  /** Stacks items into tensors: one copy into a batch buffer, one into libtorch. */
  private collate(items: readonly GoodItem[]): PriorBatch {
    const [h, w] = this.options.imageSize;
    const L = this.options.maxLength;
    const B = items.length;
    const image = new Float32Array(B * h * w);
    const inputIds = new Int32Array(B * L);
    const attentionMask = new Int32Array(B * L);
    const sentenceIndex = new Int32Array(B * L);
    items.forEach((it, b) => {
      image.set(it.image, b * h * w);
      inputIds.set(it.inputIds, b * L);
      attentionMask.set(it.attentionMask, b * L);
      sentenceIndex.set(it.sentenceIndex, b * L);
    });
    const labels = this.labelWidth === null ? null : Int32Array.from(items.flatMap((it) => this.records[it.index]!.label!));
    const C = this.labelWidth ?? 0;
    const tensors = torch.scope(() => {
      const int64 = (a: Int32Array, shape: number[]): torch.Tensor<'int64'> => torch.tensor(a, { dtype: 'int64' }).reshape(...shape);
      return {
        image: torch.tensor(image).reshape(B, 1, h, w),
        inputIds: int64(inputIds, [B, L]),
        attentionMask: int64(attentionMask, [B, L]),
        sentenceIndex: int64(sentenceIndex, [B, L]),
        label: labels === null ? null : int64(labels, [B, C]),
      };
    });
    const batch: PriorBatch = {
      image: tensors.image,
      inputIds: tensors.inputIds,
      attentionMask: tensors.attentionMask,
      sentenceIndex: tensors.sentenceIndex,
      keys: items.map((it) => this.records[it.index]!.key),
      indices: items.map((it) => it.index),
    };
    if (tensors.label !== null) batch.label = tensors.label;
    return batch;
  }
}
