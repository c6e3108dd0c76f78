// Dataset builders for sources other than MIMIC-CXR: any CSV table of images and report texts, and
// the Indiana University / Open-i XML reports. Both produce DatasetRecords and write them through
// writeDatasetFile(), and both report what they read, kept and skipped (and why).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { parseCsvRecords } from './csv.js';
import { type ClassInfo, type DatasetRecord, makeSection, writeDatasetFile } from './dataset-file.js';
import { splitSentences } from './sentences.js';
import { readTarFile } from './tar.js';

export interface BuildSummary {
  read: number;
  kept: number;
  /** Reason -> number of studies skipped for it. */
  skipped: Record<string, number>;
}

export interface BuildResult {
  records: DatasetRecord[];
  classes?: ClassInfo[];
  summary: BuildSummary;
}

export type ProgressCallback = (done: number, total: number) => void;

/** Collects records and skip reasons while a builder walks its source. */
export class Collector {
  readonly records: DatasetRecord[] = [];
  private readonly keys = new Set<string>();
  readonly summary: BuildSummary = { read: 0, kept: 0, skipped: {} };

  skip(reason: string): void {
    this.summary.skipped[reason] = (this.summary.skipped[reason] ?? 0) + 1;
  }

  keep(record: DatasetRecord): void {
    if (this.keys.has(record.key)) return this.skip('duplicate key');
    this.keys.add(record.key);
    this.records.push(record);
    this.summary.kept++;
  }
}

/** Sentences of the impression and findings texts, or a skip reason when there are too few. */
export function sectionsOf(report: string, impression: string, findings: string, minSentences: number): Pick<DatasetRecord, 'impression' | 'findings'> | string {
  const imp = impression.trim() === '' ? [] : splitSentences(impression);
  const fin = findings.trim() === '' ? [] : splitSentences(findings);
  if (imp.length + fin.length < minSentences) return `fewer than ${minSentences} sentences`;
  return { impression: makeSection(report, imp), findings: makeSection(report, fin) };
}

export function formatBuildSummary(s: BuildSummary, out: string): string {
  const reasons = Object.entries(s.skipped).map(([why, n]) => `  skipped ${n}: ${why}`);
  return [`read ${s.read}, kept ${s.kept}, skipped ${s.read - s.kept}`, ...reasons, `wrote ${out}`].join('\n');
}

export interface CsvBuildOptions {
  csv: string;
  imageCol: string;
  textCol: string;
  labelCol?: string;
  labelSep: string;
  /** Placeholder label values that mean "not labelled" (e.g. todo, Unknown). */
  dropLabels: string[];
  patientCol?: string;
  /** Record key column; defaults to the image column. */
  keyCol?: string;
  minSentences: number;
  /** Folder that relative image paths in the table are relative to; defaults to the CSV's folder. */
  imageRoot?: string;
}

/** One record per table row: the text is the findings section, the image column one image. */
export function buildFromCsv(o: CsvBuildOptions, onProgress?: ProgressCallback): BuildResult {
  const { header, rows } = parseCsvRecords(readFileSync(o.csv, 'utf8'), o.csv);
  for (const col of [o.imageCol, o.textCol, o.labelCol, o.patientCol, o.keyCol]) {
    if (col !== undefined && !header.includes(col)) throw new RangeError(`${o.csv}: no column '${col}' (columns: ${header.join(', ')})`);
  }
  const root = o.imageRoot ?? dirname(resolve(o.csv));
  const drop = new Set(o.dropLabels);
  const c = new Collector();
  rows.forEach((row, i) => {
    c.summary.read++;
    onProgress?.(i + 1, rows.length);
    const image = row[o.imageCol] ?? '';
    const text = (row[o.textCol] ?? '').trim();
    if (image === '') return c.skip('no image path');
    const imagePath = resolve(root, image);
    if (!existsSync(imagePath)) return c.skip('image file missing');
    if (text === '') return c.skip('empty text');
    const sections = sectionsOf(text, '', text, o.minSentences);
    if (typeof sections === 'string') return c.skip(sections);
    const key = o.keyCol !== undefined ? (row[o.keyCol] ?? '') : image;
    const record: DatasetRecord = { key, imagePaths: [imagePath], patientId: (o.patientCol && row[o.patientCol]) || key, ...sections };
    if (o.labelCol !== undefined) {
      const labels = (row[o.labelCol] ?? '').split(o.labelSep).map((l) => l.trim()).filter((l) => l !== '' && !drop.has(l));
      // A row whose labels were all placeholders is unlabelled, not "no finding".
      if (labels.length > 0) record.labels = [...new Set(labels)];
    }
    c.keep(record);
  });
  const result: BuildResult = { records: c.records, summary: c.summary };
  if (o.labelCol !== undefined) {
    const names = [...new Set(c.records.flatMap((r) => r.labels ?? []))].sort();
    result.classes = names.map((name) => ({ name }));
  }
  return result;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function xmlText(s: string): string {
  return s
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] !== '#') return ENTITIES[e] ?? m;
      return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10));
    })
    .replace(/\s+/g, ' ')
    .trim();
}

export interface OpenIReport {
  id: string;
  findings: string;
  impression: string;
  imageIds: string[];
}

/** The fields PRIOR needs from one Open-i report XML (uId, FINDINGS, IMPRESSION, parentImage ids). */
export function parseOpenIReport(xml: string, source: string): OpenIReport {
  const id = /<uId\s+id="([^"]+)"/.exec(xml)?.[1];
  if (id === undefined) throw new SyntaxError(`${source}: no <uId id="..."> element`);
  const section = (label: string): string => {
    const m = new RegExp(`<AbstractText\\s+Label="${label}"\\s*(?:/>|>([\\s\\S]*?)</AbstractText>)`).exec(xml);
    return xmlText(m?.[1] ?? '');
  };
  const imageIds = [...xml.matchAll(/<parentImage\s+id="([^"]+)"/g)].map((m) => m[1] ?? '');
  return { id, findings: section('FINDINGS'), impression: section('IMPRESSION'), imageIds };
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

/** Report XML texts from a folder or a .tgz/.tar archive, ordered by report number. */
function readOpenIXml(reports: string): { name: string; xml: string }[] {
  const files = statSync(reports).isDirectory()
    ? listFiles(reports).map((f) => ({ name: f, read: () => readFileSync(f, 'utf8') }))
    : readTarFile(reports).map((e) => ({ name: `${reports}:${e.path}`, read: () => e.data.toString('utf8') }));
  const number = (name: string): number => Number.parseInt(/(\d+)\.xml$/.exec(name)?.[1] ?? 'NaN', 10);
  return files
    .filter((f) => f.name.endsWith('.xml'))
    .sort((a, b) => number(a.name) - number(b.name) || (a.name < b.name ? -1 : 1))
    .map((f) => ({ name: f.name, xml: f.read() }));
}

export interface OpenIBuildOptions {
  reports: string;
  images: string;
  minSentences: number;
}

/**
 * One record per report (key = uId, e.g. CXR1) with its images found in `images` by file stem
 * (<parentImage id>.png/.jpg). IU reports carry no patient id, so each report is its own patient.
 */
export function buildFromOpenI(o: OpenIBuildOptions, onProgress?: ProgressCallback): BuildResult {
  const imageByStem = new Map(listFiles(o.images).map((f) => [basename(f, extname(f)), resolve(f)]));
  const xmls = readOpenIXml(o.reports);
  const c = new Collector();
  xmls.forEach(({ name, xml }, i) => {
    c.summary.read++;
    onProgress?.(i + 1, xmls.length);
    const r = parseOpenIReport(xml, name);
    if (r.findings === '' && r.impression === '') return c.skip('no findings or impression');
    if (r.imageIds.length === 0) return c.skip('no images listed');
    const imagePaths = r.imageIds.flatMap((id) => imageByStem.get(id) ?? []);
    if (imagePaths.length === 0) return c.skip('image files missing');
    const report = [r.findings && `FINDINGS: ${r.findings}`, r.impression && `IMPRESSION: ${r.impression}`].filter((s) => s !== '').join('\n');
    const sections = sectionsOf(report, r.impression, r.findings, o.minSentences);
    if (typeof sections === 'string') return c.skip(sections);
    c.keep({ key: r.id, imagePaths, patientId: r.id, ...sections });
  });
  return { records: c.records, summary: c.summary };
}

/** Writes a builder's result as a dataset file (and classes.json when it has classes). */
export function writeBuildResult(out: string, result: BuildResult): void {
  writeDatasetFile(out, result.records, result.classes);
}
