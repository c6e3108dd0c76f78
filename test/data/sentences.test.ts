// The sentence splitter against the hand-labelled IU passages (test/fixtures/data/sentences-gold.json,
// labelled by reading them before the splitter existed; see scripts/sample_sentence_passages.py),
// plus one unit test per rule.
//
// Metric: a boundary is the character offset in the passage where a sentence other than the first
// starts (the end of the passage is always a boundary and is not counted). Gold offsets come from
// locating each gold sentence, in order, in the passage; predicted ones from splitSentenceSpans.
// Precision, recall and F1 are micro-averaged over all passages.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cleanSentence, splitSentences, splitSentenceSpans } from '../../src/data/sentences.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const Gold = z.object({
  how_made: z.string(),
  guideline: z.array(z.string()),
  passages: z.array(
    z.object({
      report_id: z.string(),
      field: z.enum(['findings', 'impression']),
      pool: z.enum(['uniform', 'hard']),
      text: z.string(),
      sentences: z.array(z.string()).min(1),
    }),
  ),
});
const gold = Gold.parse(JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'data', 'sentences-gold.json'), 'utf8')));

/** Start offsets of the gold sentences after the first. */
function goldBoundaries(text: string, sentences: readonly string[]): number[] {
  const starts: number[] = [];
  let pos = 0;
  for (const s of sentences) {
    const at = text.indexOf(s, pos);
    if (at < 0) throw new Error(`gold sentence not in passage: ${s}`);
    starts.push(at);
    pos = at + s.length;
  }
  return starts.slice(1);
}

describe('splitSentences on the hand-labelled IU passages', () => {
  it('has at least 150 passages', () => {
    expect(gold.passages.length).toBeGreaterThanOrEqual(150);
  });

  it('reaches sentence-boundary F1 >= 0.97 and lists the misses', () => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    const misses: string[] = [];
    for (const p of gold.passages) {
      const want = new Set(goldBoundaries(p.text, p.sentences));
      const got = new Set(splitSentenceSpans(p.text).slice(1).map((s) => s.start));
      const hits = [...got].filter((b) => want.has(b)).length;
      tp += hits;
      fp += got.size - hits;
      fn += want.size - hits;
      if (hits !== want.size || hits !== got.size) {
        misses.push(
          `${p.report_id} ${p.field}\n  expected: ${JSON.stringify(p.sentences)}\n  got:      ${JSON.stringify(splitSentences(p.text))}`,
        );
      }
    }
    const precision = tp / (tp + fp);
    const recall = tp / (tp + fn);
    const f1 = (2 * precision * recall) / (precision + recall);
    console.log(
      `sentence boundaries: P=${precision.toFixed(4)} R=${recall.toFixed(4)} F1=${f1.toFixed(4)} ` +
        `(tp ${tp}, fp ${fp}, fn ${fn}; ${gold.passages.length} passages)\n` +
        `misses (${misses.length} passages):\n${misses.join('\n') || '  none'}`,
    );
    expect(f1).toBeGreaterThanOrEqual(0.97);
  });

  it('returns the gold strings themselves when the boundaries agree', () => {
    for (const p of gold.passages.slice(0, 20)) expect(splitSentences(p.text)).toEqual(p.sentences);
  });
});

describe('splitSentences rules', () => {
  const cases: [string, string, string[]][] = [
    ['plain full stops', 'Heart size normal. Lungs are clear.', ['Heart size normal.', 'Lungs are clear.']],
    ['question mark', 'Opacities. Question edema? No effusion.', ['Opacities.', 'Question edema?', 'No effusion.']],
    ['decimal numbers', 'Nodule of 2.5 cm in the apex. Stable.', ['Nodule of 2.5 cm in the apex.', 'Stable.']],
    ['title abbreviations', 'Discussed with Dr. Smith at St. Mary. No change.', ['Discussed with Dr. Smith at St. Mary.', 'No change.']],
    ['latin abbreviations', 'Opacity, e.g. atelectasis, i.e. collapse. Clear otherwise.', ['Opacity, e.g. atelectasis, i.e. collapse.', 'Clear otherwise.']],
    ['vs. and approx.', 'Effusion vs. scarring of approx. 2 cm. Stable.', ['Effusion vs. scarring of approx. 2 cm.', 'Stable.']],
    ['unit mid-sentence', 'A 3 mm. nodule is seen. No effusion.', ['A 3 mm. nodule is seen.', 'No effusion.']],
    ['unit at sentence end', 'Nodule measures 3 cm. The heart is normal.', ['Nodule measures 3 cm.', 'The heart is normal.']],
    ['No. as a number', 'Compared with film No. 2 from today. No effusion.', ['Compared with film No. 2 from today.', 'No effusion.']],
    ['No. as a word', 'Pneumothorax? No. Lungs are clear.', ['Pneumothorax?', 'No.', 'Lungs are clear.']],
    ['numbered list', '1. Clear lungs. No acute findings. 2. Vascular disease.', ['1. Clear lungs.', 'No acute findings.', '2. Vascular disease.']],
    ['unpunctuated list items', '1. Small effusion 2. Basilar opacities 3. Stable', ['1. Small effusion', '2. Basilar opacities', '3. Stable']],
    ['a number that is not the next item', 'Fracture of rib 7. 3 clips noted.', ['Fracture of rib 7.', '3 clips noted.']],
    ['missing space after the stop', 'Normal limits.The lungs are clear.', ['Normal limits.', 'The lungs are clear.']],
    ['XXXX placeholders', 'Normal chest x-XXXX. XXXX are intact.', ['Normal chest x-XXXX.', 'XXXX are intact.']],
    ['stray punctuation', 'No abnormality. . Effusion.. Clear.', ['No abnormality. .', 'Effusion..', 'Clear.']],
    ['closing quote after the stop', 'Described as "stable." No change.', ['Described as "stable."', 'No change.']],
    ['no final punctuation', 'Chest. Severe osteoarthritis', ['Chest.', 'Severe osteoarthritis']],
    ['wrapped line is not a boundary', 'There is no\n pleural effusion. Clear.', ['There is no pleural effusion.', 'Clear.']],
    ['blank line', 'Lines and tubes unchanged\n\nNo pneumothorax', ['Lines and tubes unchanged', 'No pneumothorax']],
    ['list item on a new line', 'Findings as follows\n 1. Effusion\n 2. Edema', ['Findings as follows', '1. Effusion', '2. Edema']],
    ['header line', 'Portable view\nIMPRESSION: No change.', ['Portable view', 'IMPRESSION: No change.']],
    ['empty and blank input', ' \n ', []],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => expect(splitSentences(text)).toEqual(want));
  }

  it('cleans whitespace as PRIOR cleans Stanza spans', () => {
    expect(cleanSentence('  a \t\n\n b\t\tc  ')).toBe('a b c');
  });

  it('gives trimmed spans inside the input', () => {
    const text = ' One.  Two. ';
    expect(splitSentenceSpans(text)).toEqual([
      { start: 1, end: 5 },
      { start: 7, end: 11 },
    ]);
  });
});
