import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BuildMimicCliOptions, parseCliOptions } from '../../src/cli/data.js';
import { CsvParser, forEachCsvRecord, parseCsv } from '../../src/data/csv.js';
import { readDatasetFile, writeDatasetFile } from '../../src/data/dataset-file.js';
import { buildFromMimic, extractSections, normaliseSectionName, type ReportSections } from '../../src/data/mimic.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = join(repo, 'test', 'fixtures', 'data');
const notesImages = resolve(repo, '..', 'shared', 'data', 'cxr-notes', 'images');

interface SectionCase {
  id: string;
  text: string;
  expected: ReportSections | null;
}
const readCases = (file: string): SectionCase[] => JSON.parse(readFileSync(join(fixtures, file), 'utf8')) as SectionCase[];

describe('extractSections (spec 3.1 step 3)', () => {
  // Hand-written MIMIC-style reports; the expected sections were worked out by hand from the rules
  // (and scripts/gen_fixtures_mimic_sections.py checks its Python re-statement against them too).
  const hand = readCases('mimic-sections-hand.json');

  it.each(hand.map((c) => [c.id, c] as const))('hand case %s', (_id, c) => {
    expect(extractSections(c.text)).toEqual(c.expected);
  });

  it('covers the rules the brief names', () => {
    expect(hand.map((c) => c.id)).toEqual(expect.arrayContaining(['typo-impresson', 'findings-and-impression', 'pa-and-lateral-chest', 'no-header', 'two-space-header', 'duplicates-last-wins']));
    // Two leading spaces still match: the header class contains a space, so the name is " FINDINGS".
    expect(extractSections('x\n  FINDINGS:  Clear.')).toEqual({ impression: '', findings: ' Clear.' });
    // A header needs a newline before it, one space, upper case, a colon and whitespace.
    expect(extractSections(' FINDINGS:  Clear.')).toBeNull();
    expect(extractSections('x\nFINDINGS:  Clear.')).toBeNull();
    expect(extractSections('x\n FINDINGS:Clear.')).toBeNull();
    expect(extractSections('x\n Findings:  Clear.')).toBeNull();
  });

  it('normalises names through the table, then substrings, then findings-like phrases', () => {
    const cases: [string, string][] = [
      ['IMPRESSION', 'impression'], ['CONCLUSION', 'impression'], ['FINDINGS/ IMPRESSION', 'impression'],
      ['IMPERSSION', 'impression'], ['NDICATION', 'impression'], ['INDICATION', 'other'],
      ['FINDINS', 'findings'], ['CHEST, TWO VIEWS', 'findings'], ['REFERENCE FINDINGS', 'findings'],
      ['IMPRESSION AND FINDINGS', 'impression'], ['HISTORY/FINDINGS', 'findings'], ['FINDINGS/HISTORY', 'findings'],
      ['CLINICAL HISTORY', 'other'], ['ADDENDUM', 'other'], ['PORTABLE AP', 'findings'], ['AP VIEW', 'findings'],
      ['LEFT RIBS', 'findings'], ['PA AND LAT', 'findings'], ['FRONTAL SEMI-UPRIGHT', 'findings'],
      ['WET READ', 'other'], [' FINDINGS ', 'findings'], ['COMPARISON', 'other'], ['TECHNIQUE', 'other'],
    ];
    for (const [raw, want] of cases) expect([raw, normaliseSectionName(raw)]).toEqual([raw, want]);
  });

  it('matches the Python re-statement on the hand cases and 200 IU reports in MIMIC layout', () => {
    const golden = readCases('mimic-sections.json');
    expect(golden.length).toBe(215);
    // The generator varies enough that every outcome is represented.
    expect(golden.filter((c) => c.expected === null).length).toBeGreaterThan(10);
    expect(golden.filter((c) => c.expected?.impression && c.expected.findings).length).toBeGreaterThan(10);
    const wrong = golden.filter((c) => JSON.stringify(extractSections(c.text)) !== JSON.stringify(c.expected)).map((c) => c.id);
    expect(wrong).toEqual([]);
  });
});

describe('CSV streaming', () => {
  const text = '\ufeffdicom_id,ViewPosition,note\r\na1,PA,"x, ""y"""\r\nb2,AP,"multi\nline"\nc3,LATERAL,\n';

  it('gives the same rows whatever the piece boundaries', () => {
    const whole = parseCsv(text);
    expect(whole).toEqual([['dicom_id', 'ViewPosition', 'note'], ['a1', 'PA', 'x, "y"'], ['b2', 'AP', 'multi\nline'], ['c3', 'LATERAL', '']]);
    for (const size of [1, 2, 3, 7]) {
      const parser = new CsvParser();
      const rows: string[][] = [];
      for (let i = 0; i < text.length; i += size) rows.push(...parser.push(text.slice(i, i + size)));
      rows.push(...parser.end());
      expect(rows).toEqual(whole);
    }
  });

  it('streams a plain or gzip file as records, naming a missing column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prior-csv-'));
    writeFileSync(join(dir, 'm.csv'), text);
    writeFileSync(join(dir, 'm.csv.gz'), gzipSync(text));
    for (const f of ['m.csv', 'm.csv.gz']) {
      const seen: string[] = [];
      expect(forEachCsvRecord(join(dir, f), ['dicom_id', 'ViewPosition'], (r) => seen.push(`${r.dicom_id}:${r.ViewPosition}`))).toBe(3);
      expect(seen).toEqual(['a1:PA', 'b2:AP', 'c3:LATERAL']);
    }
    expect(() => forEachCsvRecord(join(dir, 'm.csv'), ['dicom_id', 'view'], () => {})).toThrow(/m\.csv: no column 'view'/);
  });
});

// A fake MIMIC-CXR-JPG tree: 7 studies, each meant to exercise one outcome.
const STANDARD = readCases('mimic-sections-hand.json').find((c) => c.id === 'standard')?.text ?? '';
const PORTABLE = `                                 FINAL REPORT
 EXAMINATION:  CHEST (PORTABLE AP)
 
 INDICATION:  ___ with shortness of breath.
 
 FINDINGS: 
 
 Endotracheal tube tip is 4.5 cm above the carina.  Moderate cardiomegaly is
 unchanged.  There is mild pulmonary vascular congestion.
 
 IMPRESSION: 
 
 1. Endotracheal tube in standard position.
 2. Mild pulmonary vascular congestion.
`;
const SHORT = ' FINAL REPORT\n FINDINGS:  Mild cardiomegaly.\n \n IMPRESSON:  Mild cardiomegaly without edema.\n';
const NO_HEADER = 'Heart size is normal. The lungs are clear. No pleural effusion. No pneumothorax.\n';

interface FakeTree {
  root: string;
  images: string;
  reports: string;
  meta: string;
}

function fakeMimic(extension = '.jpg'): FakeTree {
  const root = mkdtempSync(join(tmpdir(), 'prior-mimic-'));
  const images = join(root, 'files');
  const reports = join(root, 'reports', 'files');
  const studies: [string, string, string, [string, string][], string | null][] = [
    // p_index, patient, study, [dicom_id, view], report
    ['p10', 'p10000001', 's50000001', [['aa01-pa', 'PA'], ['aa02-lat', 'LATERAL']], STANDARD],
    ['p10', 'p10000001', 's50000002', [['bb02-pa', 'PA'], ['bb01-ap', 'AP']], PORTABLE],
    ['p10', 'p10000002', 's50000003', [['cc01-lat', 'LATERAL']], STANDARD],
    ['p11', 'p11000003', 's50000004', [['dd01-pa', 'PA']], null],
    ['p11', 'p11000003', 's50000005', [['ee01-pa', 'PA']], SHORT],
    ['p11', 'p11000004', 's50000006', [['ff01-ap', 'AP']], NO_HEADER],
    ['p11', 'p11000004', 's50000007', [['gg01-unknown', '']], STANDARD],
  ];
  const rows = ['dicom_id,subject_id,study_id,PerformedProcedureStepDescription,ViewPosition'];
  let n = 1;
  for (const [p, patient, study, dicoms, report] of studies) {
    const dir = join(images, p, patient, study);
    mkdirSync(dir, { recursive: true });
    for (const [id, view] of dicoms) {
      copyFileSync(join(notesImages, `cxr000${n++}.jpg`), join(dir, `${id}${extension}`));
      if (view !== '') rows.push(`${id},${patient.slice(1)},${study.slice(1)},"CHEST (PA AND LAT), ${view}",${view}`);
    }
    if (report !== null) {
      mkdirSync(join(reports, p, patient), { recursive: true });
      writeFileSync(join(reports, p, patient, `${study}.txt`), report);
    }
  }
  writeFileSync(join(images, 'index.html'), '<html></html>'); // wget mirrors leave these about
  writeFileSync(join(images, 'p10', 'index.html'), '<html></html>');
  const meta = join(root, 'mimic-cxr-2.0.0-metadata.csv');
  writeFileSync(meta, `${rows.join('\n')}\n`);
  return { root, images, reports, meta };
}

const EXPECTED_SUMMARY = {
  read: 7,
  kept: 2,
  skipped: { 'no PA/AP image': 2, 'no report': 1, 'fewer than 4 sentences': 1, 'no findings or impression': 1 },
};

describe('buildFromMimic on a fake MIMIC-CXR-JPG tree', () => {
  it('keeps frontal images of studies with enough sentences, and counts each skip', () => {
    const t = fakeMimic();
    const progress: string[] = [];
    const r = buildFromMimic({ imagesDir: t.images, reportsDir: t.reports, metaCsv: t.meta }, (done, total) => progress.push(`${done}/${total}`));
    expect(r.summary).toEqual(EXPECTED_SUMMARY);
    expect(progress.at(-1)).toBe('7/7');
    expect(r.missingReports).toEqual([join(t.reports, 'p11', 'p11000003', 's50000004.txt')]);
    expect(r.records.map((x) => x.key)).toEqual(['s50000001', 's50000002']);

    const out = join(t.root, 'mimic.json');
    writeDatasetFile(out, r.records);
    const json = JSON.parse(readFileSync(out, 'utf8')) as Record<string, Record<string, unknown>>;
    expect(Object.keys(json)).toEqual(['s50000001', 's50000002']);
    const fin = ['The lungs are clear.', 'There is no pleural effusion or pneumothorax.', 'The cardiomediastinal silhouette is normal.'];
    expect(json.s50000001).toEqual({
      image_path: ['files/p10/p10000001/s50000001/aa01-pa.jpg'],
      p_index: 'p10',
      patient_id: 'p10000001',
      // Element 0 is the whole report; the counts are words + punctuation marks (5 | 5 + 8 + 6).
      text_info: { impression: [STANDARD, ['No acute cardiopulmonary process.'], 5], findings: [STANDARD, fin, 19] },
      total_sentences: `No acute cardiopulmonary process.${fin.join('')}`,
      sentence_number: 4,
    });
    const s2 = json.s50000002 ?? {};
    expect(s2.image_path).toEqual(['files/p10/p10000001/s50000002/bb01-ap.jpg', 'files/p10/p10000001/s50000002/bb02-pa.jpg']);
    expect(s2.text_info).toEqual({
      impression: [PORTABLE, ['1. Endotracheal tube in standard position.', '2. Mild pulmonary vascular congestion.'], 15],
      findings: [PORTABLE, ['Endotracheal tube tip is 4.5 cm above the carina.', 'Moderate cardiomegaly is unchanged.', 'There is mild pulmonary vascular congestion.'], 24],
    });
    expect(s2.sentence_number).toBe(5);
    expect(readDatasetFile(out, { strict: true }).records[1]?.imagePaths).toEqual([join(t.images, 'p10', 'p10000001', 's50000002', 'bb01-ap.jpg'), join(t.images, 'p10', 'p10000001', 's50000002', 'bb02-pa.jpg')]);
  });

  it('applies min sentences and views, reads .dcm in dicom mode and a .gz metadata table', () => {
    const t = fakeMimic('.dcm');
    writeFileSync(`${t.meta}.gz`, gzipSync(readFileSync(t.meta)));
    expect(buildFromMimic({ imagesDir: t.images, reportsDir: t.reports, metaCsv: t.meta }).summary).toEqual({ read: 7, kept: 0, skipped: { 'no PA/AP image': 7 } });
    const dicom = buildFromMimic({ imagesDir: t.images, reportsDir: t.reports, metaCsv: `${t.meta}.gz`, mode: 'dicom', minSentences: 2 });
    expect(dicom.summary).toEqual({ read: 7, kept: 3, skipped: { 'no PA/AP image': 2, 'no report': 1, 'no findings or impression': 1 } });
    expect(dicom.records[2]?.key).toBe('s50000005');
    expect(dicom.records[0]?.imagePaths).toEqual([join(t.images, 'p10', 'p10000001', 's50000001', 'aa01-pa.dcm')]);
    const pa = buildFromMimic({ imagesDir: t.images, reportsDir: t.reports, metaCsv: t.meta, mode: 'dicom', views: ['PA'] });
    expect(pa.records.map((x) => [x.key, x.imagePaths.length])).toEqual([['s50000001', 1], ['s50000002', 1]]);
    expect(pa.summary.skipped['no PA image']).toBe(3);
  });

  it('strict: a missing report, then an image without metadata, is an error naming it', () => {
    const t = fakeMimic();
    const o = { imagesDir: t.images, reportsDir: t.reports, metaCsv: t.meta, strict: true };
    expect(() => buildFromMimic(o)).toThrow(/study s50000004: no report at .*p11000003\/s50000004\.txt/);
    writeFileSync(join(t.reports, 'p11', 'p11000003', 's50000004.txt'), STANDARD);
    expect(() => buildFromMimic(o)).toThrow(/gg01-unknown\.jpg: dicom_id 'gg01-unknown' is not in .*metadata\.csv/);
    expect(() => buildFromMimic({ ...o, imagesDir: join(t.root, 'nowhere') })).toThrow(/MIMIC images folder not found/);
  });
});

describe('prior data build-mimic (CLI)', () => {
  it('validates its options', () => {
    const base = { images: 'i', reports: 'r', meta: 'm.csv', out: 'o.json', minSentences: '4', mode: 'jpg', views: 'PA, AP' };
    expect(parseCliOptions(BuildMimicCliOptions, base, 'build-mimic')).toEqual({ ...base, minSentences: 4, views: ['PA', 'AP'], strict: false });
    expect(() => parseCliOptions(BuildMimicCliOptions, { ...base, mode: 'png' }, 'build-mimic')).toThrow(/invalid options for 'prior data build-mimic'[\s\S]*mode/);
  });

  it('builds end to end', { timeout: 60_000 }, () => {
    const t = fakeMimic();
    const out = join(t.root, 'out', 'mimic.json');
    const run = (...extra: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'src', 'cli', 'main.ts'), 'data', 'build-mimic', '--images', t.images, '--reports', t.reports, '--meta', t.meta, '--out', out, ...extra], { cwd: repo, encoding: 'utf8' });
    const ok = run();
    expect(ok.stdout).toBe(`read 7, kept 2, skipped 5\n  skipped 2: no PA/AP image\n  skipped 1: no report\n  skipped 1: fewer than 4 sentences\n  skipped 1: no findings or impression\nwrote ${out}\n`);
    expect(ok.stderr).toContain('7/7 studies');
    expect(ok.stderr).toContain(`no report: ${join(t.reports, 'p11', 'p11000003', 's50000004.txt')}`);
    expect(ok.status).toBe(0);
    expect(readDatasetFile(out, { strict: true }).records.map((r) => r.key)).toEqual(['s50000001', 's50000002']);

    const bad = run('--mode', 'png');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/invalid options for 'prior data build-mimic'[\s\S]*mode/);
  });
});
