// Rule-based sentence splitter for radiology report sections, standing in for the Stanza 1.3
// `tokenize` pipeline that PRIOR's offline builder uses (spec 3.1 step 4; Stanza has no TS port).
//
// A candidate boundary follows every run of . ? !; a lone full stop is vetoed when it belongs to a
// decimal number, a known abbreviation or a list marker. Blank lines, a line starting a list item or
// an upper-case "HEADER:" and an unpunctuated numbered item followed by the next number also split.
// Each sentence is then cleaned as PRIOR cleans Stanza's spans (spec 3.1 step 4): runs of
// (spaces/tabs + newlines) become one newline, newlines become spaces, runs of spaces/tabs one space,
// and the ends are stripped. The study-level rule "at least PRIOR_MIN_SENTENCES sentences from
// impression + findings" (spec 3.1 step 5) belongs to the builder, which imports the constant.
// Measured on the hand-labelled IU passages in test/fixtures/data/sentences-gold.json.

/** Spec 3.1 step 5: a MIMIC study with fewer sentences (impression + findings) is skipped. */
export const PRIOR_MIN_SENTENCES = 4;

/** A sentence as a half-open [start, end) character range of the input, trimmed of whitespace. */
export interface SentenceSpan {
  start: number;
  end: number;
}

// Never end a sentence (lower-cased, without the final dot): titles and Latin shorthand that
// normally precede more words, often a capitalised name ("Dr. Smith", "St. Vincent").
const ABBREVIATIONS = new Set([
  'dr', 'drs', 'mr', 'mrs', 'ms', 'st', 'vs', 'approx', 'e.g', 'i.e', 'eg', 'ie', 'cf', 'fig', 'figs',
  'resp', 'incl', 'appt', 'pt', 'pts',
]);
// Units and clinical shorthand that can also end a sentence: a stop after them ends one only when
// the next word starts with a capital ("2 cm. The ..." vs "2 cm. inferior to ...").
const SOFT_ABBREVIATIONS = new Set([
  'cm', 'mm', 'm', 'in', 'ft', 'kg', 'mg', 'ml', 'cc', 'etc', 'al', 'hx', 'ca', 'a.m', 'p.m', 'ant',
  'post', 'lat', 'sup', 'inf', 'prox', 'dist', 'ext', 'rt', 'lt',
]);
// "No." and "Nos." are numbers only before a digit or '#'; elsewhere "No." is an ordinary word.
const NUMBER_WORDS = new Set(['no', 'nos']);

const LIST_MARKER = /^(\d{1,2})[.)]\s/;
const HEADER_LINE = /^[A-Z][A-Z ()/,-]*:/;
const WS = /\s/;

/** PRIOR's per-sentence whitespace cleaning (spec 3.1 step 4). */
export function cleanSentence(raw: string): string {
  return raw
    .replace(/[ \t]*\n+/g, '\n')
    .replace(/\n/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .trim();
}

/** Splits one report section into sentences, cleaned as PRIOR cleans Stanza's output. */
export function splitSentences(text: string): string[] {
  return splitSentenceSpans(text)
    .map((s) => cleanSentence(text.slice(s.start, s.end)))
    .filter((s) => s.length > 0);
}

/** The sentences' raw character ranges in `text` (for boundary evaluation and provenance). */
export function splitSentenceSpans(text: string): SentenceSpan[] {
  const cuts = new Set<number>();
  let expectedItem = 0; // the next list number that may start an item without a preceding stop
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\n') {
      const cut = lineBreakCut(text, i);
      if (cut !== null) cuts.add(cut);
      continue;
    }
    if (isDigit(ch) && (i === 0 || WS.test(text[i - 1]!))) {
      const m = LIST_MARKER.exec(text.slice(i, i + 4));
      if (m) {
        const n = Number(m[1]);
        if (n === 1 && startsSentence(text, i, cuts)) expectedItem = 2;
        else if (n === expectedItem && n > 1) {
          cuts.add(i); // "... thickening 2. Streaky ...": an unpunctuated item ends here
          expectedItem++;
        }
      }
      continue;
    }
    if (ch !== '.' && ch !== '?' && ch !== '!') continue;
    let end = i;
    while (end < text.length && '.?!'.includes(text[end]!)) end++;
    const run = text.slice(i, end);
    const cut = run === '.' ? periodCut(text, i, cuts) : absorbStray(text, end);
    if (cut !== null) cuts.add(cut);
    i = end - 1;
  }
  return spansFromCuts(text, [...cuts].sort((a, b) => a - b));
}

/** Where a sentence ends after the single full stop at `dot`, or null when it does not. */
function periodCut(text: string, dot: number, cuts: ReadonlySet<number>): number | null {
  // A closing quote or bracket right after the stop belongs to the sentence: 'called "stable."'.
  if (/^["')\]]+(\s|$)/.test(text.slice(dot + 1))) {
    let close = dot + 1;
    while ('"\')]'.includes(text[close] ?? ' ')) close++;
    return close;
  }
  const next = text[dot + 1];
  const word = wordBefore(text, dot);
  const lower = word.toLowerCase();
  if (next !== undefined && !WS.test(next)) {
    // Glued: "effusion.The" ends a sentence; "2.5", "e.g", "x-ray.jpg" do not.
    const glued = /^[a-z]{2,}$/.test(word) && /[A-Z]/.test(next) && /[a-z]/.test(text[dot + 2] ?? '');
    return glued ? dot + 1 : null;
  }
  const after = nextWord(text, dot + 1);
  if (after === '') return dot + 1;
  if (/^\d{1,2}$/.test(word) && startsSentence(text, dot - word.length, cuts)) return null; // "1. No ..."
  if (NUMBER_WORDS.has(lower) && /^[\d#]/.test(after)) return null;
  if (ABBREVIATIONS.has(lower)) return null;
  if (SOFT_ABBREVIATIONS.has(lower) && !/^[A-Z]/.test(after)) return null;
  return absorbStray(text, dot + 1);
}

/** Stray punctuation after a stop ("abnormality. .") stays with the sentence it follows. */
function absorbStray(text: string, end: number): number {
  const m = /^\s+[.?!,;:]+(?=\s|$)/.exec(text.slice(end));
  return m ? end + m[0].length : end;
}

/** A newline splits before a blank line, a list item or an upper-case "HEADER:" line. */
function lineBreakCut(text: string, nl: number): number | null {
  const rest = text.slice(nl + 1);
  const body = rest.replace(/^[ \t]+/, '');
  if (rest.startsWith('\n') || /^[ \t]*\n/.test(rest)) return nl;
  if (LIST_MARKER.test(body) || HEADER_LINE.test(body)) return nl;
  return null;
}

/** True when position `at` opens a sentence: only whitespace since the text start or last cut. */
function startsSentence(text: string, at: number, cuts: ReadonlySet<number>): boolean {
  for (let j = at - 1; j >= 0; j--) {
    if (cuts.has(j + 1)) return true;
    if (!WS.test(text[j]!)) return false;
  }
  return true;
}

/** The token just before `dot` (letters, digits and inner dots, so "e.g" and "2.5" stay whole). */
function wordBefore(text: string, dot: number): string {
  let j = dot;
  while (j > 0 && /[A-Za-z0-9.]/.test(text[j - 1]!)) j--;
  return text.slice(j, dot).replace(/^\.+/, '');
}

function nextWord(text: string, from: number): string {
  const m = /^\s*(\S*)/.exec(text.slice(from));
  return m ? m[1]! : '';
}

function isDigit(ch: string): boolean {
  return ch >= '0' && ch <= '9';
}

function spansFromCuts(text: string, cuts: readonly number[]): SentenceSpan[] {
  const spans: SentenceSpan[] = [];
  let from = 0;
  for (const to of [...cuts, text.length]) {
    const span = trimSpan(text, from, to);
    if (span) spans.push(span);
    from = Math.max(from, to);
  }
  return spans;
}

function trimSpan(text: string, start: number, end: number): SentenceSpan | null {
  while (start < end && WS.test(text[start]!)) start++;
  while (end > start && WS.test(text[end - 1]!)) end--;
  return start < end ? { start, end } : null;
}
