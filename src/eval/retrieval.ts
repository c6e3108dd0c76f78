// Image-text retrieval with the global embeddings (the original release has none, spec 11):
// image-to-text and text-to-image Precision@K / Recall@K under two protocols:
//  - 'class' (CheXpert 5x200, as MGCA/GLoRIA report it): the candidates for an image are the
//    class prompt texts (every prompt of every class); a hit is a prompt of the image's class.
//    Text-to-image: each prompt ranks all images; a hit is an image of its class.
//  - 'instance' (paired image/report data): every image of the split against every DISTINCT
//    report text of the split; a hit is the image's own report text (identical text, so
//    duplicated reports all count). Text-to-image: each distinct text ranks all images; a hit
//    is an image whose report is that text.
//
// Score: cosine similarity of the global embeddings, cos(global_image_embed, text), where the
// text side is g_c of the zero-shot prompt path for class prompts (spec 9.3) and, for reports,
// global_text_attention over the SPB prototypes of the report's sentences (the stage-2/3 path).
// No logit scale: a positive scale does not change a ranking. Ties keep candidate order.
import { type DatasetFile } from '../data/dataset-file.js';
import { ZERO_SHOT_NORMALIZATION } from '../data/image.js';
import { isBlankReport, reportSentences } from '../data/prior-text.js';
import type { Prior, ZeroShotVariant } from '../models/prior/prior.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { Progress, type ProgressStream } from '../util/progress.js';
import { type Normalization, type TextOptions, batches, embedReports, loadImageBatch, tokeniseReports, withTorchSeed } from './encode.js';
import { DEFAULT_KS, type RetrievalResult, classRetrieval, instanceRetrieval, retrievalAtK } from './metrics/retrieval.js';
import { type ZeroShotClass, type ZeroShotDataset, disposeClasses, encodeClasses, zeroShotClasses } from './zeroshot.js';

export type RetrievalProtocol = 'class' | 'instance';

export interface RetrievalOptions extends TextOptions {
  /** Default 'faithful' (the SPB as configured, seeded noise); 'intended' = noise-free SPB. */
  variant?: ZeroShotVariant;
  batchSize?: number;
  seed?: number;
  ks?: readonly number[];
  normalization?: Normalization;
  progress?: ProgressStream | null;
  /** Class protocol: the classes and prompts (default from the dataset, "<Class> is observed"). */
  classes?: readonly ZeroShotClass[];
}

export interface RetrievalReport {
  protocol: RetrievalProtocol;
  variant: ZeroShotVariant;
  seed: number;
  score: 'cosine of global embeddings';
  nImages: number;
  nTexts: number;
  /** Instance protocol: records left out because their report has no sentence. */
  skippedBlankReports: number;
  imageToText: RetrievalResult;
  textToImage: RetrievalResult;
}

/** Retrieval results of a cosine score matrix [nImages, nTexts] (row-major) under a protocol's relevance. */
export interface RetrievalInputs {
  /** cos(image i, text j), row-major [nImages, nTexts]. */
  scores: Float32Array | Float64Array;
  nImages: number;
  nTexts: number;
}

/** Class protocol from a score matrix: image classes and text (prompt) classes. */
export function classRetrievalBothWays(s: RetrievalInputs, imageClass: readonly number[], textClass: readonly number[], ks: readonly number[] = DEFAULT_KS): { imageToText: RetrievalResult; textToImage: RetrievalResult } {
  return {
    imageToText: classRetrieval(s.scores, imageClass, textClass, ks),
    textToImage: classRetrieval(transpose(s), textClass, imageClass, ks),
  };
}

/** Instance protocol from a score matrix: each image's report text, and the distinct candidate texts. */
export function instanceRetrievalBothWays(s: RetrievalInputs, imageText: readonly string[], texts: readonly string[], ks: readonly number[] = DEFAULT_KS): { imageToText: RetrievalResult; textToImage: RetrievalResult } {
  const imagesOf = new Map<string, number>();
  for (const t of imageText) imagesOf.set(t, (imagesOf.get(t) ?? 0) + 1);
  return {
    imageToText: instanceRetrieval(s.scores, imageText, texts, ks),
    textToImage: retrievalAtK(transpose(s), s.nTexts, s.nImages, (q, c) => imageText[c] === texts[q], (q) => imagesOf.get(texts[q]!) ?? 0, ks),
  };
}

function transpose({ scores, nImages, nTexts }: RetrievalInputs): Float64Array {
  const out = new Float64Array(nImages * nTexts);
  for (let i = 0; i < nImages; i++) for (let j = 0; j < nTexts; j++) out[j * nImages + i] = scores[i * nTexts + j]!;
  return out;
}

/** Global image embeddings of `paths`, batched, as one [N, D] tensor (kept). */
async function imageGlobals(model: Prior, paths: readonly string[], o: RetrievalOptions, progress: Progress | null): Promise<Tensor> {
  const parts: Tensor[] = [];
  let done = 0;
  for (const batch of batches(paths, o.batchSize ?? 32)) {
    const images = await loadImageBatch(model, batch, o.normalization ?? ZERO_SHOT_NORMALIZATION);
    parts.push(torch.scope(() => torch.keep(torch.noGrad(() => model.encodeImage(images).global))));
    images.dispose();
    done += batch.length;
    progress?.update(done);
  }
  const all = torch.cat(parts, 0);
  torch.dispose(parts);
  return all;
}

/** The score of both protocols: cos(image i, text j) of global embeddings [I, D] and [T, D]. */
export function cosineScores(images: Tensor, texts: Tensor): RetrievalInputs {
  return torch.scope(() => {
    const m = torch.normalize(images, { dim: 1 }).matmul(torch.normalize(texts, { dim: 1 }).t());
    return { scores: m.to('cpu').toArray() as Float32Array, nImages: m.size(0), nTexts: m.size(1) };
  });
}

/**
 * Retrieval on a zero-shot dataset ('class' protocol) or a paired dataset file ('instance').
 * Deterministic for a seed (the SPB noise of the faithful variant is seeded).
 */
export async function evaluateRetrieval(model: Prior, dataset: ZeroShotDataset | DatasetFile, opts: RetrievalOptions = {}): Promise<RetrievalReport> {
  const variant = opts.variant ?? 'faithful';
  const seed = opts.seed ?? 0;
  const ks = opts.ks ?? DEFAULT_KS;
  model.eval();
  return withTorchSeed(seed, async () => {
    if ('items' in dataset) {
      const classes = opts.classes ? [...opts.classes] : zeroShotClasses(dataset.classNames, dataset.prompts);
      if (dataset.items.length === 0) throw new Error(`${dataset.source}: no images to evaluate`);
      const encoded = encodeClasses(model, classes, variant, opts.vocabPath);
      const progress = opts.progress ? new Progress({ total: dataset.items.length, unit: 'images', stream: opts.progress }) : null;
      const images = await imageGlobals(model, dataset.items.map((it) => it.imagePath), opts, progress);
      const s = cosineScores(images, encoded.classes.global);
      images.dispose();
      disposeClasses(encoded);
      const r = classRetrievalBothWays(s, dataset.items.map((it) => it.label), encoded.promptClass, ks);
      return { protocol: 'class', variant, seed, score: 'cosine of global embeddings', nImages: s.nImages, nTexts: s.nTexts, skippedBlankReports: 0, ...r };
    }
    // Instance protocol: every image of every record; candidate texts are the distinct reports.
    const imagePaths: string[] = [];
    const imageText: string[] = [];
    const sentencesOf = new Map<string, string[]>();
    let skippedBlankReports = 0;
    for (const r of dataset.records) {
      const sentences = reportSentences(r);
      if (isBlankReport(sentences)) {
        skippedBlankReports++;
        continue;
      }
      const text = sentences.join(' ');
      if (!sentencesOf.has(text)) sentencesOf.set(text, sentences);
      for (const p of r.imagePaths) {
        imagePaths.push(p);
        imageText.push(text);
      }
    }
    if (imagePaths.length === 0) throw new Error(`${dataset.path}: no records with a report to evaluate`);
    const texts = [...sentencesOf.keys()];
    const progress = opts.progress ? new Progress({ total: imagePaths.length + texts.length, unit: 'items', stream: opts.progress }) : null;
    const images = await imageGlobals(model, imagePaths, opts, progress);
    const parts: Tensor[] = [];
    for (const batch of batches(texts, opts.batchSize ?? 32)) {
      parts.push(
        torch.scope(() =>
          torch.noGrad(() => {
            const tok = tokeniseReports(model, batch.map((t) => sentencesOf.get(t)!), opts);
            return torch.keep(embedReports(model, tok, variant).global);
          }),
        ),
      );
      progress?.update(imagePaths.length + parts.reduce((n, p) => n + p.size(0), 0));
    }
    const textGlobals = torch.cat(parts, 0);
    torch.dispose(parts);
    const s = cosineScores(images, textGlobals);
    torch.dispose([images, textGlobals]);
    const r = instanceRetrievalBothWays(s, imageText, texts, ks);
    return { protocol: 'instance', variant, seed, score: 'cosine of global embeddings', nImages: s.nImages, nTexts: s.nTexts, skippedBlankReports, ...r };
  });
}

/** The results as a text table: one row per direction, P@K and R@K columns. */
export function formatRetrieval(r: RetrievalReport): string {
  const ks = Object.keys(r.imageToText.precisionAtK).map(Number);
  const head = ['direction'.padEnd(14), ...ks.map((k) => `P@${k}`.padStart(8)), ...ks.map((k) => `R@${k}`.padStart(8))].join('');
  const row = (name: string, x: RetrievalResult): string =>
    [name.padEnd(14), ...ks.map((k) => x.precisionAtK[k]!.toFixed(4).padStart(8)), ...ks.map((k) => x.recallAtK[k]!.toFixed(4).padStart(8))].join('');
  return [
    `${r.protocol} retrieval, ${r.nImages} images x ${r.nTexts} texts${r.skippedBlankReports > 0 ? ` (${r.skippedBlankReports} records without a report left out)` : ''}, score: ${r.score}, variant ${r.variant}, seed ${r.seed}`,
    head,
    row('image->text', r.imageToText),
    row('text->image', r.textToImage),
  ].join('\n');
}
