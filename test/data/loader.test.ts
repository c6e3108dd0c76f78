// PretrainLoader on a dataset built on the fly from ../shared/data/cxr-notes (real JPEGs and
// notes): the same batches for any worker count and prefetch depth, DistributedSampler order and
// partition, drop_last, resume by startBatch, bad input skipped (or fatal when strict), worker
// crashes reject instead of hanging, and an idle loader never keeps the process alive.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type PriorBatch, disposeBatch } from '../../src/data/batch.js';
import { buildFromCsv } from '../../src/data/builders.js';
import { type DatasetRecord, makeSection, multiHot } from '../../src/data/dataset-file.js';
import { PRETRAIN_NORMALIZATION, readImage, transformImage } from '../../src/data/image.js';
import { LoaderError, PretrainLoader, type PretrainLoaderOptions, distributedIndices } from '../../src/data/loader.js';
import { encodePriorSentences, reportSentences } from '../../src/data/prior-text.js';
import { BertTokenizer } from '../../src/data/tokenizer.js';
import { Rng } from '../../src/util/rng.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const NOTES = join(REPO, '..', 'shared', 'data', 'cxr-notes');
const built = buildFromCsv({
  csv: join(NOTES, 'metadata.csv'),
  imageCol: 'file',
  textCol: 'clinical_notes',
  labelCol: 'finding',
  labelSep: ',',
  dropLabels: ['todo', 'Unknown'],
  patientCol: 'patientid',
  keyCol: 'id',
  minSentences: 1,
});
const classes = built.classes ?? [];
// Every record labelled (multi-hot over the build's classes), as readDatasetFile would give them.
const RECORDS: DatasetRecord[] = built.records.slice(0, 20).map((r) => ({ ...r, label: multiHot(r.labels ?? [], classes) }));
const SMALL = { imageSize: [64, 64] as [number, number], maxLength: 64 };

const tmp = mkdtempSync(join(tmpdir(), 'prior-loader-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Plain {
  image: number[];
  inputIds: bigint[];
  attentionMask: bigint[];
  sentenceIndex: bigint[];
  label: bigint[] | null;
  shape: number[];
  keys: string[];
  indices: number[];
}

function plain(b: PriorBatch): Plain {
  const out: Plain = {
    image: Array.from(b.image.toArray() as Float32Array),
    inputIds: Array.from(b.inputIds.toArray() as BigInt64Array),
    attentionMask: Array.from(b.attentionMask.toArray() as BigInt64Array),
    sentenceIndex: Array.from(b.sentenceIndex.toArray() as BigInt64Array),
    label: b.label ? Array.from(b.label.toArray() as BigInt64Array) : null,
    shape: b.image.shape,
    keys: b.keys,
    indices: b.indices,
  };
  disposeBatch(b);
  return out;
}

async function collect(loader: PretrainLoader, epoch = 0, startBatch = 0): Promise<Plain[]> {
  const out: Plain[] = [];
  for await (const b of loader.epoch(epoch, { startBatch })) out.push(plain(b));
  return out;
}

async function withLoader<T>(records: readonly DatasetRecord[], options: PretrainLoaderOptions, fn: (l: PretrainLoader) => Promise<T>): Promise<T> {
  const loader = new PretrainLoader(records, options);
  try {
    return await fn(loader);
  } finally {
    await loader.close();
  }
}

describe('PretrainLoader: batches', () => {
  it('collates images, tokens, sentence indices and labels with the right shapes and dtypes', async () => {
    await withLoader(RECORDS.slice(0, 5), { batchSize: 4, shuffle: false, augment: false, workers: 0 }, async (loader) => {
      const it = loader.epoch(0);
      const first = (await it.next()).value as PriorBatch;
      expect(first.image.shape).toEqual([4, 1, 224, 224]);
      expect(first.image.dtype).toBe('float32');
      for (const t of [first.inputIds, first.attentionMask, first.sentenceIndex]) {
        expect(t.shape).toEqual([4, 256]);
        expect(t.dtype).toBe('int64');
      }
      expect(first.label?.shape).toEqual([4, classes.length]);
      expect(first.keys).toEqual(RECORDS.slice(0, 4).map((r) => r.key));
      expect(first.indices).toEqual([0, 1, 2, 3]);
      // Without augmentation the image is the transform of the record's only image.
      const expected = transformImage(await readImage(RECORDS[0]!.imagePaths[0]!), { size: [224, 224], ...PRETRAIN_NORMALIZATION, augment: false }, new Rng(0));
      const got = first.image.toArray() as Float32Array;
      expect(Array.from(got.subarray(0, 224 * 224))).toEqual(Array.from(expected));
      expect(Array.from(first.label!.toArray() as BigInt64Array).slice(0, classes.length).map(Number)).toEqual(RECORDS[0]!.label);
      disposeBatch(first);
      const last = (await it.next()).value as PriorBatch;
      expect(last.image.shape[0]).toBe(1); // drop_last=False keeps the short batch
      disposeBatch(last);
      expect((await it.next()).done).toBe(true);
      expect(loader.summary()).toEqual({ loaded: 5, skipped: [] });
    });
  });

  it('the text is the record sentences, shuffled: same tokens as some order (space join counts are order-free)', async () => {
    const tok = BertTokenizer.default();
    const batches = await withLoader(RECORDS.slice(0, 6), { batchSize: 6, workers: 0, textJoin: 'space', ...SMALL }, collect);
    const mask = batches[0]!.attentionMask;
    RECORDS.slice(0, 6).forEach((r, i) => {
      const b = batches[0]!.indices.indexOf(i);
      const n = mask.slice(b * 64, (b + 1) * 64).reduce((a, x) => a + Number(x), 0);
      expect(n).toBe(encodePriorSentences(tok, reportSentences(r), { maxLength: 64, textJoin: 'space' }).attentionMask.reduce((a, x) => a + x, 0));
    });
  });

  it('gives identical batches for workers 0, 1, 2 and any prefetch depth (items depend on seed, epoch, index only)', async () => {
    const base = { batchSize: 5, seed: 3, ...SMALL } as const;
    const records = RECORDS.slice(0, 12);
    const reference = await withLoader(records, { ...base, workers: 0 }, collect);
    expect(reference.map((b) => b.image.length)).toEqual([5, 5, 2].map((n) => n * 64 * 64));
    for (const [workers, prefetch] of [[1, 1], [2, 3]] as const) {
      const got = await withLoader(records, { ...base, workers, prefetch }, collect);
      expect(got).toEqual(reference);
    }
    // A different seed changes the order and the augmentation.
    const other = await withLoader(records, { ...base, seed: 4, workers: 0 }, collect);
    expect(other[0]!.indices).not.toEqual(reference[0]!.indices);
  });

  it('reshuffles per epoch (seed + epoch) and repeats an epoch exactly', async () => {
    await withLoader(RECORDS, { batchSize: 10, seed: 1, workers: 0, ...SMALL }, async (loader) => {
      const e0 = await collect(loader, 0);
      const e1 = await collect(loader, 1);
      const again = await collect(loader, 0);
      expect(again).toEqual(e0);
      expect(e1.flatMap((b) => b.indices)).not.toEqual(e0.flatMap((b) => b.indices));
      expect([...e1.flatMap((b) => b.indices)].sort((a, b) => a - b)).toEqual(RECORDS.map((_, i) => i));
      expect(e0.flatMap((b) => b.indices)).toEqual(loader.indices(0));
      // DistributedSampler seeds its generator with seed + epoch: epoch 1 of seed 1 is epoch 0 of seed 2.
      expect(loader.indices(1)).toEqual(distributedIndices(RECORDS.length, { shuffle: true, seed: 2, epoch: 0, rank: 0, worldSize: 1 }));
    });
  });

  it('without shuffle the order is the file order', async () => {
    expect(distributedIndices(5, { shuffle: false, seed: 9, epoch: 4, rank: 0, worldSize: 1 })).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('PretrainLoader: DistributedSampler partition', () => {
  it('ranks cover the dataset exactly once, plus the padding repeated from the start of the order', () => {
    for (const [n, worldSize] of [[20, 3], [20, 4], [7, 6], [3, 5]] as const) {
      const perm = Rng.derive(11 + 2).permutation(n);
      const total = Math.ceil(n / worldSize) * worldSize;
      const padded = [...perm];
      while (padded.length < total) padded.push(...perm.slice(0, total - padded.length));
      const all: number[] = [];
      for (let rank = 0; rank < worldSize; rank++) {
        const mine = distributedIndices(n, { shuffle: true, seed: 11, epoch: 2, rank, worldSize });
        expect(mine.length).toBe(total / worldSize);
        expect(mine).toEqual(padded.filter((_, i) => i % worldSize === rank));
        all.push(...mine);
      }
      expect([...all].sort((a, b) => a - b)).toEqual([...padded].sort((a, b) => a - b));
      expect(new Set(all).size).toBe(n);
    }
  });

  it('each rank loader yields its share', async () => {
    const keys: string[] = [];
    for (let rank = 0; rank < 3; rank++) {
      await withLoader(RECORDS, { batchSize: 4, seed: 5, rank, worldSize: 3, workers: 0, ...SMALL }, async (loader) => {
        expect(loader.itemsPerEpoch).toBe(7);
        expect(loader.batchesPerEpoch).toBe(2);
        const batches = await collect(loader, 1);
        expect(batches.map((b) => b.keys.length)).toEqual([4, 3]);
        keys.push(...batches.flatMap((b) => b.keys));
      });
    }
    expect(keys.length).toBe(21);
    expect(new Set(keys)).toEqual(new Set(RECORDS.map((r) => r.key)));
  });
});

describe('PretrainLoader: dropLast and startBatch', () => {
  it('dropLast drops the short last batch; the default keeps it', async () => {
    const keep = await withLoader(RECORDS, { batchSize: 6, workers: 0, ...SMALL }, async (l) => [l.batchesPerEpoch, await collect(l)] as const);
    const drop = await withLoader(RECORDS, { batchSize: 6, workers: 0, dropLast: true, ...SMALL }, async (l) => [l.batchesPerEpoch, await collect(l)] as const);
    expect(keep[0]).toBe(4);
    expect(keep[1].map((b) => b.keys.length)).toEqual([6, 6, 6, 2]);
    expect(drop[0]).toBe(3);
    expect(drop[1]).toEqual(keep[1].slice(0, 3));
  });

  it('startBatch yields exactly the batches after the skipped ones, without reading the skipped items', async () => {
    const options = { batchSize: 4, seed: 8, workers: 0, ...SMALL } as const;
    const full = await withLoader(RECORDS, options, (l) => collect(l, 3));
    const resumed = await withLoader(RECORDS, options, (l) => collect(l, 3, 2));
    expect(resumed).toEqual(full.slice(2));
    // The items of the skipped batches are never opened: make them unreadable and nothing changes.
    const order = distributedIndices(RECORDS.length, { shuffle: true, seed: 8, epoch: 3, rank: 0, worldSize: 1 });
    const broken = RECORDS.map((r, i) => (order.indexOf(i) < 8 ? { ...r, imagePaths: [join(tmp, 'missing.jpg')] } : r));
    await withLoader(broken, options, async (l) => {
      expect(await collect(l, 3, 2)).toEqual(full.slice(2));
      expect(l.summary().skipped).toEqual([]);
    });
    expect(await withLoader(RECORDS, options, (l) => collect(l, 3, 99))).toEqual([]);
  });
});

describe('PretrainLoader: exact resume from a cursor', () => {
  it('resuming from cursor() is exact even after a skipped item; startBatch would shift', async () => {
    const missing: DatasetRecord = { ...RECORDS[1]!, key: 'gone', imagePaths: [join(tmp, 'gone.jpg')] };
    const records = [RECORDS[0]!, missing, ...RECORDS.slice(2, 9)];
    const options = { batchSize: 3, shuffle: false, workers: 0, ...SMALL } as const;
    await withLoader(records, options, async (loader) => {
      const full: Plain[] = [];
      let cursor = loader.cursor();
      for await (const b of loader.epoch(2)) {
        full.push(plain(b));
        if (full.length === 1) cursor = loader.cursor();
      }
      expect(full.map((b) => b.keys.length)).toEqual([3, 3, 2]);
      expect(cursor).toEqual({ epoch: 2, item: 4, batch: 1 }); // 3 loaded + 1 skipped
      expect(loader.cursor()).toEqual({ epoch: 2, item: 9, batch: 3 });
      expect(await collect(loader, 2, 0)).toEqual(full);
      const resumed: Plain[] = [];
      for await (const b of loader.epoch(2, { from: cursor })) resumed.push(plain(b));
      expect(resumed).toEqual(full.slice(1));
      expect(loader.cursor()).toEqual({ epoch: 2, item: 9, batch: 3 });
      expect(loader.summary().skipped).toEqual([]);
      // startBatch counts full batches only: here it re-reads the third record of batch 0's span.
      expect((await collect(loader, 2, 1))[0]!.keys[0]).toBe(records[3]!.key);
      expect(() => loader.epoch(2, { from: cursor, startBatch: 1 })).toThrow(/not both/);
      expect(() => loader.epoch(3, { from: cursor })).toThrow(/epoch 2, not 3/);
    });
  });
});

describe('PretrainLoader: bad input', () => {
  const jpeg = RECORDS[0]!.imagePaths[0]!;
  const truncated = join(tmp, 'truncated.jpg');
  writeFileSync(truncated, readFileSync(jpeg).subarray(0, 600));
  const empty = join(tmp, 'empty.jpg');
  writeFileSync(empty, '');
  const text = join(tmp, 'text.jpg');
  writeFileSync(text, 'this is not a JPEG\n');
  const good = join(tmp, 'good.jpg');
  copyFileSync(jpeg, good);
  const bad = (key: string, imagePath: string, sentences = ['No effusion.']): DatasetRecord => ({
    key,
    imagePaths: [imagePath],
    patientId: key,
    impression: makeSection(sentences.join(' '), []),
    findings: makeSection(sentences.join(' '), sentences),
  });
  const badRecords = [
    bad('truncated', truncated),
    bad('empty-file', empty),
    bad('text-file', text),
    bad('missing', join(tmp, 'nope.jpg')),
    bad('no-sentences', good, []),
    bad('empty-report', good, ['', ' ']),
  ];
  // Six good records around the bad ones, batch 4: the batches stay full.
  const mixed = [...RECORDS.slice(0, 3), ...badRecords, ...RECORDS.slice(3, 6)];

  for (const workers of [0, 2]) {
    it(`skips each bad item with a warning naming the file, and fills batches from the next items (workers ${workers})`, async () => {
      await withLoader(mixed, { batchSize: 4, shuffle: false, workers, ...SMALL }, async (loader) => {
        const batches = await collect(loader);
        expect(batches.map((b) => b.keys)).toEqual([RECORDS.slice(0, 4).map((r) => r.key), RECORDS.slice(4, 6).map((r) => r.key)]);
        const { loaded, skipped } = loader.summary();
        expect(loaded).toBe(6);
        expect(skipped.map((s) => [s.key, s.file])).toEqual([
          ['truncated', truncated],
          ['empty-file', empty],
          ['text-file', text],
          ['missing', join(tmp, 'nope.jpg')],
          ['no-sentences', undefined],
          ['empty-report', undefined],
        ]);
        for (const s of skipped) expect(s.reason.length).toBeGreaterThan(0);
        expect(skipped[4]!.reason).toMatch(/no sentences/);
      });
    });
  }

  for (const [key, file] of [['truncated', truncated], ['text-file', text], ['missing', join(tmp, 'nope.jpg')]] as const) {
    it(`strict: '${key}' is an error naming the record and the file`, async () => {
      const records = [RECORDS[0]!, badRecords.find((r) => r.key === key)!];
      await withLoader(records, { batchSize: 2, shuffle: false, workers: 0, strict: true, ...SMALL }, async (loader) => {
        const err = await collect(loader).then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(LoaderError);
        expect((err as Error).message).toContain(`'${key}'`);
        expect((err as Error).message).toContain(file);
      });
    });
  }

  it('a worker that dies rejects the iterator instead of hanging', async () => {
    const options = { batchSize: 2, workers: 1, vocabPath: join(tmp, 'no-vocab.txt'), ...SMALL };
    await withLoader(RECORDS, options, async (loader) => {
      const err = await collect(loader).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(LoaderError);
      expect((err as Error).message).toMatch(/loader worker \d crashed: .*no-vocab\.txt/);
      // The loader stays failed rather than hanging on the next epoch.
      await expect(collect(loader, 1)).rejects.toThrow(/crashed/);
    });
  });

  it('invalid options are a LoaderError naming the option', () => {
    expect(() => new PretrainLoader(RECORDS, { batchSize: 0 })).toThrow(/batchSize/);
    expect(() => new PretrainLoader(RECORDS, { batchSize: 2, rank: 2, worldSize: 2 })).toThrow(/rank/);
    expect(() => new PretrainLoader(RECORDS, { batchSize: 2, textJoin: 'comma' as 'none' })).toThrow(/textJoin/);
    expect(() => new PretrainLoader([], { batchSize: 2 })).toThrow(/no records/);
  });

  it('a new epoch() supersedes an abandoned iterator; a closed loader refuses new epochs', async () => {
    const loader = new PretrainLoader(RECORDS, { batchSize: 2, workers: 0, ...SMALL });
    const abandoned = loader.epoch(0);
    await abandoned.next().then((r) => disposeBatch(r.value as PriorBatch));
    const fresh = await collect(loader, 1);
    expect(fresh.length).toBe(10);
    expect(loader.summary().loaded).toBe(20);
    await expect(abandoned.next()).rejects.toThrow(/superseded/);
    await loader.close();
    expect(() => loader.epoch(1)).toThrow(/closed/);
  });
});

describe('PretrainLoader: process lifetime', () => {
  it('an unclosed loader with idle workers does not keep the process alive', () => {
    const script = `
      import { PretrainLoader } from ${JSON.stringify(join(REPO, 'src/data/loader.ts'))};
      import { disposeBatch } from ${JSON.stringify(join(REPO, 'src/data/batch.ts'))};
      const records = JSON.parse(process.argv[1]);
      const loader = new PretrainLoader(records, { batchSize: 2, workers: 1, imageSize: [32, 32], maxLength: 16 });
      for await (const b of loader.epoch(0)) { disposeBatch(b); break; }
      console.log('done');`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, JSON.stringify(RECORDS.slice(0, 6))], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('done');
  });
});
