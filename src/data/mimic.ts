// The MIMIC-CXR builder (spec 3.1): walks the MIMIC-CXR-JPG image tree
// (pXX/pXXXXXXXX/sXXXXXXXX/*.jpg), keeps the frontal (PA/AP) images by the metadata CSV, reads each
// study's report (pXX/pXXXXXXXX/sXXXXXXXX.txt), cuts it into sections with the MIMIC-CXR section
// parser's rules (extractSections, spec 3.1 step 3) and keeps studies whose impression + findings
// have at least `minSentences` sentences.
//
// Differences from the original, on purpose:
// * Studies, patients and folders are visited in sorted name order (the original used os.listdir
//   order, which depends on the file system), so a build is reproducible.
// * A missing report is a counted skip, listed in `missingReports` (the original logged it and then
//   crashed, B14); with `strict` it is an error naming the path.
// * The two exclusion tables of the MIMIC-CXR tooling (54 studies with odd layouts) are not applied:
//   in the original the lookup never matched (B14, study ids passed as "ss5..."), so never excluding
//   is the faithful behaviour.
// * Sentences come from the project's rule-based splitter instead of Stanza (see sentences.ts), and
//   token counts from countTokens().
import { type Dirent, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { type BuildResult, Collector, type ProgressCallback, sectionsOf } from './builders.js';
import { forEachCsvRecord } from './csv.js';
import { PRIOR_MIN_SENTENCES } from './sentences.js';

// Python's str whitespace (what `\s` and str.strip() mean in the original), which differs from
// JavaScript's: it adds \x1c-\x1f and \x85 and lacks \ufeff.
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
// A newline, ONE space, an upper-case name, a colon and one whitespace character. The name may
// itself start with spaces, so "\n  FINDINGS:" is a header too (named " FINDINGS", stripped later).
const HEADER = new RegExp(`\\n ([A-Z ()/,-]+):[${PY_SPACE}]`, 'g');
const PY_BLANK = new RegExp(`^[${PY_SPACE}]*$`);
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');

// The normalisation table entries that lead to impression or findings. The original table also maps
// names to other targets (indication, history, ...); none of those names contains a fallback word
// below, so leaving them out changes no impression or findings.
const IMPRESSION_NAMES = new Set([
  'impression', 'conclusion', 'findings and impression', 'findings/impression', 'findings/ impression',
  'impresson', 'imprression', 'imoression', 'impressoin', 'imprssion', 'impresion', 'imperssion',
  'mpression', 'impession', 'ndication',
]);
const FINDINGS_NAMES = new Set([
  'findings', 'chest, two views', 'finding', 'findins', 'findindgs', 'findgings', 'findngs', 'findnings',
  'finidngs', 'reference findings',
]);
// A name outside the table takes the first of these that it contains...
const MAIN_SECTIONS = ['impression', 'findings', 'history', 'comparison', 'addendum'] as const;
// ...and failing that is findings when it names a view of the chest.
const FINDINGS_LIKE = [
  'chest', 'portable', 'pa and lateral', 'lateral and pa', 'ap and lateral', 'lateral and ap', 'frontal and',
  'two views', 'frontal view', 'pa view', 'ap view', 'one view', 'lateral view', 'bone window',
  'frontal upright', 'frontal semi-upright', 'ribs', 'pa and lat',
];

/** A report's impression and findings texts ('' when the report has none of one of them). */
export interface ReportSections {
  impression: string;
  findings: string;
}

interface RawSection {
  name: string;
  text: string;
}

/** The report cut at its headers, with raw (lower-cased, unnormalised) names. */
function sectionText(text: string): RawSection[] {
  const headerFrom = (at: number): RegExpExecArray | null => {
    HEADER.lastIndex = at;
    return HEADER.exec(text);
  };
  let header = headerFrom(0);
  if (header === null) return [{ name: 'full report', text }];
  const sections: RawSection[] = [{ name: 'preamble', text: text.slice(0, header.index + 2) }];
  while (header !== null) {
    const name = (header[1] ?? '').toLowerCase();
    const start = header.index + header[0].length;
    // The next header is looked for only after the first newline following this one.
    const newline = text.indexOf('\n', start);
    header = headerFrom(newline === -1 ? start : newline);
    sections.push({ name, text: text.slice(start, header === null ? text.length : header.index) });
  }
  return sections;
}

/** The normalised section name, reduced to what PRIOR uses: impression, findings or other. */
export function normaliseSectionName(raw: string): 'impression' | 'findings' | 'other' {
  const name = raw.toLowerCase().replace(PY_STRIP, '');
  if (IMPRESSION_NAMES.has(name)) return 'impression';
  if (FINDINGS_NAMES.has(name)) return 'findings';
  const main = MAIN_SECTIONS.find((m) => name.includes(m));
  if (main !== undefined) return main === 'impression' || main === 'findings' ? main : 'other';
  return FINDINGS_LIKE.some((p) => name.includes(p)) ? 'findings' : 'other';
}

/**
 * Spec 3.1 step 3: the impression and findings of a MIMIC-CXR report, or null when it has neither
 * (a report without any header is one "full report" section, so it has neither). Whitespace-only
 * sections do not count; when several sections map to the same name, the last one wins. The texts
 * are returned as they stand in the report (not trimmed).
 */
export function extractSections(reportText: string): ReportSections | null {
  const result: ReportSections = { impression: '', findings: '' };
  let found = false;
  for (const section of sectionText(reportText)) {
    const name = normaliseSectionName(section.name);
    if (name === 'other' || PY_BLANK.test(section.text)) continue;
    result[name] = section.text;
    found = true;
  }
  return found ? result : null;
}

export type MimicImageMode = 'jpg' | 'dicom';

const IMAGE_EXTENSION: Record<MimicImageMode, string> = { jpg: '.jpg', dicom: '.dcm' };

export interface MimicBuildOptions {
  /** The image tree's `files/` folder (pXX/pXXXXXXXX/sXXXXXXXX/<dicom_id>.jpg). */
  imagesDir: string;
  /** The report tree's `files/` folder (pXX/pXXXXXXXX/sXXXXXXXX.txt). */
  reportsDir: string;
  /** Metadata CSV (plain or .gz) with columns dicom_id and ViewPosition. */
  metaCsv: string;
  /** Default PRIOR_MIN_SENTENCES (4). */
  minSentences?: number;
  /** ViewPosition values kept; default PA and AP. */
  views?: readonly string[];
  /** jpg (MIMIC-CXR-JPG, default) or dicom (MIMIC-CXR, *.dcm). */
  mode?: MimicImageMode;
  /** Stop at a missing report or an image without a metadata row instead of skipping. */
  strict?: boolean;
}

export interface MimicBuildResult extends BuildResult {
  /** Report files that studies with kept images had no report at (each a 'no report' skip). */
  missingReports: string[];
}

interface StudyDir {
  pIndex: string;
  patientId: string;
  study: string;
  dir: string;
}

function isDirectory(parent: string, entry: Dirent): boolean {
  return entry.isDirectory() || (entry.isSymbolicLink() && statSync(join(parent, entry.name)).isDirectory());
}

/** Sub-folder names of `dir` in sorted order (files such as index.html are ignored). */
function subdirectories(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => isDirectory(dir, e))
    .map((e) => e.name)
    .sort(byName);
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function studyDirs(imagesDir: string): StudyDir[] {
  if (!existsSync(imagesDir) || !statSync(imagesDir).isDirectory()) throw new RangeError(`MIMIC images folder not found: ${imagesDir}`);
  const studies: StudyDir[] = [];
  for (const pIndex of subdirectories(imagesDir)) {
    for (const patientId of subdirectories(join(imagesDir, pIndex))) {
      const patientDir = join(imagesDir, pIndex, patientId);
      for (const study of subdirectories(patientDir)) studies.push({ pIndex, patientId, study, dir: join(patientDir, study) });
    }
  }
  return studies;
}

/** dicom_id -> ViewPosition for every row of the metadata CSV. */
export function readViewPositions(metaCsv: string): Map<string, string> {
  const views = new Map<string, string>();
  forEachCsvRecord(metaCsv, ['dicom_id', 'ViewPosition'], (r) => views.set(r.dicom_id, r.ViewPosition));
  return views;
}

/** Spec 3.1: one record per study (key = study folder name) with its PA/AP images and sentences. */
export function buildFromMimic(o: MimicBuildOptions, onProgress?: ProgressCallback): MimicBuildResult {
  const minSentences = o.minSentences ?? PRIOR_MIN_SENTENCES;
  const keptViews = new Set(o.views ?? ['PA', 'AP']);
  const extension = IMAGE_EXTENSION[o.mode ?? 'jpg'];
  const viewOf = readViewPositions(o.metaCsv);
  const studies = studyDirs(o.imagesDir);
  const noImage = `no ${[...keptViews].join('/')} image`;
  const c = new Collector();
  const missingReports: string[] = [];
  studies.forEach((s, i) => {
    c.summary.read++;
    onProgress?.(i + 1, studies.length);
    const imagePaths = readdirSync(s.dir)
      .filter((f) => extname(f) === extension)
      .filter((f) => {
        const view = viewOf.get(f.slice(0, -extension.length));
        if (view === undefined && o.strict) throw new RangeError(`${join(s.dir, f)}: dicom_id '${f.slice(0, -extension.length)}' is not in ${o.metaCsv}`);
        return view !== undefined && keptViews.has(view);
      })
      .map((f) => resolve(s.dir, f))
      .sort(byName);
    if (imagePaths.length === 0) return c.skip(noImage);
    const reportPath = join(o.reportsDir, s.pIndex, s.patientId, `${s.study}.txt`);
    if (!existsSync(reportPath)) {
      if (o.strict) throw new RangeError(`study ${s.study}: no report at ${reportPath}`);
      missingReports.push(reportPath);
      return c.skip('no report');
    }
    const report = readFileSync(reportPath, 'utf8');
    const parts = extractSections(report);
    if (parts === null) return c.skip('no findings or impression');
    const sections = sectionsOf(report, parts.impression, parts.findings, minSentences);
    if (typeof sections === 'string') return c.skip(sections);
    c.keep({ key: s.study, imagePaths, patientId: s.patientId, pIndex: s.pIndex, ...sections });
  });
  return { records: c.records, summary: c.summary, missingReports };
}
