// The text half of a pre-training item (spec 3.2 step 2): the report's sentences, shuffled,
// joined, tokenised as PRIOR calls the tokenizer (spec 2.1), plus each token's sentence number.
// Pure TypeScript (no addon), so loader workers can run it.
import type { Rng } from '../util/rng.js';
import type { DatasetRecord } from './dataset-file.js';
import { type BertTokenizer, PRIOR_MAX_LENGTH } from './tokenizer.js';

/**
 * How the shuffled sentences are joined. 'none' is the original (bug B15: a sentence without a
 * final stop fuses with the next word and the sentence indices drift); 'space' is the intended
 * join, under which the whole text's tokens are exactly the sentences' tokens in order.
 */
export type TextJoin = 'none' | 'space';
export const TEXT_JOINS = ['none', 'space'] as const satisfies readonly TextJoin[];

export interface PriorTextOptions {
  /** Token length of every output (default 256). */
  maxLength?: number;
  /** Default 'none' (faithful). */
  textJoin?: TextJoin;
}

/** One item's text tensors before collation, each of length maxLength. */
export interface PriorText {
  inputIds: Int32Array;
  attentionMask: Int32Array;
  /** 1-based sentence number per token; -1 on [CLS], [SEP], [PAD] (and past the last sentence). */
  sentenceIndex: Int32Array;
  /** The sentences in the order they were joined. */
  sentences: string[];
}

/** A record's sentences as the original collects them: impression first, then findings. */
export function reportSentences(record: Pick<DatasetRecord, 'impression' | 'findings'>): string[] {
  return [...record.impression.sentences, ...record.findings.sentences];
}

/** True when the sentences hold no text at all (an empty report or an empty sentence list). */
export function isBlankReport(sentences: readonly string[]): boolean {
  return sentences.every((s) => s.trim() === '');
}

/**
 * Tokenises sentences in the given order (no shuffle): the original `_tokenizer` after its
 * `random.shuffle`. Long texts are cut to maxLength by hand, which drops their [SEP].
 */
export function encodePriorSentences(tokenizer: BertTokenizer, sentences: readonly string[], options: PriorTextOptions = {}): PriorText {
  const maxLength = options.maxLength ?? PRIOR_MAX_LENGTH;
  const join = (options.textJoin ?? 'none') === 'space' ? ' ' : '';
  const { inputIds, attentionMask } = tokenizer.encodePrior(sentences.join(join), maxLength);
  const sentenceIndex = new Int32Array(maxLength).fill(-1);
  // Each sentence alone, without its [CLS]/[SEP]; positions from 1 (after [CLS]), clipped at the end.
  let pos = 1;
  for (let j = 0; j < sentences.length && pos < maxLength; j++) {
    const n = tokenizer.tokenize(sentences[j]!).length;
    sentenceIndex.fill(j + 1, pos, Math.min(pos + n, maxLength));
    pos += n;
  }
  return { inputIds: Int32Array.from(inputIds), attentionMask: Int32Array.from(attentionMask), sentenceIndex, sentences: [...sentences] };
}

/** spec 3.2 step 2 for one record: impression + findings sentences, shuffled with the item's Rng. */
export function priorText(tokenizer: BertTokenizer, record: Pick<DatasetRecord, 'impression' | 'findings'>, rng: Rng, options: PriorTextOptions = {}): PriorText {
  return encodePriorSentences(tokenizer, rng.shuffle(reportSentences(record)), options);
}
