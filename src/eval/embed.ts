// Embeddings of a dataset file for downstream use: per image the global [D] and local [N, D]
// image embeddings, per record (report) the global text embedding [D] and the sentence
// embeddings [T, D] with their mask. Written as one safetensors file whose metadata holds the row
// ids, so row i of every image tensor belongs to image_ids[i] and row j of every text tensor to
// text_ids[j].
//
// Tensors (float32 unless noted):
//   image_global [I, D]      global_image_embed
//   image_local  [I, N, D]   local_image_embed (token layout per local_layout in the metadata: with
//                            'faithful' (B1) the N tokens are channel groups, not places)
//   text_global  [R, D]      global_text_attention over the SPB prototypes of the sentences
//   text_local   [R, T, D]   the sentence embeddings (projected tokens averaged per sentence,
//                            before the SPB), zero rows past each report's count
//   text_mask    [R, T] bool true for a real sentence
import { type DatasetFile } from '../data/dataset-file.js';
import { ZERO_SHOT_NORMALIZATION } from '../data/image.js';
import { isBlankReport, reportSentences } from '../data/prior-text.js';
import * as safetensors from '../io/safetensors.js';
import type { Prior, ZeroShotVariant } from '../models/prior/prior.js';
import * as torch from '../torch/index.js';
import type { DeviceLike, Tensor } from '../torch/index.js';
import { Progress, type ProgressStream } from '../util/progress.js';
import { type Normalization, type TextOptions, batches, embedReports, loadImageBatch, tokeniseReports, withTorchSeed } from './encode.js';

export interface EmbedOptions extends TextOptions {
  variant?: ZeroShotVariant;
  batchSize?: number;
  seed?: number;
  /** Default the zero-shot statistics; pass PRETRAIN_NORMALIZATION for the training ones. */
  normalization?: Normalization;
  progress?: ProgressStream | null;
}

export interface DatasetEmbeddings {
  /** `<record key>/<image index>` per image row. */
  imageIds: string[];
  /** Record key per text row (records whose report has no sentence have no text row). */
  textIds: string[];
  imageGlobal: Tensor;
  imageLocal: Tensor;
  textGlobal: Tensor;
  textLocal: Tensor;
  textMask: Tensor;
  variant: ZeroShotVariant;
  seed: number;
}

/** Pads [b, t, D] rows to [b, T, D] (and masks to [b, T]) so batches of different T concatenate. */
function padTo(x: Tensor, rows: number): Tensor {
  const t = x.size(1);
  if (t === rows) return x;
  const shape = [...x.shape];
  shape[1] = rows - t;
  return torch.cat([x, torch.zeros(shape, { dtype: x.dtype, device: x.device as DeviceLike })], 1);
}

/** Embeds every image and report of `dataset` (see the file comment). The caller disposes the tensors (disposeEmbeddings). */
export async function embedDataset(model: Prior, dataset: DatasetFile, opts: EmbedOptions = {}): Promise<DatasetEmbeddings> {
  const variant = opts.variant ?? 'faithful';
  const seed = opts.seed ?? 0;
  const batchSize = opts.batchSize ?? 32;
  model.eval();
  const images = dataset.records.flatMap((r) => r.imagePaths.map((p, i) => ({ id: `${r.key}/${i}`, path: p })));
  if (images.length === 0) throw new Error(`${dataset.path}: no records to embed`);
  const progress = opts.progress ? new Progress({ total: images.length + dataset.records.filter((r) => !isBlankReport(reportSentences(r))).length, unit: 'items', stream: opts.progress }) : null;
  return withTorchSeed(seed, async () => {
    const globals: Tensor[] = [];
    const locals: Tensor[] = [];
    let done = 0;
    for (const batch of batches(images, batchSize)) {
      const x = await loadImageBatch(model, batch.map((b) => b.path), opts.normalization ?? ZERO_SHOT_NORMALIZATION);
      torch.scope(() =>
        torch.noGrad(() => {
          const e = model.encodeImage(x);
          globals.push(torch.keep(e.global));
          locals.push(torch.keep(e.local));
        }),
      );
      x.dispose();
      done += batch.length;
      progress?.update(done);
    }
    const textParts: { global: Tensor; local: Tensor; mask: Tensor }[] = [];
    const withText = dataset.records.filter((r) => !isBlankReport(reportSentences(r)));
    for (const batch of batches(withText, batchSize)) {
      textParts.push(
        torch.scope(() =>
          torch.noGrad(() => {
            const e = embedReports(model, tokeniseReports(model, batch.map(reportSentences), opts), variant);
            return { global: torch.keep(e.global), local: torch.keep(e.sentences), mask: torch.keep(e.mask) };
          }),
        ),
      );
      done += batch.length;
      progress?.update(done);
    }
    if (textParts.length === 0) throw new Error(`${dataset.path}: no record has a report to embed`);
    const maxT = Math.max(...textParts.map((p) => p.local.size(1)));
    const out = torch.scope(() => ({
      imageGlobal: torch.keep(torch.cat(globals, 0)),
      imageLocal: torch.keep(torch.cat(locals, 0)),
      textGlobal: torch.keep(torch.cat(textParts.map((p) => p.global), 0)),
      textLocal: torch.keep(torch.cat(textParts.map((p) => padTo(p.local, maxT)), 0)),
      textMask: torch.keep(torch.cat(textParts.map((p) => padTo(p.mask, maxT)), 0)),
    }));
    torch.dispose([globals, locals, textParts]);
    return { ...out, imageIds: images.map((i) => i.id), textIds: withText.map((r) => r.key), variant, seed };
  });
}

export function disposeEmbeddings(e: DatasetEmbeddings): void {
  torch.dispose([e.imageGlobal, e.imageLocal, e.textGlobal, e.textLocal, e.textMask]);
}

/** Writes the embeddings as safetensors; the metadata holds image_ids and text_ids (JSON arrays) and what made them. */
export function writeEmbeddings(file: string, e: DatasetEmbeddings, extra: Record<string, string> = {}): void {
  safetensors.save(
    file,
    { image_global: e.imageGlobal, image_local: e.imageLocal, text_global: e.textGlobal, text_local: e.textLocal, text_mask: e.textMask },
    { metadata: { ...extra, image_ids: JSON.stringify(e.imageIds), text_ids: JSON.stringify(e.textIds), variant: e.variant, seed: String(e.seed) } },
  );
}
