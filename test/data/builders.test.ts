import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildFromCsv, buildFromOpenI, formatBuildSummary, parseOpenIReport, writeBuildResult } from '../../src/data/builders.js';
import { parseCsv, parseCsvRecords } from '../../src/data/csv.js';
import { readDatasetFile } from '../../src/data/dataset-file.js';
import { readTar } from '../../src/data/tar.js';

const shared = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'data');
const notesCsv = join(shared, 'cxr-notes', 'metadata.csv');
const iuTgz = join(shared, 'iu-reports', 'NLMCXR_reports.tgz');
const tmp = (): string => mkdtempSync(join(tmpdir(), 'prior-build-'));

describe('csv', () => {
  it('handles quotes, doubled quotes, commas and line breaks inside fields, CRLF', () => {
    expect(parseCsv('a,b\r\n"x, ""y""",\n"multi\nline",z\n')).toEqual([['a', 'b'], ['x, "y"', ''], ['multi\nline', 'z']]);
    expect(() => parseCsvRecords('a,b\n1\n', 't.csv')).toThrow(/t\.csv: data row 1 has 1 fields, the header has 2/);
    expect(() => parseCsv('"open')).toThrow(/unterminated/);
  });
});

describe('build-csv on cxr-notes', () => {
  const options = { csv: notesCsv, imageCol: 'file', textCol: 'clinical_notes', labelCol: 'finding', labelSep: ',', dropLabels: ['todo', 'Unknown'], patientCol: 'patientid', keyCol: 'id', minSentences: 1 };

  it('keeps the rows with notes, as findings, with labels split and placeholders dropped', () => {
    // Independent counts from the published table (README: 434 images, 337 with notes).
    const rows = parseCsvRecords(readFileSync(notesCsv, 'utf8')).rows;
    expect(rows.length).toBe(434);
    const withNotes = rows.filter((r) => (r.clinical_notes ?? '').trim() !== '');
    expect(withNotes.length).toBe(337);

    const result = buildFromCsv(options);
    expect(result.summary.read).toBe(434);
    expect(result.summary.kept).toBe(337);
    expect(result.summary.skipped).toEqual({ 'empty text': 97 });
    const first = result.records[0];
    expect(first?.key).toBe('cxr0001');
    expect(first?.patientId).toBe('2');
    expect(first?.imagePaths).toEqual([join(shared, 'cxr-notes', 'images', 'cxr0001.jpg')]);
    expect(first?.impression.sentences).toEqual([]);
    // The note's text is all there, cut into sentences (compared without whitespace: cleaning collapses it).
    const bare = (t: string): string => t.replace(/\s+/g, '');
    expect(bare(first?.findings.sentences.join('') ?? '')).toBe(bare(withNotes[0]?.clinical_notes ?? ''));
    expect(first?.findings.sentences.length).toBeGreaterThanOrEqual(4);
    expect(first?.labels).toEqual(['COVID-19']);
    const ards = result.records.find((r) => r.labels?.length === 2);
    expect(ards?.labels).toEqual(['COVID-19', 'ARDS']);
    const todo = result.records.filter((r) => r.labels === undefined).map((r) => r.key);
    expect(todo.sort()).toEqual(withNotes.filter((r) => r.finding === 'todo' || r.finding === 'Unknown').map((r) => r.id).sort());
    expect(result.classes?.map((c) => c.name)).not.toContain('todo');

    const dir = tmp();
    writeBuildResult(join(dir, 'notes.json'), result);
    const read = readDatasetFile(join(dir, 'notes.json'), { strict: true });
    expect(read.records.length).toBe(337);
    const names = read.classes?.map((c) => c.name) ?? [];
    const covid = names.indexOf('COVID-19');
    expect(read.records.filter((r) => r.label?.[covid] === 1).length).toBe(withNotes.filter((r) => (r.finding ?? '').split(',').map((s) => s.trim()).includes('COVID-19')).length);
    expect(formatBuildSummary(result.summary, 'notes.json')).toBe('read 434, kept 337, skipped 97\n  skipped 97: empty text\nwrote notes.json');
  });

  it('applies --min-sentences and reports a missing column by name', () => {
    const r = buildFromCsv({ ...options, minSentences: 1000 });
    expect(r.summary.kept).toBe(0);
    expect(r.summary.skipped['fewer than 1000 sentences']).toBe(337);
    expect(() => buildFromCsv({ ...options, textCol: 'notes' })).toThrow(/no column 'notes'/);
  });
});

describe('build-openi on NLMCXR_reports.tgz', () => {
  it('reads the archive: 3,955 report XML files', () => {
    const entries = readTar(readFileSync(iuTgz)).filter((e) => e.path.endsWith('.xml'));
    expect(entries.length).toBe(3955);
    expect(entries.some((e) => e.path === 'ecgen-radiology/1.xml')).toBe(true);
  });

  it('parses a report: entities decoded, whitespace collapsed, self-closing sections empty', () => {
    const xml = '<uId id="CXR9"/><AbstractText Label="FINDINGS">a &lt; b\n  &amp; c&#46;</AbstractText><AbstractText Label="IMPRESSION"/><parentImage id="I1"><parentImage id="I2">';
    expect(parseOpenIReport(xml, 't.xml')).toEqual({ id: 'CXR9', findings: 'a < b & c.', impression: '', imageIds: ['I1', 'I2'] });
    expect(() => parseOpenIReport('<x/>', 't.xml')).toThrow(/t\.xml: no <uId/);
  });

  it('keeps the reports with findings or impression and at least one image file', () => {
    // Independent count, straight from the raw XML text: non-empty FINDINGS/IMPRESSION and parentImage ids.
    const tar = gunzipSync(readFileSync(iuTgz)).toString('latin1');
    const docs = tar.split('<?xml').slice(1);
    expect(docs.length).toBe(3955);
    const hasText = (d: string): boolean => /Label="(FINDINGS|IMPRESSION)">\s*\S/.test(d);
    const ids = (d: string): string[] => [...d.matchAll(/parentImage id="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(docs.filter(hasText).length).toBe(3927); // README: 3,927 of 3,955

    // Fake image files (empty) for every listed id except those of report CXR2.
    const images = tmp();
    mkdirSync(join(images, 'png'));
    const withoutFiles = docs.find((d) => d.includes('<uId id="CXR2"/>')) ?? '';
    expect(hasText(withoutFiles) && ids(withoutFiles).length > 0).toBe(true);
    for (const d of docs) if (d !== withoutFiles) for (const id of ids(d)) writeFileSync(join(images, 'png', `${id}.png`), '');

    const result = buildFromOpenI({ reports: iuTgz, images, minSentences: 1 });
    const listed = docs.filter((d) => hasText(d) && ids(d).length > 0).length;
    expect(result.summary).toEqual({
      read: 3955,
      kept: listed - 1,
      skipped: { 'no findings or impression': 28, 'no images listed': 3927 - listed, 'image files missing': 1 },
    });
    expect(3927 - listed).toBe(101); // README: 101 kept reports list no image

    const cxr1 = result.records.find((r) => r.key === 'CXR1');
    expect(cxr1?.imagePaths).toEqual([join(images, 'png', 'CXR1_1_IM-0001-3001.png'), join(images, 'png', 'CXR1_1_IM-0001-4001.png')]);
    expect(cxr1?.impression.sentences).toEqual(['Normal chest x-XXXX.']);
    expect(cxr1?.findings.sentences[0]).toBe('The cardiac silhouette and mediastinum size are within normal limits.');
    expect(cxr1?.findings.sentences.length).toBe(5);
  });
});
