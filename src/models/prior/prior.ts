// The PRIOR model (spec §1-§7, §9, §12.2): encoders, heads, the sentence prototype bank and the
// stage-3 decoders under the original's attribute names (so a converted checkpoint loads
// strictly), the three stage steps with exactly the spec's loss terms and weights, and zero-shot
// scoring. The original's per-sample loops are batched with sentence masks.
import type { PriorBatch } from '../../data/batch.js';
import type { BertConfig } from '../bert/config.js';
import { BertModel } from '../bert/model.js';
import { loadBertModel } from '../bert/pretrained.js';
import { Linear, Module } from '../../nn/index.js';
import type { DeviceLike, FloatDType, Tensor } from '../../torch/index.js';
import { arange, noGrad, normalize, ones, randn, softmax, tensor, zeros } from '../../torch/index.js';
import { PriorImageEncoder } from '../resnet/prior-image-encoder.js';
import type { PriorConfig } from './config.js';
import { featureGrid, logitScaleInit } from './config.js';
import { gatherSentences, packRows, padSentences, unpackRows } from './gather.js';
import type { GatheredSentences } from './gather.js';
import { Predictor, normalProjectionInit } from './heads.js';
import { ImageDecoder, reconstructionLoss } from './image-decoder.js';
import { LocalCrossAttention } from './local-attention.js';
import { globalAlignmentLoss, localImageLoss, localTextLoss, spgLoss } from './losses.js';
import { CrossModalityBertDecoder } from './sentence-decoder.js';
import { SentenceAttentionPool } from './sentence-pool.js';
import { SentencePrototypeBank } from './spb.js';

export type PriorStage = 1 | 2 | 3;

/** The loss terms each stage logs, under the original's names (spec §7.3; `proto_loss_` sic). */
export const STAGE_TERMS = {
  1: ['stage1_global_alignment_loss', 'stage1_local_image_loss', 'stage1_local_text_loss'],
  2: ['stage2_global_alignment_loss', 'stage2_local_image_loss', 'stage2_local_text_loss', 'stage2_proto_loss_'],
  3: [
    'stage3_global_alignment_loss',
    'stage3_local_image_loss',
    'stage3_local_text_loss',
    'stage3_rec_image_loss',
    'stage3_spg_loss',
    'stage3_kl_loss',
    'stage3_gpa_loss',
    'stage3_proto_loss_',
  ],
} as const satisfies Record<PriorStage, readonly string[]>;

/**
 * Each term's weight in `stageN_loss` (spec §7.3, B10): 1 unless listed. proto_loss is ×λ in
 * stages 2-3; the global loss ×stage3GlobalWeight in stage 3 only; spg_loss carries its λ inside.
 */
export function stageWeights(config: PriorConfig, stage: PriorStage): Record<string, number> {
  const weights: Record<string, number> = Object.fromEntries(STAGE_TERMS[stage].map((name) => [name, 1]));
  if (stage >= 2) weights[`stage${stage}_proto_loss_`] = config.lambdaProto;
  if (stage === 3) weights.stage3_global_alignment_loss = config.stage3GlobalWeight;
  return weights;
}

export interface StageOutput {
  /** `stageN_loss`: the weighted sum of the terms. */
  loss: Tensor;
  /** Every term (unweighted, as logged) plus `stageN_loss`, scalars. */
  terms: Record<string, Tensor>;
}

export interface StageStepOptions {
  /**
   * Cross-process gather of the global embeddings with gradient (spec §7.1), and this process's
   * rank; single-process training leaves both out.
   */
  gather?: (x: Tensor) => Tensor;
  rank?: number;
}

/** The text encoder under `text_encoder.encoder.*` (HF BertModel keys, pooler included). */
export class PriorTextEncoder extends Module<[Tensor, Tensor], Tensor> {
  readonly encoder: BertModel;

  constructor(config: BertConfig) {
    super();
    this.encoder = this.registerModule('encoder', new BertModel(config));
  }

  /** last_hidden_state [B, L, hidden]; no token_type_ids (all 0), as the original calls it. */
  forward(inputIds: Tensor, attentionMask: Tensor): Tensor {
    return this.encoder.call({ inputIds, attentionMask }).lastHiddenState;
  }
}

export interface ImageEmbeddings {
  /** global_image_embed [B, D]. */
  global: Tensor;
  /** local_image_embed [B, N, D] (token layout per config.localLayout). */
  local: Tensor;
}

/** What zero-shot scoring needs of each class prompt (spec §9.3). */
export interface ZeroShotClasses {
  /** u_c [C, D]: the prompt's projected tokens averaged as one sentence. */
  sentences: Tensor;
  /** q_c [C, D]: u_c through the SPB. */
  prototypes: Tensor;
  /** g_c [C, D]: the sentence pool of the single prototype. */
  global: Tensor;
}

/**
 * - 'faithful' (released, spec §9.3-9.4): prompt tokens [:, 1:-1] (keeps [SEP], B18), SPB with
 *   Gumbel noise when config.spbNoise is 'always' (B6), the raw logit_scale (B19).
 * - 'intended': [CLS] and [SEP] dropped, a noise-free SPB, exp(logit_scale).
 */
export type ZeroShotVariant = 'faithful' | 'intended';

export interface ZeroShotOptions {
  variant?: ZeroShotVariant;
}

/** Weight of the local softmax in the zero-shot probability (spec §9.4). */
const LOCAL_SCORE_WEIGHT = 0.5;

export class Prior extends Module<[PriorBatch, PriorStage], StageOutput> {
  readonly config: PriorConfig;
  // Own parameters first: PyTorch's state_dict lists them before the children.
  readonly prototypeQueries: Tensor;
  readonly logitScale: Tensor;
  readonly localLogitScale: Tensor;
  readonly imageEncoder: PriorImageEncoder;
  readonly textEncoder: PriorTextEncoder;
  readonly globalTextAttention: SentenceAttentionPool;
  readonly globalImageProjection: Linear;
  readonly localImageProjection: Linear;
  /** Built and initialised as in the original, never used in forward (B9). */
  readonly globalTextProjection: Linear;
  readonly localTextProjection: Linear;
  readonly predictor: Predictor;
  readonly sentenceDecoder: CrossModalityBertDecoder;
  readonly imageDecoder: ImageDecoder;
  readonly localCrossAttention: LocalCrossAttention;
  readonly sentenceBank: SentencePrototypeBank;

  constructor(config: PriorConfig) {
    super();
    this.config = config;
    const d = config.embedDim;
    this.prototypeQueries = this.registerParameter('prototype_queries', randn(1, config.queries, d));
    this.logitScale = this.registerParameter('logit_scale', tensor(logitScaleInit(config.temperature), { dtype: 'float32' }));
    this.localLogitScale = this.registerParameter('local_logit_scale', tensor(logitScaleInit(config.localTemperature), { dtype: 'float32' }));
    this.imageEncoder = this.registerModule(
      'image_encoder',
      new PriorImageEncoder({
        depth: config.imageDepth,
        inChannels: config.inChannels,
        imageSize: config.imageSize,
        numHeads: config.imagePoolHeads,
        localLayout: config.localLayout,
      }),
    );
    this.textEncoder = this.registerModule('text_encoder', new PriorTextEncoder(config.text));
    const imageWidth = this.imageEncoder.globalWidth();
    const textWidth = config.text.hidden_size;
    this.globalTextAttention = this.registerModule('global_text_attention', new SentenceAttentionPool(d, config.sentencePoolHeads));
    // Spec §4.4: the projections and predictor[0] draw their weights from N(0, fan_in^-1/2).
    this.globalImageProjection = this.registerModule('global_image_projection', normalProjectionInit(new Linear(imageWidth, d)));
    this.localImageProjection = this.registerModule('local_image_projection', normalProjectionInit(new Linear(this.imageEncoder.localWidth(), d)));
    this.globalTextProjection = this.registerModule('global_text_projection', normalProjectionInit(new Linear(textWidth, d)));
    this.localTextProjection = this.registerModule('local_text_projection', normalProjectionInit(new Linear(textWidth, d)));
    this.predictor = this.registerModule('predictor', new Predictor(d, config.predictorHidden));
    normalProjectionInit(this.predictor.at(0) as Linear);
    this.sentenceDecoder = this.registerModule('sentence_decoder', new CrossModalityBertDecoder(config.text, config.decoderLayers, config.decoderAttention));
    this.imageDecoder = this.registerModule(
      'image_decoder',
      new ImageDecoder({ grid: featureGrid(config), embedDim: d, outChannels: config.inChannels, imageDropout: config.imageDropout, mapLayout: config.decoderMapLayout }),
    );
    this.localCrossAttention = this.registerModule('local_cross_attention', new LocalCrossAttention(d));
    this.sentenceBank = this.registerModule(
      'sentence_bank',
      new SentencePrototypeBank(d, config.prototypes, { temperature: config.spbTemperature, noise: config.spbNoise }),
    );
  }

  // ---- encoders (spec §1, §2) -------------------------------------------------------------

  /** Normalised images [B, C, H, W] → global [B, D] and local [B, N, D] embeddings. */
  encodeImage(image: Tensor): ImageEmbeddings {
    const { global, local } = this.imageEncoder.call(image);
    return { global: this.globalImageProjection.call(global), local: this.localImageProjection.call(local) };
  }

  /** local_text_embed [B, L, D]: every token projected (before any sentence pooling, spec §2). */
  encodeText(inputIds: Tensor, attentionMask: Tensor): Tensor {
    return this.localTextProjection.call(this.textEncoder.call(inputIds, attentionMask));
  }

  /** Loads a local HF BERT directory (config.json + model.safetensors, e.g. Bio_ClinicalBERT) into the text encoder. */
  loadTextEncoder(dir: string): void {
    const pretrained = loadBertModel(dir, { addPoolingLayer: true });
    try {
      this.textEncoder.encoder.loadStateDict(pretrained.stateDict());
    } catch (e) {
      throw new Error(`${dir}: does not fit the configured text encoder: ${(e as Error).message}`);
    } finally {
      pretrained.dispose();
    }
  }

  // ---- training (spec §7.3) ----------------------------------------------------------------

  /**
   * The SPB temperature hook run before each stage-2/3 batch (spec §5, §8): `step` counted from
   * the start of stage 2, `total` the steps it spans (the original: global_step − 20·I and 130·I),
   * per config.spbTemperatureSchedule. Returns the temperature (logged as `spb_temp`).
   */
  setSpbTemperature(step: number, total: number): number {
    return this.sentenceBank.setTemperature(step, total, this.config.spbTemperatureSchedule);
  }

  forward(batch: PriorBatch, stage: PriorStage): StageOutput {
    return this.stageStep(batch, stage);
  }

  /**
   * One stage's losses on a batch. Only the modules a stage uses enter the graph, so the others
   * (SPB and decoders in stage 1, decoders in stage 2, global_text_projection always) get no
   * gradient, and an optimizer that skips grad-less parameters leaves them as they are (spec §8).
   */
  stageStep(batch: PriorBatch, stage: PriorStage, options: StageStepOptions = {}): StageOutput {
    if (stage !== 1 && stage !== 2 && stage !== 3) throw new RangeError(`Prior.stageStep: stage must be 1, 2 or 3, got ${String(stage)}`);
    const image = this.encodeImage(batch.image);
    const tokens = this.encodeText(batch.inputIds, batch.attentionMask);
    const terms = stage === 1 ? this.stage1(image, tokens, batch, options) : stage === 2 ? this.stage2(image, tokens, batch, options) : this.stage3(image, tokens, batch, options);
    const weights = stageWeights(this.config, stage);
    let loss: Tensor | null = null;
    for (const name of STAGE_TERMS[stage]) {
      const weighted = weights[name] === 1 ? terms[name]! : terms[name]!.mul(weights[name]!);
      loss = loss === null ? weighted : loss.add(weighted);
    }
    terms[`stage${stage}_loss`] = loss!;
    return { loss: loss!, terms };
  }

  private globalLoss(a: Tensor, t: Tensor, options: StageStepOptions): Tensor {
    return globalAlignmentLoss(a, t, this.logitScale, options);
  }

  /** The global and both local losses of sentence rows `s` [B, T, D] against the image (spec §7.1, §7.2). */
  private alignment(image: ImageEmbeddings, s: Tensor, mask: Tensor, options: StageStepOptions): { global: Tensor; localImage: Tensor; localText: Tensor; globalText: Tensor; imageContext: Tensor } {
    const globalText = this.globalTextAttention.call(s, mask);
    const global = this.globalLoss(image.global, globalText, options);
    const context = this.localCrossAttention.call(image.local, s, mask);
    return {
      global,
      localImage: localImageLoss(this.predictor, image.local, context.imageContext),
      localText: localTextLoss(s, context.sentenceContext, mask, this.localLogitScale),
      globalText,
      imageContext: context.imageContext,
    };
  }

  private stage1(image: ImageEmbeddings, tokens: Tensor, batch: PriorBatch, options: StageStepOptions): Record<string, Tensor> {
    const { sentences, mask } = gatherSentences(tokens, batch.sentenceIndex);
    const a = this.alignment(image, sentences, mask, options);
    return { stage1_global_alignment_loss: a.global, stage1_local_image_loss: a.localImage, stage1_local_text_loss: a.localText };
  }

  /** SPB on the valid rows of `g`, the prototypes put back in the padded layout. */
  private prototypes(g: GatheredSentences): { prototypes: Tensor; protoLoss: Tensor; logits: Tensor } {
    const bank = this.sentenceBank.call(packRows(g.sentences, g.mask));
    return { prototypes: unpackRows(bank.prototypes, g.mask), protoLoss: bank.protoLoss, logits: bank.logits };
  }

  private stage2(image: ImageEmbeddings, tokens: Tensor, batch: PriorBatch, options: StageStepOptions): Record<string, Tensor> {
    const g = gatherSentences(tokens, batch.sentenceIndex);
    const { prototypes, protoLoss } = this.prototypes(g);
    const a = this.alignment(image, prototypes, g.mask, options);
    return {
      stage2_global_alignment_loss: a.global,
      stage2_local_image_loss: a.localImage,
      stage2_local_text_loss: a.localText,
      stage2_proto_loss_: protoLoss,
    };
  }

  /**
   * Stage 3 in the original's order (B5): SPB on the truncated sentences → global and local
   * losses → reconstruction → decoder → SPG → KL against the logits of that first SPB call →
   * a second SPB call on the matched generated rows for the GPA loss.
   */
  private stage3(image: ImageEmbeddings, tokens: Tensor, batch: PriorBatch, options: StageStepOptions): Record<string, Tensor> {
    const c = this.config;
    const g = gatherSentences(tokens, batch.sentenceIndex, { maxSentences: c.maxSentences });
    const { prototypes, protoLoss, logits } = this.prototypes(g);
    const a = this.alignment(image, prototypes, g.mask, options);
    const rec = reconstructionLoss(this.imageDecoder.call(image.local, a.imageContext), batch.image);
    const batchSize = image.local.size(0);
    const generated = this.sentenceDecoder.generate(this.prototypeQueries.expand(batchSize, c.queries, c.embedDim), image.local);
    // Targets: the prototypes zero-padded to Q rows per sample, with the mask M (spec §6.3).
    const targets = padSentences(prototypes, g.mask, c.queries);
    const spg = spgLoss(generated, targets.sentences, targets.mask, { pairing: c.spgPairing, lambda: c.lambdaProto });
    const matched = spg.matchedRows; // concat_b R_b[:len_b]: rows aligned with `logits`
    const kl = this.sentenceBank.klLoss(matched, logits);
    const regenerated = unpackRows(this.sentenceBank.call(matched).prototypes, targets.mask);
    const gpa = this.globalLoss(this.globalTextAttention.call(regenerated, targets.mask), a.globalText, options);
    return {
      stage3_global_alignment_loss: a.global,
      stage3_local_image_loss: a.localImage,
      stage3_local_text_loss: a.localText,
      stage3_rec_image_loss: rec,
      stage3_spg_loss: spg.loss,
      stage3_kl_loss: kl,
      stage3_gpa_loss: gpa,
      stage3_proto_loss_: protoLoss,
    };
  }

  // ---- zero-shot classification (spec §9.3, §9.4) -----------------------------------------

  /**
   * Class prompt embeddings from tokenised prompts `inputIds`/`attentionMask` [C, L] (one prompt
   * per class, padded as in training). Runs without gradient; call it in eval mode.
   */
  encodePrompts(inputIds: Tensor, attentionMask: Tensor, { variant = 'faithful' }: ZeroShotOptions = {}): ZeroShotClasses {
    return noGrad(() => {
      const length = inputIds.size(1);
      const tokens = this.encodeText(inputIds, attentionMask).narrow(1, 1, length - 2);
      // The kept positions form one "sentence" (id 1); the rest get id 0, which gathering ignores.
      let keep = attentionMask.narrow(1, 1, length - 2).long();
      if (variant === 'intended') {
        // Drop [SEP] too: the last attended position (count - 1), at count - 2 after the slice.
        const sepAt = attentionMask.long().sum([1], true).sub(2);
        keep = keep.mul(arange(length - 2, { device: keep.device as DeviceLike }).unsqueeze(0).ne(sepAt).long());
      }
      const sentences = gatherSentences(tokens, keep).sentences.select(1, 0); // [C, D]
      const prototypes = this.promptPrototypes(sentences, variant);
      const global = this.globalTextAttention.call(prototypes.unsqueeze(1), ones(prototypes.size(0), 1, { dtype: 'bool', device: prototypes.device as DeviceLike }));
      return { sentences, prototypes, global };
    });
  }

  /** q_c: the faithful variant uses the SPB as configured (noise per spbNoise), the intended one a noise-free softmax. */
  private promptPrototypes(sentences: Tensor, variant: ZeroShotVariant): Tensor {
    if (variant === 'faithful') return this.sentenceBank.call(sentences).prototypes;
    const noNoise = zeros(sentences.size(0), this.sentenceBank.nEmbed, { dtype: sentences.dtype as FloatDType, device: sentences.device as DeviceLike });
    return this.sentenceBank.call(sentences, { noise: noNoise }).prototypes;
  }

  /**
   * Class probabilities [B, C] for normalised images [B, C_in, H, W]: softmax of the global
   * logits + 0.5·softmax of the local scores (spec §9.4). Each image is scored on its own: the
   * original's local score also averages over the batch (B20), which is the same at its forced
   * batch size of 1, so a batch here gives exactly the batch-1 results. Runs without gradient.
   */
  zeroShotScores(image: Tensor, classes: ZeroShotClasses, { variant = 'faithful' }: ZeroShotOptions = {}): Tensor {
    return noGrad(() => {
      const { global, local } = this.encodeImage(image);
      const scale = variant === 'faithful' ? this.logitScale : this.logitScale.exp();
      const globalLogits = normalize(global, { dim: 1 }).matmul(normalize(classes.global, { dim: 1 }).t()).mul(scale); // [B, C]
      const batch = local.size(0);
      const numClasses = classes.prototypes.size(0);
      const prompts = classes.prototypes.unsqueeze(0).expand(batch, numClasses, classes.prototypes.size(1));
      const mask = ones(batch, numClasses, { dtype: 'bool', device: local.device as DeviceLike });
      const att = this.localCrossAttention.call(local, prompts, mask);
      // ½(mean over image tokens of A2 [B, N, C] + mean over image tokens of A1 [B, C, N]).
      const localScores = att.imageAttention.mean([1]).add(att.sentenceAttention.mean([2])).mul(0.5);
      return softmax(globalLogits, 1).add(softmax(localScores, 1).mul(LOCAL_SCORE_WEIGHT));
    });
  }
}
