// Classification fine-tuning end to end on the real cxr-notes X-rays: findings from metadata.csv
// (built with buildFromCsv, label column 'finding'), COVID-19 vs other, split by patient.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { buildFromCsv } from '../../src/data/builders.js';
import { writeDatasetFile } from '../../src/data/dataset-file.js';
import { readLabelledDataset } from '../../src/data/downstream/dataset-json.js';
import { splitRecords } from '../../src/data/split.js';
import { ClassifyTask } from '../../src/finetune/classify.js';
import { loadEncoder } from '../../src/finetune/encoder.js';
import { runFinetune } from '../../src/finetune/run.js';

const NOTES = '../shared/data/cxr-notes';
const dir = mkdtempSync(join(tmpdir(), 'ft-classify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prior finetune classify (cxr-notes findings)', () => {
  it('trains a linear probe, writes metrics.json with per-class AUROC and a ROC PNG', async () => {
    expect(existsSync(join(NOTES, 'metadata.csv')), `${NOTES}/metadata.csv is missing`).toBe(true);
    const built = buildFromCsv({ csv: join(NOTES, 'metadata.csv'), imageCol: 'file', textCol: 'clinical_notes', labelCol: 'finding', labelSep: ',', dropLabels: ['todo', 'Unknown'], patientCol: 'patientid', keyCol: 'id', minSentences: 1 });
    const records = built.records.map((r) => ({ ...r, labels: [r.labels?.includes('COVID-19') ? 'COVID-19' : 'other'] }));
    const classes = [{ name: 'COVID-19' }, { name: 'other' }];
    const splits = splitRecords(records, { val: 0.2, test: 0.2, seed: 7 });
    for (const [name, rs] of Object.entries(splits)) writeDatasetFile(join(dir, 'data', `${name}.json`), rs, classes);
    const [train, val, test] = ['train', 'val', 'test'].map((n) => readLabelledDataset(join(dir, 'data', `${n}.json`)));
    expect(train!.multiLabel).toBe(false);
    expect(train!.classes).toEqual(['COVID-19', 'other']);

    const { encoder, description } = loadEncoder({ kind: 'random', depth: 18, seed: 1 });
    const task = new ClassifyTask(encoder, train!.classes, false);
    const runDir = join(dir, 'run');
    const result = await runFinetune({
      task,
      encoderDescription: description,
      train: train!.samples,
      val: val!.samples,
      test: test!.samples,
      settings: { runDir, fraction: 1, mode: 'linear', imageSize: 64, batchSize: 16, epochs: 3, lr: 1e-2, weightDecay: 0, patience: 0, seed: 0, device: 'cpu' },
      progress: null,
      log: () => {},
    });
    const saved = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8')) as typeof result;
    console.log('classification', JSON.stringify({ untrained: saved.untrained.metrics, val: saved.val.metrics, test: saved.test?.metrics, sizes: saved.sizes }));
    expect(saved.sizes.train).toBe(train!.samples.length);
    for (const split of [saved.val, saved.test!]) {
      expect(Object.keys(split.metrics).sort()).toEqual(['accuracy', 'auroc/COVID-19', 'auroc/other', 'auroc_macro']);
      expect(split.metrics.auroc_macro).toBeGreaterThan(0);
      expect(split.metrics.auroc_macro).toBeLessThanOrEqual(1);
    }
    // Linear probing: the encoder is unchanged, only the head trained.
    expect(saved.training.steps).toBe(3 * Math.floor(train!.samples.length / 16));
    expect(saved.bestStep).not.toBeNull();
    const png = await sharp(join(runDir, 'roc-val.png')).metadata();
    expect(png.format).toBe('png');
    expect(existsSync(join(runDir, 'metrics.jsonl'))).toBe(true);
    expect(readFileSync(join(runDir, 'validation.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
  }, 120_000);
});
