// BERT WordPiece tokenizer: a port of Hugging Face's pure-Python BertTokenizer (BasicTokenizer +
// WordpieceTokenizer), checked id-for-id against it and against the Rust BertTokenizerFast on every
// IU report (test/data/tokenizer.test.ts). Written here rather than taken from npm: `tokenizers`
// ships 64 MB of prebuilt binaries, and `@huggingface/tokenizers` 0.2 has no vocab.txt loading,
// truncation or padding and an untyped config boundary; the port is small and has no dependency.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** PRIOR's text length (spec 2.1): padded to 256, never truncated by the tokenizer, cut by hand. */
export const PRIOR_MAX_LENGTH = 256;

/** The product's default vocabulary: stock bert-base-uncased (Apache-2.0, see assets/vocab/NOTICE). */
export const DEFAULT_VOCAB_PATH = fileURLToPath(new URL('../../assets/vocab/bert-base-uncased.txt', import.meta.url));

export class TokenizerError extends Error {
  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'TokenizerError';
  }
}

export interface BertTokenizerOptions {
  /** Lower-case the text (and strip accents unless `stripAccents` is false). Default true. */
  doLowerCase?: boolean;
  /** null/undefined: follow doLowerCase (Hugging Face's default). */
  stripAccents?: boolean | null;
  /** Put spaces around CJK ideographs. Default true. */
  tokenizeChineseChars?: boolean;
  /** Drop control characters and map whitespace to spaces. Default true. */
  cleanText?: boolean;
  /** Longer words become the unknown token. Default 100. */
  maxInputCharsPerWord?: number;
  continuingSubwordPrefix?: string;
  unkToken?: string;
  clsToken?: string;
  sepToken?: string;
  padToken?: string;
  maskToken?: string;
}

export interface EncodeOptions {
  /** Wrap in [CLS] ... [SEP]. Default true. */
  addSpecialTokens?: boolean;
  /** Needed by truncation and by padding 'max_length'. */
  maxLength?: number;
  /** Keep the first maxLength tokens, special tokens included ([SEP] stays last). Default false. */
  truncation?: boolean;
  /** 'max_length': pad to maxLength; 'longest': pad a batch to its longest row. Default false. */
  padding?: false | 'max_length' | 'longest';
}

export interface Encoding {
  inputIds: number[];
  attentionMask: number[];
}

export interface BatchEncoding {
  inputIds: number[][];
  attentionMask: number[][];
}

type Settings = Required<Omit<BertTokenizerOptions, 'stripAccents'>> & { stripAccents: boolean | null };

const DEFAULTS: Settings = {
  doLowerCase: true,
  stripAccents: null,
  tokenizeChineseChars: true,
  cleanText: true,
  maxInputCharsPerWord: 100,
  continuingSubwordPrefix: '##',
  unkToken: '[UNK]',
  clsToken: '[CLS]',
  sepToken: '[SEP]',
  padToken: '[PAD]',
  maskToken: '[MASK]',
};

// Character classes of BasicTokenizer (_is_control, _is_whitespace, _is_punctuation, _is_chinese_char).
// Controls are Unicode category C* except \t \n \r (those count as whitespace); NUL and U+FFFD go too.
const CONTROL = /(?![\t\n\r])[\p{C}\uFFFD]/gu;
const WHITESPACE = /[\t\n\r\p{Zs}]/gu;
const CJK = /[\u4E00-\u9FFF\u3400-\u4DBF\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}\u{2B740}-\u{2B81F}\u{2B820}-\u{2CEAF}\uF900-\uFAFF\u{2F800}-\u{2FA1F}]/gu;
// All non-alphanumeric printable ASCII counts as punctuation, plus Unicode category P*.
const PUNCTUATION = /([!-/:-@[-`{-~]|\p{P})/u;
const NONSPACING_MARK = /\p{Mn}/gu;
// Python's str.split() with no argument: runs of str.isspace() characters.
const PY_WHITESPACE = /[\t\n\v\f\r\x1C-\x1F \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+/u;

function pySplit(text: string): string[] {
  return text.split(PY_WHITESPACE).filter((s) => s.length > 0);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class BertTokenizer {
  readonly vocab: ReadonlyMap<string, number>;
  readonly settings: Readonly<Settings>;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly unkId: number;
  private readonly specialTokens: ReadonlySet<string>;
  /** Splits raw text around special-token strings, which map straight to their ids (as in HF). */
  private readonly specialSplit: RegExp;

  constructor(vocab: ReadonlyMap<string, number>, options: BertTokenizerOptions = {}, where = 'BertTokenizer') {
    const s: Settings = { ...DEFAULTS };
    for (const [k, v] of Object.entries(options)) if (v !== undefined) Object.assign(s, { [k]: v });
    if (!Number.isSafeInteger(s.maxInputCharsPerWord) || s.maxInputCharsPerWord < 1) {
      throw new TokenizerError(where, `maxInputCharsPerWord must be a positive integer, got ${s.maxInputCharsPerWord}`);
    }
    this.vocab = vocab;
    this.settings = s;
    const idOf = (token: string): number => {
      const id = vocab.get(token);
      if (id === undefined) throw new TokenizerError(where, `the vocabulary has no special token '${token}'`);
      return id;
    };
    this.clsId = idOf(s.clsToken);
    this.sepId = idOf(s.sepToken);
    this.padId = idOf(s.padToken);
    this.unkId = idOf(s.unkToken);
    const specials = [s.unkToken, s.sepToken, s.padToken, s.clsToken, s.maskToken].filter((t) => vocab.has(t));
    this.specialTokens = new Set(specials);
    // Longest first, so that one special token that prefixes another cannot shadow it.
    const alternatives = [...this.specialTokens].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.specialSplit = new RegExp(`(${alternatives.join('|')})`, 'u');
  }

  /** A tokenizer over a vocabulary given as tokens in id order (vocab.txt's lines). */
  static fromTokens(tokens: readonly string[], options?: BertTokenizerOptions, where?: string): BertTokenizer {
    // Like HF's load_vocab: a repeated token keeps its last id.
    return new BertTokenizer(new Map(tokens.map((t, i) => [t, i])), options, where);
  }

  /** Reads a vocab.txt: one token per line, line number = id. */
  static fromVocabFile(path: string, options?: BertTokenizerOptions): BertTokenizer {
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    if (lines.length === 0) throw new TokenizerError(path, 'the vocabulary is empty');
    return BertTokenizer.fromTokens(lines, options, path);
  }

  /** Reads a Hugging Face tokenizer.json holding a BERT pipeline (BertNormalizer + WordPiece). */
  static fromTokenizerJson(path: string): BertTokenizer {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new TokenizerError(path, `cannot read JSON: ${(e as Error).message}`);
    }
    const parsed = TokenizerJsonSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new TokenizerError(path, `not a BERT WordPiece tokenizer.json: '${issue?.path.join('.')}' ${issue?.message}`);
    }
    const { model, normalizer } = parsed.data;
    const vocab = new Map(Object.entries(model.vocab));
    return new BertTokenizer(
      vocab,
      {
        doLowerCase: normalizer.lowercase,
        stripAccents: normalizer.strip_accents,
        tokenizeChineseChars: normalizer.handle_chinese_chars,
        cleanText: normalizer.clean_text,
        maxInputCharsPerWord: model.max_input_chars_per_word,
        continuingSubwordPrefix: model.continuing_subword_prefix,
        unkToken: model.unk_token,
      },
      path,
    );
  }

  /**
   * A model directory: tokenizer.json if present, else vocab.txt (with `options`, since a bare
   * vocab.txt carries no settings; PRIOR's Bio_ClinicalBERT relies on the lower-casing default).
   */
  static fromDirectory(dir: string, options?: BertTokenizerOptions): BertTokenizer {
    const json = join(dir, 'tokenizer.json');
    if (existsSync(json)) return BertTokenizer.fromTokenizerJson(json);
    const vocab = join(dir, 'vocab.txt');
    if (existsSync(vocab)) return BertTokenizer.fromVocabFile(vocab, options);
    throw new TokenizerError(dir, 'no tokenizer.json or vocab.txt in this directory');
  }

  /** The shipped bert-base-uncased vocabulary (the default for small presets). */
  static default(options?: BertTokenizerOptions): BertTokenizer {
    return BertTokenizer.fromVocabFile(DEFAULT_VOCAB_PATH, options);
  }

  /** Word pieces of `text`, without [CLS]/[SEP]. */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const piece of text.split(this.specialSplit)) {
      if (this.specialTokens.has(piece)) out.push(piece);
      else if (piece.length > 0) for (const word of this.basicTokenize(piece)) this.wordpiece(word, out);
    }
    return out;
  }

  /** Token ids of `text`, without [CLS]/[SEP]. */
  tokenIds(text: string): number[] {
    return this.tokenize(text).map((t) => this.vocab.get(t) ?? this.unkId);
  }

  encode(text: string, options: EncodeOptions = {}): Encoding {
    const ids = this.truncated(this.withSpecials(this.tokenIds(text), options), options);
    return this.padded(ids, options.padding === 'max_length' ? this.requireMaxLength(options, 'padding') : ids.length);
  }

  encodeBatch(texts: readonly string[], options: EncodeOptions = {}): BatchEncoding {
    const rows = texts.map((t) => this.truncated(this.withSpecials(this.tokenIds(t), options), options));
    const length =
      options.padding === 'max_length' ? this.requireMaxLength(options, 'padding')
      : options.padding === 'longest' ? Math.max(0, ...rows.map((r) => r.length))
      : 0;
    const encoded = rows.map((r) => this.padded(r, length));
    return { inputIds: encoded.map((e) => e.inputIds), attentionMask: encoded.map((e) => e.attentionMask) };
  }

  /** PRIOR's call (spec 2.1): pad to 256, no truncation, then cut to 256, which drops [SEP] of long texts. */
  encodePrior(text: string, maxLength = PRIOR_MAX_LENGTH): Encoding {
    const { inputIds, attentionMask } = this.encode(text, { maxLength, padding: 'max_length', truncation: false });
    return { inputIds: inputIds.slice(0, maxLength), attentionMask: attentionMask.slice(0, maxLength) };
  }

  private withSpecials(ids: number[], options: EncodeOptions): number[] {
    return options.addSpecialTokens === false ? ids : [this.clsId, ...ids, this.sepId];
  }

  private truncated(ids: number[], options: EncodeOptions): number[] {
    if (!options.truncation) return ids;
    const max = this.requireMaxLength(options, 'truncation');
    if (ids.length <= max) return ids;
    // HF truncates the sequence, then adds the special tokens: [SEP] stays last.
    const specials = options.addSpecialTokens === false ? 0 : 2;
    if (max < specials) throw new TokenizerError('encode', `maxLength ${max} leaves no room for [CLS] and [SEP]`);
    return specials === 0 ? ids.slice(0, max) : [...ids.slice(0, max - 1), this.sepId];
  }

  private padded(ids: number[], length: number): Encoding {
    const pad = Math.max(0, length - ids.length);
    return {
      inputIds: pad === 0 ? ids : ids.concat(new Array<number>(pad).fill(this.padId)),
      attentionMask: new Array<number>(ids.length).fill(1).concat(new Array<number>(pad).fill(0)),
    };
  }

  private requireMaxLength(options: EncodeOptions, what: string): number {
    const max = options.maxLength;
    if (max === undefined || !Number.isSafeInteger(max) || max < 0) {
      throw new TokenizerError('encode', `${what} needs maxLength as a non-negative integer, got ${String(max)}`);
    }
    return max;
  }

  /** BasicTokenizer.tokenize: clean, space out CJK, NFC, split on whitespace, lower/strip, split punctuation. */
  private basicTokenize(text: string): string[] {
    const s = this.settings;
    let t = s.cleanText ? text.replace(CONTROL, '').replace(WHITESPACE, ' ') : text;
    if (s.tokenizeChineseChars) t = t.replace(CJK, ' $& ');
    const out: string[] = [];
    for (let word of pySplit(t.normalize('NFC'))) {
      if (this.specialTokens.has(word)) {
        out.push(word);
        continue;
      }
      if (s.doLowerCase) word = word.toLowerCase();
      if (s.doLowerCase ? s.stripAccents !== false : s.stripAccents === true) {
        word = word.normalize('NFD').replace(NONSPACING_MARK, '');
      }
      for (const part of word.split(PUNCTUATION)) if (part.length > 0) out.push(part);
    }
    return out;
  }

  /** WordpieceTokenizer: greedy longest match first; a word with no full cover becomes [UNK]. */
  private wordpiece(word: string, out: string[]): void {
    const s = this.settings;
    // Code-unit offsets of each code point, so astral characters count as one (Python's len()).
    const offsets: number[] = [];
    for (let i = 0; i < word.length; i += (word.codePointAt(i) ?? 0) > 0xffff ? 2 : 1) offsets.push(i);
    const n = offsets.length;
    offsets.push(word.length);
    if (n > s.maxInputCharsPerWord) {
      out.push(s.unkToken);
      return;
    }
    const pieces: string[] = [];
    for (let start = 0; start < n; ) {
      let end = n;
      let found: string | undefined;
      for (; end > start; end--) {
        const sub = word.slice(offsets[start], offsets[end]);
        const candidate = start > 0 ? s.continuingSubwordPrefix + sub : sub;
        if (this.vocab.has(candidate)) {
          found = candidate;
          break;
        }
      }
      if (found === undefined) {
        out.push(s.unkToken);
        return;
      }
      pieces.push(found);
      start = end;
    }
    out.push(...pieces);
  }
}

// The parts of a tokenizer.json that a BERT pipeline needs; anything else is a clear error.
const TokenizerJsonSchema = z.object({
  normalizer: z.object({
    type: z.literal('BertNormalizer'),
    clean_text: z.boolean(),
    handle_chinese_chars: z.boolean(),
    strip_accents: z.boolean().nullable(),
    lowercase: z.boolean(),
  }),
  pre_tokenizer: z.object({ type: z.literal('BertPreTokenizer') }),
  model: z.object({
    type: z.literal('WordPiece'),
    unk_token: z.string(),
    continuing_subword_prefix: z.string(),
    max_input_chars_per_word: z.number().int().positive(),
    vocab: z.record(z.string(), z.number().int().nonnegative()),
  }),
});
