// The pre-training text item against the ORIGINAL `_tokenizer` logic run with transformers'
// BertTokenizerFast (scripts/gen_fixtures_prior_text.py), on real IU report sentences in a fixed
// order, for both joins; plus spec 14's sentence_index invariant and the item's shuffle.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { encodePriorSentences, isBlankReport, priorText, reportSentences } from '../../src/data/prior-text.js';
import { BertTokenizer } from '../../src/data/tokenizer.js';
import { Rng } from '../../src/util/rng.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const Ids = z.array(z.number().int()).length(256);
const Fixture = z.object({
  max_length: z.literal(256),
  cases: z.array(
    z.object({ name: z.string(), join: z.enum(['none', 'space']), sentences: z.array(z.string()), input_ids: Ids, attention_mask: Ids, sentence_index: Ids }),
  ),
});
const fixture = Fixture.parse(JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'data', 'prior-text.json'), 'utf8')));
const tokenizer = BertTokenizer.default();
const CLS = tokenizer.clsId;
const SEP = tokenizer.sepId;

function section(sentences: string[]): { text: string; sentences: string[]; tokens: number } {
  return { text: sentences.join(' '), sentences, tokens: 0 };
}

describe('encodePriorSentences against the original _tokenizer (transformers BertTokenizerFast)', () => {
  it('has the cases the brief asks for', () => {
    const names = new Set(fixture.cases.map((c) => c.name));
    expect([...names].some((n) => n.endsWith('_long'))).toBe(true);
    expect([...names].some((n) => n.endsWith('_single'))).toBe(true);
    expect([...names].some((n) => n.endsWith('_unpunctuated'))).toBe(true);
    // The long cases really are cut: no [SEP] and no padding left.
    for (const c of fixture.cases.filter((x) => x.name.endsWith('long'))) {
      expect(c.input_ids).not.toContain(SEP);
      expect(c.attention_mask.every((m) => m === 1)).toBe(true);
    }
  });

  for (const c of fixture.cases) {
    it(`${c.name} (join ${c.join})`, () => {
      const out = encodePriorSentences(tokenizer, c.sentences, { textJoin: c.join });
      expect(Array.from(out.inputIds)).toEqual(c.input_ids);
      expect(Array.from(out.attentionMask)).toEqual(c.attention_mask);
      expect(Array.from(out.sentenceIndex)).toEqual(c.sentence_index);
      expect(out.sentences).toEqual(c.sentences);
    });
  }

  it('B15: without a final stop the faithful join fuses words, the space join does not', () => {
    const faithful = fixture.cases.filter((c) => c.join === 'none' && c.name.endsWith('_unpunctuated'));
    const spaced = fixture.cases.filter((c) => c.join === 'space' && c.name.endsWith('_unpunctuated'));
    expect(faithful.length).toBeGreaterThan(0);
    for (const [i, c] of faithful.entries()) expect(c.input_ids).not.toEqual(spaced[i]!.input_ids);
  });
});

describe('sentence_index invariant (spec 14)', () => {
  // Hand-checked pieces in this vocabulary: "no e ##ff ##usion ." (5) and "heart is normal ." (4).
  const NO_EFFUSION = tokenizer.tokenIds('no effusion.');
  const HEART_NORMAL = tokenizer.tokenIds('heart is normal.');
  it('the hand-checked word pieces', () => {
    expect(tokenizer.tokenize('No effusion.')).toEqual(['no', 'e', '##ff', '##usion', '.']);
    expect(tokenizer.tokenize('Heart is normal.')).toEqual(['heart', 'is', 'normal', '.']);
  });
  for (const textJoin of ['none', 'space'] as const) {
    it(`"No effusion." + "Heart is normal." covers each sentence's own word pieces (join ${textJoin})`, () => {
      const out = encodePriorSentences(tokenizer, ['No effusion.', 'Heart is normal.'], { textJoin });
      expect(Array.from(out.inputIds.slice(0, 12))).toEqual([CLS, ...NO_EFFUSION, ...HEART_NORMAL, SEP, 0]);
      expect(Array.from(out.sentenceIndex.slice(0, 12))).toEqual([-1, 1, 1, 1, 1, 1, 2, 2, 2, 2, -1, -1]);
      expect(out.sentenceIndex.slice(12).every((v) => v === -1)).toBe(true);
      expect(Array.from(out.attentionMask.slice(0, 12))).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
    });
  }

  it('B15: a sentence without a final stop fuses with the next (faithful) and a token loses its index', () => {
    // "sizeclear" -> size ##cle ##ar: 7 pieces, but the sentences alone count 3 + 3.
    const faithful = encodePriorSentences(tokenizer, ['Normal heart size', 'Clear lungs.'], { textJoin: 'none' });
    expect(tokenizer.tokenize('Normal heart sizeClear lungs.')).toEqual(['normal', 'heart', 'size', '##cle', '##ar', 'lungs', '.']);
    expect(Array.from(faithful.sentenceIndex.slice(0, 9))).toEqual([-1, 1, 1, 1, 2, 2, 2, -1, -1]);
    expect(faithful.inputIds[7]).toBe(tokenizer.tokenIds('.')[0]); // a real token without a sentence
    const spaced = encodePriorSentences(tokenizer, ['Normal heart size', 'Clear lungs.'], { textJoin: 'space' });
    expect(Array.from(spaced.inputIds.slice(0, 8))).toEqual([CLS, ...tokenizer.tokenIds('normal heart size clear lungs.'), SEP]);
    expect(Array.from(spaced.sentenceIndex.slice(0, 8))).toEqual([-1, 1, 1, 1, 2, 2, 2, -1]);
  });

  it('maxLength other than 256 cuts the same way', () => {
    const out = encodePriorSentences(tokenizer, ['No effusion.', 'Heart is normal.'], { maxLength: 8 });
    expect(Array.from(out.inputIds)).toEqual([CLS, ...NO_EFFUSION, ...HEART_NORMAL.slice(0, 2)]);
    expect(Array.from(out.sentenceIndex)).toEqual([-1, 1, 1, 1, 1, 1, 2, 2]);
  });
});

describe('priorText (the item: collect, shuffle with the item Rng, encode)', () => {
  const record = { impression: section(['No acute disease.']), findings: section(['Heart is normal.', 'Lungs are clear.', 'No effusion.']) };

  it('collects impression sentences, then findings sentences', () => {
    expect(reportSentences(record)).toEqual(['No acute disease.', 'Heart is normal.', 'Lungs are clear.', 'No effusion.']);
  });

  it('shuffles with the given Rng (same stream, same order) and encodes that order', () => {
    const a = priorText(tokenizer, record, Rng.derive(7, 0, 3));
    const b = priorText(tokenizer, record, Rng.derive(7, 0, 3));
    expect(a.sentences).toEqual(b.sentences);
    expect(a.sentences).toEqual(Rng.derive(7, 0, 3).shuffle(reportSentences(record)));
    expect(Array.from(a.inputIds)).toEqual(Array.from(encodePriorSentences(tokenizer, a.sentences).inputIds));
    // Over a few streams every order shows up at least twice (4! = 24 orders, not one fixed one).
    const orders = new Set(Array.from({ length: 200 }, (_, i) => priorText(tokenizer, record, Rng.derive(7, 0, i)).sentences.join('|')));
    expect(orders.size).toBeGreaterThan(12);
    // The record itself is not shuffled in place.
    expect(record.findings.sentences[0]).toBe('Heart is normal.');
  });

  it('isBlankReport: empty lists and whitespace-only sentences', () => {
    expect(isBlankReport([])).toBe(true);
    expect(isBlankReport(['', '  '])).toBe(true);
    expect(isBlankReport(['', 'x'])).toBe(false);
  });
});
