// Classification readers on small hand-written files in the public layouts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDatasetFile, type DatasetRecord } from '../../../src/data/dataset-file.js';
import { CHEXPERT_COLUMNS, parseChexpertCsv } from '../../../src/data/downstream/chexpert.js';
import { parseCovidxSplit } from '../../../src/data/downstream/covidx.js';
import { readLabelledDataset } from '../../../src/data/downstream/dataset-json.js';

const dir = mkdtempSync(join(tmpdir(), 'downstream-cls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The header of CheXpert-v1.0-small/train.csv, and rows in its style (blank = not mentioned).
const CHEXPERT = [
  'Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Enlarged Cardiomediastinum,Cardiomegaly,Lung Opacity,Lung Lesion,Edema,Consolidation,Pneumonia,Atelectasis,Pneumothorax,Pleural Effusion,Pleural Other,Fracture,Support Devices',
  'CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg,Female,68,Frontal,AP,1.0,,,,,,,,,0.0,,,,1.0',
  'CheXpert-v1.0-small/train/patient00002/study2/view1_frontal.jpg,Female,87,Frontal,AP,,,-1.0,1.0,,-1.0,-1.0,,-1.0,,-1.0,,1.0,',
  'CheXpert-v1.0-small/train/patient00002/study1/view2_lateral.jpg,Female,83,Lateral,,,,,1.0,,,,,,,,,1.0,',
  'CheXpert-v1.0-small/train/patient00003/study1/view1_frontal.jpg,Male,41,Frontal,AP,,,,,,1.0,,,,0.0,,,,',
].join('\n');

describe('CheXpert', () => {
  const source = '/data/CheXpert-v1.0-small/train.csv';
  it('reads the real header, drops lateral views and applies U-Ones / U-Zeros to the 5 competition classes', () => {
    expect(CHEXPERT.split('\n')[0]!.split(',')).toEqual([...CHEXPERT_COLUMNS]);
    const ones = parseChexpertCsv(CHEXPERT, source, { uncertain: 'ones' });
    const zeros = parseChexpertCsv(CHEXPERT, source, { uncertain: 'zeros' });
    expect(ones.classes).toEqual(['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion']);
    expect(ones.multiLabel).toBe(true);
    expect(ones.samples.map((s) => s.target)).toEqual([
      [0, 0, 0, 0, 0],
      [1, 1, 1, 1, 1],
      [0, 0, 0, 1, 0],
    ]);
    expect(zeros.samples.map((s) => s.target)).toEqual([
      [0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0],
      [0, 0, 0, 1, 0],
    ]);
    // Paths resolve against the folder above CheXpert-v1.0-small/.
    expect(ones.samples[0]!.image).toBe(resolve('/data/CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg'));
    expect(parseChexpertCsv(CHEXPERT, source, { uncertain: 'ones', frontalOnly: false, classes: ['Lung Opacity', 'Fracture'] }).samples.map((s) => s.target)).toEqual([
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ]);
  });

  it('names bad values and missing columns', () => {
    expect(() => parseChexpertCsv(CHEXPERT.replace('-1.0,1.0,,-1.0', '2.0,1.0,,-1.0'), source, { uncertain: 'ones' })).toThrow(/data row 2: 'Cardiomegaly' is '2.0'/);
    expect(() => parseChexpertCsv('Path,Frontal/Lateral\nx.jpg,Frontal', source, { uncertain: 'ones' })).toThrow(/no column 'Atelectasis'/);
  });
});

describe('COVIDx', () => {
  it('reads "patient id, filename, class, data source" lines as single-label data', () => {
    const text = '1 a.png positive sirm\n2 b.jpg negative rsna\n\n3 c.jpg positive cohen\n';
    const d = parseCovidxSplit(text, '/x/train.txt', { imageDir: '/x/train' });
    expect(d.classes).toEqual(['negative', 'positive']);
    expect(d.multiLabel).toBe(false);
    expect(d.samples.map((s) => [s.image, s.target])).toEqual([
      ['/x/train/a.png', [0, 1]],
      ['/x/train/b.jpg', [1, 0]],
      ['/x/train/c.jpg', [0, 1]],
    ]);
    expect(parseCovidxSplit(text, '/x/t.txt', { classes: ['positive', 'negative'] }).samples[0]!.target).toEqual([1, 0]);
    expect(() => parseCovidxSplit('1 a.png\n', '/x/t.txt')).toThrow(/line 1: expected 'patient_id filename class data_source'/);
    expect(() => parseCovidxSplit(text, '/x/t.txt', { classes: ['positive'] })).toThrow(/line 2: class 'negative'/);
  });
});

describe('project dataset file with labels', () => {
  const record = (key: string, labels?: string[]): DatasetRecord => ({
    key,
    imagePaths: [join(dir, `${key}.jpg`)],
    patientId: key,
    impression: { text: 'x.', sentences: ['x.'], tokens: 1 },
    findings: { text: 'x.', sentences: ['x.'], tokens: 1 },
    ...(labels ? { labels } : {}),
  });
  it('is single-label when every record has one label, multi-label otherwise; unlabelled records are left out', () => {
    const classes = [{ name: 'a' }, { name: 'b' }];
    writeDatasetFile(join(dir, 'single.json'), [record('r1', ['b']), record('r2', ['a']), record('r3')], classes);
    const single = readLabelledDataset(join(dir, 'single.json'));
    expect(single).toMatchObject({ classes: ['a', 'b'], multiLabel: false });
    expect(single.samples.map((s) => [s.id, s.target])).toEqual([
      ['r1', [0, 1]],
      ['r2', [1, 0]],
    ]);
    writeDatasetFile(join(dir, 'multi.json'), [record('r1', ['a', 'b']), record('r2', ['a'])], classes);
    expect(readLabelledDataset(join(dir, 'multi.json')).multiLabel).toBe(true);
  });
});
