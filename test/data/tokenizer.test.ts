// Golden ids from Hugging Face's Python BertTokenizer (which agrees with BertTokenizerFast on all of
// them), made by scripts/gen_fixtures_tokenizer.py, on every IU report and on edge cases.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { data } from '../../src/index.js';

const { BertTokenizer, DEFAULT_VOCAB_PATH } = data;
const REPO = resolve(import.meta.dirname, '..', '..');
const FIXTURES = join(REPO, 'test', 'fixtures', 'tokenizer');
const REPORTS_CSV = join(REPO, '..', 'shared', 'data', 'iu-reports', 'reports.csv');

const Ids = z.array(z.number().int());
const Enc = z.object({ input_ids: Ids, attention_mask: Ids });
const BatchEnc = z.object({ input_ids: z.array(Ids), attention_mask: z.array(Ids) });
const Golden = z.object({
  vocab_sha256: z.string(),
  reports: z.array(z.object({ id: z.string(), findings: Ids.nullable(), impression: Ids.nullable(), prior: Enc })),
  cases: z.array(
    z.object({
      name: z.string(),
      text: z.union([z.string(), z.array(z.string())]),
      options: z.object({ do_lower_case: z.boolean().optional(), strip_accents: z.boolean().optional() }),
      call: z.object({
        max_length: z.number().int().optional(),
        truncation: z.boolean().optional(),
        padding: z.enum(['max_length', 'longest']).optional(),
      }),
      input_ids: z.union([Ids, z.array(Ids)]),
      attention_mask: z.union([Ids, z.array(Ids)]),
    }),
  ),
  tiny_cased: Enc.extend({ text: z.string() }),
});
const golden = Golden.parse(JSON.parse(gunzipSync(readFileSync(join(FIXTURES, 'golden.json.gz'))).toString('utf8')));
const uncased = BertTokenizer.default();

/** RFC 4180 rows (reports.csv: quoted fields may hold commas and doubled quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n') row.push(field), rows.push(row), (row = []), (field = '');
    else field += c;
  }
  if (field !== '' || row.length > 0) row.push(field), rows.push(row);
  return rows;
}

function readReports(): Map<string, { findings: string; impression: string }> {
  if (!existsSync(REPORTS_CSV)) throw new Error(`${REPORTS_CSV} is missing (the shared test data must sit beside the repo)`);
  const [header, ...rows] = parseCsv(readFileSync(REPORTS_CSV, 'utf8'));
  const col = (name: string): number => {
    const i = header!.indexOf(name);
    if (i < 0) throw new Error(`${REPORTS_CSV}: no column '${name}'`);
    return i;
  };
  const [id, findings, impression] = [col('report_id'), col('findings'), col('impression')];
  return new Map(rows.map((r) => [r[id]!, { findings: r[findings]!, impression: r[impression]! }]));
}

describe('BERT tokenizer vs Hugging Face on all IU reports', () => {
  const reports = readReports();

  it('uses the stock vocabulary the goldens were made with', () => {
    expect(createHash('sha256').update(readFileSync(DEFAULT_VOCAB_PATH)).digest('hex')).toBe(golden.vocab_sha256);
  });

  it('gives identical ids for findings, impression and PRIOR\'s 256-token call on every report', () => {
    expect(reports.size).toBe(golden.reports.length);
    const mismatches: string[] = [];
    const check = (what: string, actual: unknown, expected: unknown): void => {
      if (mismatches.length < 10 && JSON.stringify(actual) !== JSON.stringify(expected)) {
        mismatches.push(`${what}\n  got      ${JSON.stringify(actual)}\n  expected ${JSON.stringify(expected)}`);
      }
    };
    for (const g of golden.reports) {
      const r = reports.get(g.id);
      if (!r) throw new Error(`report ${g.id} of the goldens is not in ${REPORTS_CSV}`);
      if (g.findings) check(`${g.id} findings`, uncased.encode(r.findings).inputIds, g.findings);
      if (g.impression) check(`${g.id} impression`, uncased.encode(r.impression).inputIds, g.impression);
      const prior = uncased.encodePrior(r.impression + r.findings);
      check(`${g.id} prior`, [prior.inputIds, prior.attentionMask], [g.prior.input_ids, g.prior.attention_mask]);
    }
    expect(mismatches, mismatches.join('\n')).toEqual([]);
  });
});

describe('BERT tokenizer edge cases (goldens from Hugging Face)', () => {
  for (const c of golden.cases) {
    it(c.name, () => {
      const tok =
        Object.keys(c.options).length === 0 ? uncased
        : BertTokenizer.fromVocabFile(DEFAULT_VOCAB_PATH, { doLowerCase: c.options.do_lower_case, stripAccents: c.options.strip_accents });
      const options = { maxLength: c.call.max_length, truncation: c.call.truncation, padding: c.call.padding ?? false } as const;
      const got = typeof c.text === 'string' ? tok.encode(c.text, options) : tok.encodeBatch(c.text, options);
      expect({ input_ids: got.inputIds, attention_mask: got.attentionMask }).toEqual(
        (typeof c.text === 'string' ? Enc : BatchEnc).parse(c),
      );
    });
  }

  it('PRIOR\'s call on a long text keeps 256 tokens and drops [SEP]', () => {
    const c = golden.cases.find((x) => x.name === 'prior_long')!;
    const ids = Ids.parse(c.input_ids);
    expect(ids.length).toBeGreaterThan(256);
    const got = uncased.encodePrior(c.text as string);
    expect(got.inputIds).toEqual(ids.slice(0, 256));
    expect(got.attentionMask).toEqual(new Array(256).fill(1));
    expect(got.inputIds).not.toContain(uncased.sepId);
  });
});

describe('loading', () => {
  it('reads a cased tokenizer.json saved by the fast tokenizer (from a model directory)', () => {
    const tok = BertTokenizer.fromDirectory(join(FIXTURES, 'tiny-cased'));
    expect(tok.settings.doLowerCase).toBe(false);
    const got = tok.encode(golden.tiny_cased.text);
    expect({ input_ids: got.inputIds, attention_mask: got.attentionMask }).toEqual({
      input_ids: golden.tiny_cased.input_ids,
      attention_mask: golden.tiny_cased.attention_mask,
    });
  });

  it('reads vocab.txt from a model directory and names what is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prior-tok-'));
    try {
      copyFileSync(DEFAULT_VOCAB_PATH, join(dir, 'vocab.txt'));
      expect(BertTokenizer.fromDirectory(dir).encode('Heart size normal.').inputIds).toEqual(golden.cases.find((c) => c.name === 'pad')!.input_ids.slice(0, 6));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => BertTokenizer.fromDirectory(FIXTURES)).toThrow(/no tokenizer.json or vocab.txt/);
    expect(() => BertTokenizer.fromTokens(['a', 'b'])).toThrow(/no special token '\[CLS\]'/);
    expect(() => uncased.encode('x', { truncation: true })).toThrow(/truncation needs maxLength/);
  });

  it('rejects a tokenizer.json that is not a BERT WordPiece pipeline, naming the field', () => {
    expect(() => BertTokenizer.fromTokenizerJson(join(REPO, 'package.json'))).toThrow(/package.json: not a BERT WordPiece tokenizer.json: 'normalizer'/);
  });
});
