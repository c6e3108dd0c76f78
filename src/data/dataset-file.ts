// The pre-training dataset file (spec 3.1): one JSON object keyed by study, each record holding
// image paths, the impression and findings sentences, and optional labels. Every builder writes it
// through writeDatasetFile() and every reader goes through readDatasetFile(), so the format lives
// here only. Image paths are stored relative to the file's folder so that a dataset folder can move.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';

/** [whole report text, sentences, token count]: the original's `text_info` triple. */
const SectionJson = z.tuple([z.string(), z.array(z.string()), z.number().int().min(0)]);

export const DatasetRecordJson = z.object({
  image_path: z.array(z.string().min(1)).min(1),
  p_index: z.string().optional(),
  patient_id: z.string().min(1).optional(),
  text_info: z.object({ impression: SectionJson, findings: SectionJson }),
  total_sentences: z.string(),
  sentence_number: z.number().int().min(0),
  labels: z.array(z.string().min(1)).optional(),
  label: z.array(z.number().int()).optional(),
});
export type DatasetRecordJson = z.infer<typeof DatasetRecordJson>;

export const ClassInfo = z.object({ name: z.string().min(1), prompts: z.array(z.string()).optional() });
export type ClassInfo = z.infer<typeof ClassInfo>;
/** `classes.json` beside the dataset file. */
export const ClassesJson = z.object({ classes: z.array(ClassInfo) });
export const CLASSES_FILE = 'classes.json';

export interface TextSection {
  /** The whole report text (element 0 of the original triple, not only this section). */
  text: string;
  sentences: string[];
  tokens: number;
}

/** One study as the program sees it: absolute image paths, parsed sections, derived labels. */
export interface DatasetRecord {
  key: string;
  imagePaths: string[];
  /** The record's patient; records without one are their own patient (the key). */
  patientId: string;
  pIndex?: string;
  impression: TextSection;
  findings: TextSection;
  /** Class names, when the record carries them. */
  labels?: string[];
  /** Multi-hot over classes.json (derived from `labels`), or the file's own `label`. */
  label?: number[];
}

export class DatasetFileError extends Error {
  override name = 'DatasetFileError';
}

export interface RecordProblem {
  key: string;
  field: string;
  message: string;
}

export interface ReadDatasetOptions {
  /** Throw on the first malformed record instead of skipping it. */
  strict?: boolean;
  /** Resolve relative image paths against this folder instead of the file's. */
  imageRoot?: string;
}

export interface DatasetFile {
  path: string;
  records: DatasetRecord[];
  classes?: ClassInfo[];
  /** Records read, and the malformed ones skipped (never filled in strict mode). */
  summary: { read: number; kept: number; skipped: RecordProblem[] };
}

/** Multi-hot vector of `labels` over `classes`; an unknown name is an error naming it. */
export function multiHot(labels: readonly string[], classes: readonly ClassInfo[]): number[] {
  const index = new Map(classes.map((c, i) => [c.name, i]));
  const out = new Array<number>(classes.length).fill(0);
  for (const name of labels) {
    const i = index.get(name);
    if (i === undefined) throw new RangeError(`label '${name}' is not in ${CLASSES_FILE} (${classes.map((c) => c.name).join(', ')})`);
    out[i] = 1;
  }
  return out;
}

function readClasses(datasetPath: string): ClassInfo[] | undefined {
  const file = join(dirname(datasetPath), CLASSES_FILE);
  if (!existsSync(file)) return undefined;
  const parsed = ClassesJson.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new DatasetFileError(`${file}: ${z.prettifyError(parsed.error)}`);
  return parsed.data.classes;
}

function toSection(t: z.infer<typeof SectionJson>): TextSection {
  return { text: t[0], sentences: t[1], tokens: t[2] };
}

function fromJson(key: string, json: DatasetRecordJson, root: string, classes: ClassInfo[] | undefined): DatasetRecord {
  let label = json.label;
  if (json.labels !== undefined) {
    if (classes === undefined) throw new RecordError('labels', `record has labels but there is no ${CLASSES_FILE} beside the dataset file`);
    try {
      label = multiHot(json.labels, classes);
    } catch (e) {
      throw new RecordError('labels', (e as Error).message);
    }
  }
  const record: DatasetRecord = {
    key,
    imagePaths: json.image_path.map((p) => (isAbsolute(p) ? p : resolve(root, p))),
    patientId: json.patient_id ?? key,
    impression: toSection(json.text_info.impression),
    findings: toSection(json.text_info.findings),
  };
  if (json.p_index !== undefined) record.pIndex = json.p_index;
  if (json.labels !== undefined) record.labels = json.labels;
  if (label !== undefined) record.label = label;
  return record;
}

class RecordError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/** Reads and validates a dataset file; see ReadDatasetOptions for skipping versus strict. */
export function readDatasetFile(path: string, options: ReadDatasetOptions = {}): DatasetFile {
  let top: unknown;
  try {
    top = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new DatasetFileError(`${path}: cannot read the dataset file: ${(e as Error).message}`);
  }
  if (top === null || typeof top !== 'object' || Array.isArray(top)) throw new DatasetFileError(`${path}: expected a JSON object keyed by study`);
  const classes = readClasses(path);
  const root = options.imageRoot ?? dirname(resolve(path));
  const records: DatasetRecord[] = [];
  const skipped: RecordProblem[] = [];
  const entries = Object.entries(top);
  for (const [key, value] of entries) {
    let problem: RecordProblem | undefined;
    const parsed = DatasetRecordJson.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      problem = { key, field: issue?.path.join('.') || '(record)', message: issue?.message ?? 'invalid record' };
    } else {
      try {
        records.push(fromJson(key, parsed.data, root, classes));
      } catch (e) {
        if (!(e instanceof RecordError)) throw e;
        problem = { key, field: e.field, message: e.message };
      }
    }
    if (problem === undefined) continue;
    if (options.strict) throw new DatasetFileError(`${path}: record '${problem.key}', field '${problem.field}': ${problem.message}`);
    skipped.push(problem);
  }
  const file: DatasetFile = { path, records, summary: { read: entries.length, kept: records.length, skipped } };
  if (classes !== undefined) file.classes = classes;
  return file;
}

/** Stored form of an image path: relative to the dataset folder when inside it, else absolute. */
function storedPath(image: string, dir: string): string {
  const rel = relative(dir, resolve(image));
  return rel.startsWith('..') || isAbsolute(rel) ? resolve(image) : rel.split(sep).join('/');
}

function toJson(r: DatasetRecord, dir: string): DatasetRecordJson {
  const sentences = [...r.impression.sentences, ...r.findings.sentences];
  const json: DatasetRecordJson = {
    image_path: r.imagePaths.map((p) => storedPath(p, dir)),
    patient_id: r.patientId,
    text_info: {
      impression: [r.impression.text, r.impression.sentences, r.impression.tokens],
      findings: [r.findings.text, r.findings.sentences, r.findings.tokens],
    },
    // As the original: impression then findings sentences, no separator.
    total_sentences: sentences.join(''),
    sentence_number: sentences.length,
  };
  if (r.pIndex !== undefined) json.p_index = r.pIndex;
  if (r.labels !== undefined) json.labels = r.labels;
  else if (r.label !== undefined) json.label = r.label;
  return json;
}

/**
 * Writes records (absolute or cwd-relative image paths) as a dataset file, and classes.json
 * beside it when classes are given. Records with `labels` get their multi-hot `label` at read time.
 */
export function writeDatasetFile(path: string, records: readonly DatasetRecord[], classes?: readonly ClassInfo[]): void {
  const dir = dirname(resolve(path));
  mkdirSync(dir, { recursive: true });
  const out: Record<string, DatasetRecordJson> = {};
  for (const r of records) {
    if (Object.hasOwn(out, r.key)) throw new DatasetFileError(`${path}: duplicate record key '${r.key}'`);
    out[r.key] = toJson(r, dir);
  }
  writeFileSync(path, `${JSON.stringify(out, null, 1)}\n`);
  if (classes !== undefined) writeFileSync(join(dir, CLASSES_FILE), `${JSON.stringify({ classes }, null, 1)}\n`);
}

/** A rough token count (words and punctuation marks), standing in for Stanza's count. */
export function countTokens(text: string): number {
  return text.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu)?.length ?? 0;
}

/** A section from its sentences; `report` is the whole report text (the original stores that). */
export function makeSection(report: string, sentences: string[]): TextSection {
  return { text: report, sentences, tokens: sentences.reduce((n, s) => n + countTokens(s), 0) };
}
