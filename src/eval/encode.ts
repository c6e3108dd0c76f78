// What every evaluation task does with the model: image batches at the model's input size with
// the zero-shot normalisation (spec 9.1), report texts tokenised as in training without the
// shuffle (spec 3.2), their global and sentence embeddings, tokenised class prompts, and a
// seeded torch RNG for the SPB's Gumbel noise (B6) that is restored afterwards.
import { readImage, transformImage, ZERO_SHOT_NORMALIZATION } from '../data/image.js';
import { encodePriorSentences, type TextJoin } from '../data/prior-text.js';
import { BertTokenizer, DEFAULT_VOCAB_PATH } from '../data/tokenizer.js';
import { gatherSentences, packRows, unpackRows } from '../models/prior/gather.js';
import type { Prior, ZeroShotVariant } from '../models/prior/prior.js';
import * as torch from '../torch/index.js';
import type { DeviceLike, FloatDType, Tensor } from '../torch/index.js';
import { Rng } from '../util/rng.js';

export interface Normalization {
  mean: number;
  std: number;
}

export interface TextOptions {
  /** B15: how a report's sentences are joined before tokenising (default 'none', the original). */
  textJoin?: TextJoin;
  /** WordPiece vocabulary (default the bundled bert-base-uncased, as training uses). */
  vocabPath?: string;
}

const tokenizers = new Map<string, BertTokenizer>();
export function evalTokenizer(vocabPath: string = DEFAULT_VOCAB_PATH): BertTokenizer {
  let t = tokenizers.get(vocabPath);
  if (!t) {
    t = BertTokenizer.fromVocabFile(vocabPath);
    tokenizers.set(vocabPath, t);
  }
  return t;
}

/** Input that does not fit the model or the task (a vocabulary, an image list...); the message says what. */
export class EvalInputError extends Error {
  override name = 'EvalInputError';
}

/** The tokenizer for `model`: its vocabulary must have the size the text encoder was built with. */
export function tokenizerFor(model: Prior, vocabPath: string = DEFAULT_VOCAB_PATH): BertTokenizer {
  const tokenizer = evalTokenizer(vocabPath);
  const expected = model.config.text.vocab_size;
  if (tokenizer.vocab.size !== expected) {
    throw new EvalInputError(`vocabulary ${vocabPath} has ${tokenizer.vocab.size} tokens, but the model's text encoder has ${expected} (pass the vocabulary it was trained with, --vocab FILE)`);
  }
  return tokenizer;
}

function modelDevice(model: Prior): DeviceLike {
  return model.logitScale.device as DeviceLike;
}

/**
 * Decodes `paths` and stacks them as the model's input [B, 1, S, S] (S = config.imageSize):
 * resize, no augmentation, (x - mean) / std. Throws naming the file that cannot be read.
 */
export async function loadImageBatch(model: Prior, paths: readonly string[], normalization: Normalization = ZERO_SHOT_NORMALIZATION): Promise<Tensor<'float32'>> {
  const size = model.config.imageSize;
  const planes = await Promise.all(paths.map(async (p) => transformImage(await readImage(p), { size: [size, size], mean: normalization.mean, std: normalization.std, augment: false }, new Rng(0))));
  const flat = new Float32Array(paths.length * size * size);
  planes.forEach((plane, i) => flat.set(plane, i * size * size));
  const device = modelDevice(model);
  return torch.scope(() => torch.tensor(flat, { device }).reshape(paths.length, 1, size, size)) as Tensor<'float32'>;
}

export interface TokenisedTexts {
  inputIds: Tensor<'int64'>;
  attentionMask: Tensor<'int64'>;
  sentenceIndex: Tensor<'int64'>;
}

/** Reports (each a sentence list, in order, no shuffle) tokenised as training does, at the model's text length. */
export function tokeniseReports(model: Prior, reports: readonly (readonly string[])[], options: TextOptions = {}): TokenisedTexts {
  const tokenizer = tokenizerFor(model, options.vocabPath);
  const L = model.config.textMaxLength;
  const ids = new Int32Array(reports.length * L);
  const mask = new Int32Array(reports.length * L);
  const index = new Int32Array(reports.length * L);
  reports.forEach((sentences, i) => {
    const t = encodePriorSentences(tokenizer, sentences, { maxLength: L, textJoin: options.textJoin ?? 'none' });
    ids.set(t.inputIds, i * L);
    mask.set(t.attentionMask, i * L);
    index.set(t.sentenceIndex, i * L);
  });
  const device = modelDevice(model);
  const make = (a: Int32Array): Tensor<'int64'> => torch.tensor(a, { dtype: 'int64', device }).reshape(reports.length, L) as Tensor<'int64'>;
  return { inputIds: make(ids), attentionMask: make(mask), sentenceIndex: make(index) };
}

/** Prompt texts tokenised as the zero-shot code does (spec 9.3: padded to the model's text length). */
export function tokenisePrompts(model: Prior, prompts: readonly string[], vocabPath?: string): { inputIds: Tensor<'int64'>; attentionMask: Tensor<'int64'> } {
  const tokenizer = tokenizerFor(model, vocabPath);
  const L = model.config.textMaxLength;
  const ids: number[][] = [];
  const mask: number[][] = [];
  for (const p of prompts) {
    const e = tokenizer.encodePrior(p, L);
    if (e.inputIds.length !== L) throw new RangeError(`prompt '${p}' is ${e.inputIds.length} tokens, longer than the model's ${L}`);
    ids.push(e.inputIds);
    mask.push(e.attentionMask);
  }
  const device = modelDevice(model);
  return { inputIds: torch.tensor(ids, { dtype: 'int64', device }) as Tensor<'int64'>, attentionMask: torch.tensor(mask, { dtype: 'int64', device }) as Tensor<'int64'> };
}

export interface ReportEmbeddings {
  /** The global text embedding [B, D]: global_text_attention over the SPB prototypes of the sentences. */
  global: Tensor;
  /** Sentence embeddings [B, T, D] (projected tokens averaged per sentence, before the SPB), zero rows past each count. */
  sentences: Tensor;
  /** The SPB prototypes of the sentences [B, T, D]: what the local cross-attention saw in stages 2-3. */
  prototypes: Tensor;
  /** bool [B, T]. */
  mask: Tensor;
  counts: number[];
}

/**
 * Report embeddings as a stage-2/3 model computes them: sentences -> SPB -> sentence pool. The
 * SPB is used as the variant says: 'faithful' as configured (Gumbel noise when spbNoise is
 * 'always', B6; seed the torch RNG), 'intended' noise-free. Call under noGrad in eval mode.
 */
export function embedReports(model: Prior, texts: TokenisedTexts, variant: ZeroShotVariant): ReportEmbeddings {
  const tokens = model.encodeText(texts.inputIds, texts.attentionMask);
  const g = gatherSentences(tokens, texts.sentenceIndex);
  const rows = packRows(g.sentences, g.mask);
  const noise = variant === 'intended' ? { noise: torch.zeros(rows.size(0), model.sentenceBank.nEmbed, { dtype: rows.dtype as FloatDType, device: rows.device as DeviceLike }) } : {};
  const prototypes = unpackRows(model.sentenceBank.call(rows, noise).prototypes, g.mask);
  const global = model.globalTextAttention.call(prototypes, g.mask);
  return { global, sentences: g.sentences, prototypes, mask: g.mask, counts: g.counts };
}

/** Runs `fn` with the torch CPU generator seeded, then puts the caller's generator state back. */
export async function withTorchSeed<T>(seed: number, fn: () => Promise<T>): Promise<T> {
  const saved = torch.getRngState();
  torch.manualSeed(seed);
  try {
    return await fn();
  } finally {
    torch.setRngState(saved);
    saved.dispose();
  }
}

/** Consecutive slices of `items`, `size` each (the last may be shorter). */
export function batches<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`batch size must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A [rows, cols] float tensor as nested number arrays. */
export function toRows(t: Tensor): number[][] {
  const [rows, cols] = t.shape as [number, number];
  const flat = t.to('cpu').toArray() as Float32Array;
  return Array.from({ length: rows }, (_, r) => Array.from(flat.subarray(r * cols, (r + 1) * cols)));
}
