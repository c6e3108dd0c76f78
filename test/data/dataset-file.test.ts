import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DatasetRecord, DatasetFileError, makeSection, multiHot, readDatasetFile, writeDatasetFile } from '../../src/data/dataset-file.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'prior-dataset-'));

function rawRecord(imagePath: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    image_path: [imagePath],
    patient_id: 'p1',
    text_info: { impression: ['R', ['No acute disease.'], 4], findings: ['R', ['Heart is normal.', 'Lungs clear.'], 7] },
    total_sentences: 'No acute disease.Heart is normal.Lungs clear.',
    sentence_number: 3,
    ...extra,
  };
}

describe('dataset file', () => {
  it('resolves relative paths against the file folder, keeps absolute ones, and honours imageRoot', () => {
    const dir = tmp();
    const file = join(dir, 'data.json');
    writeFileSync(file, JSON.stringify({ a: rawRecord('images/a.jpg'), b: rawRecord('/abs/b.jpg') }));
    const read = readDatasetFile(file);
    expect(read.records.map((r) => r.imagePaths[0])).toEqual([join(dir, 'images/a.jpg'), '/abs/b.jpg']);
    expect(read.records[0]?.impression.sentences).toEqual(['No acute disease.']);
    expect(read.records[0]?.label).toBeUndefined();
    const moved = readDatasetFile(file, { imageRoot: '/elsewhere' });
    expect(moved.records.map((r) => r.imagePaths[0])).toEqual(['/elsewhere/images/a.jpg', '/abs/b.jpg']);
  });

  it('names the key and field of a malformed record; skips it by default, throws when strict', () => {
    const dir = tmp();
    const file = join(dir, 'data.json');
    const bad = rawRecord('x.jpg');
    (bad.text_info as { findings: unknown[] }).findings[1] = 'not a list';
    writeFileSync(file, JSON.stringify({ good: rawRecord('g.jpg'), s42: bad, s43: rawRecord('y.jpg', { sentence_number: -1 }) }));
    const read = readDatasetFile(file);
    expect(read.summary.read).toBe(3);
    expect(read.summary.kept).toBe(1);
    expect(read.summary.skipped.map((p) => [p.key, p.field])).toEqual([
      ['s42', 'text_info.findings.1'],
      ['s43', 'sentence_number'],
    ]);
    expect(() => readDatasetFile(file, { strict: true })).toThrow(/record 's42', field 'text_info\.findings\.1'/);
    writeFileSync(file, '[1, 2]');
    expect(() => readDatasetFile(file)).toThrow(DatasetFileError);
  });

  it('derives the multi-hot label from labels and classes.json; unknown names are errors', () => {
    const dir = tmp();
    const file = join(dir, 'data.json');
    writeFileSync(join(dir, 'classes.json'), JSON.stringify({ classes: [{ name: 'ARDS' }, { name: 'COVID-19', prompts: ['covid pneumonia'] }, { name: 'SARS' }] }));
    writeFileSync(file, JSON.stringify({ a: rawRecord('a.jpg', { labels: ['SARS', 'ARDS'] }), b: rawRecord('b.jpg', { labels: ['Flu'] }), c: rawRecord('c.jpg', { label: [0, 1] }) }));
    const read = readDatasetFile(file);
    expect(read.records.map((r) => [r.key, r.label])).toEqual([
      ['a', [1, 0, 1]],
      ['c', [0, 1]],
    ]);
    expect(read.summary.skipped[0]).toMatchObject({ key: 'b', field: 'labels' });
    expect(read.summary.skipped[0]?.message).toMatch(/'Flu' is not in classes\.json/);
    expect(read.classes?.[1]?.prompts).toEqual(['covid pneumonia']);
    expect(multiHot([], read.classes ?? [])).toEqual([0, 0, 0]);
  });

  it('writes what it reads: relative paths inside the folder, the original text fields, classes.json', () => {
    const dir = tmp();
    const file = join(dir, 'sub', 'data.json');
    const record: DatasetRecord = {
      key: 's1',
      imagePaths: [join(dir, 'sub', 'img', '1.jpg'), '/outside/2.jpg'],
      patientId: 'p9',
      impression: makeSection('IMPRESSION: Normal.', ['Normal.']),
      findings: makeSection('IMPRESSION: Normal.', []),
      labels: ['A'],
    };
    writeDatasetFile(file, [record], [{ name: 'A' }, { name: 'B' }]);
    const read = readDatasetFile(file, { strict: true });
    expect(read.records[0]).toEqual({ ...record, impression: { text: 'IMPRESSION: Normal.', sentences: ['Normal.'], tokens: 2 }, label: [1, 0] });
    expect(() => writeDatasetFile(file, [record, record])).toThrow(/duplicate record key 's1'/);
  });
});
