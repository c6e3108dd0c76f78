// PRIOR's model configuration (spec §0, §4.4, §5, §6, §10): sizes, loss weights and the oddity
// flags, validated with zod (strict: a misspelt key is an error, not a silent default), and the
// two presets: `paper` (the released run) and `tiny` (a CPU-sized model for tests and smoke runs).
import { z } from 'zod';
import { BERT_PRESETS, BertConfigSchema } from '../bert/config.js';
import type { BertConfigInput } from '../bert/config.js';

const positiveInt = z.number().int().positive();
const probability = z.number().min(0).max(1);

/** B1: how layer4 becomes local tokens ('faithful' = the plain NCHW reshape the weights were trained with). */
export const LocalLayoutSchema = z.enum(['faithful', 'spatial']);
/** B2: how the decoder turns [B, N, D] tokens back into maps ('faithful' = plain reshape, 'spatial' = transpose first). */
export const DecoderMapLayoutSchema = z.enum(['faithful', 'spatial']);
/** B3: how the Hungarian result pairs generated and target prototypes ('faithful' = G[col], the inverse). */
export const SpgPairingSchema = z.enum(['faithful', 'intended']);
/** B4: the sentence decoder's self-attention ('causal' = HF is_decoder, as released; 'bidirectional' = the paper). */
export const DecoderAttentionSchema = z.enum(['causal', 'bidirectional']);
/** B6: when the SPB adds Gumbel noise ('always' = also at evaluation and zero-shot, as released). */
export const SpbNoiseSchema = z.enum(['always', 'train']);
/** B7: the SPB temperature schedule over stages 2-3 ('fixed' = 0.9 throughout, as the run was configured). */
export const SpbTemperatureScheduleSchema = z.enum(['fixed', 'linear', 'exp']);

export const PriorConfigSchema = z
  .object({
    /** D, the shared embedding width (paper 768). Multiple of 16: the image decoder halves it four times. */
    embedDim: positiveInt,

    // ---- image encoder (spec §1) ----
    /** ResNet depth (paper 50). */
    imageDepth: z.union([z.literal(18), z.literal(34), z.literal(50)]),
    /** Image channels (1: grayscale X-rays). */
    inChannels: positiveInt,
    /** Square input side, a multiple of 32 (paper 224): layer4's grid is imageSize/32. */
    imageSize: positiveInt,
    /** Heads of the attention pool over layer4 (paper 8). */
    imagePoolHeads: positiveInt,
    localLayout: LocalLayoutSchema,

    // ---- text encoder (spec §2) ----
    /** HF BertConfig fields of the text encoder (paper: Bio_ClinicalBERT's). hidden_size must equal embedDim. */
    text: BertConfigSchema.strict(),
    /** Tokens per report (paper 256). */
    textMaxLength: positiveInt,

    // ---- heads (spec §4) ----
    /** Heads of the sentence attention pool, global_text_attention (paper 8). */
    sentencePoolHeads: positiveInt,
    /** Hidden width of the SimSiam predictor (paper 384 = D/2). */
    predictorHidden: positiveInt,
    /** Global contrastive temperature: logit_scale starts at ln(1/temperature) (paper 0.01). */
    temperature: z.number().positive(),
    /** Local text loss temperature: local_logit_scale starts at ln(1/localTemperature) (paper 0.01). */
    localTemperature: z.number().positive(),

    // ---- SPB (spec §5) ----
    /** K, the sentence prototypes (paper 512). */
    prototypes: positiveInt,
    /** Initial Gumbel-softmax temperature (paper 0.9). */
    spbTemperature: z.number().positive(),
    spbNoise: SpbNoiseSchema,
    spbTemperatureSchedule: SpbTemperatureScheduleSchema,

    // ---- decoders (spec §6) ----
    /** Q, prototype queries of the sentence decoder (paper 16). */
    queries: positiveInt,
    /** BERT decoder layers (paper 8). */
    decoderLayers: positiveInt,
    decoderAttention: DecoderAttentionSchema,
    decoderMapLayout: DecoderMapLayoutSchema,
    /** Dropout2d probability on the image map of the image decoder (paper 0.5). */
    imageDropout: probability,
    spgPairing: SpgPairingSchema,

    // ---- losses (spec §7.3) ----
    /** Stage 3 keeps the first maxSentences sentences of each report (paper 16). */
    maxSentences: positiveInt,
    /** λ on proto_loss (stages 2-3) and inside spg_loss (paper 10). */
    lambdaProto: z.number().nonnegative(),
    /** The hard-coded weight of the global loss in stage 3 only (paper 10, "need tune"). */
    stage3GlobalWeight: z.number().nonnegative(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const bad = (path: string, message: string): void => void ctx.addIssue({ code: 'custom', path: [path], message });
    if (c.imageSize % 32 !== 0) bad('imageSize', `must be a multiple of 32 (the ResNet stride and the decoder's 5 doublings), got ${c.imageSize}`);
    if (c.embedDim % 16 !== 0) bad('embedDim', `must be a multiple of 16 (the image decoder's channels go 2D, D, D/2, ..., D/16), got ${c.embedDim}`);
    if (c.embedDim % c.sentencePoolHeads !== 0) bad('sentencePoolHeads', `embedDim ${c.embedDim} is not divisible by ${c.sentencePoolHeads} heads`);
    if (c.text.hidden_size !== c.embedDim) {
      bad('text.hidden_size', `must equal embedDim ${c.embedDim} (the sentence decoder reuses the text config on D-wide queries), got ${c.text.hidden_size}`);
    }
    if (c.textMaxLength > c.text.max_position_embeddings) {
      bad('textMaxLength', `${c.textMaxLength} exceeds text.max_position_embeddings ${c.text.max_position_embeddings}`);
    }
    if (c.queries > c.text.max_position_embeddings) bad('queries', `${c.queries} exceeds text.max_position_embeddings`);
    if (c.queries < c.maxSentences) {
      bad('queries', `the SPG targets pad to maxSentences ${c.maxSentences} rows per report, so queries must be >= it, got ${c.queries}`);
    }
  });

/** A validated configuration (every field present, `text` with BertConfig's defaults filled in). */
export type PriorConfig = z.output<typeof PriorConfigSchema>;
export type PriorConfigInput = z.input<typeof PriorConfigSchema>;

/** emilyalsentzer/Bio_ClinicalBERT's config: BERT-base sizes with the cased 28,996-token vocabulary (spec §2). */
export const CLINICAL_BERT_CONFIG = {
  vocab_size: 28996,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
} as const satisfies BertConfigInput;

/** The faithful defaults of every oddity flag (spec §10): what the released weights were trained with. */
const FAITHFUL_FLAGS = {
  localLayout: 'faithful',
  decoderMapLayout: 'faithful',
  spgPairing: 'faithful',
  decoderAttention: 'causal',
  spbNoise: 'always',
  spbTemperatureSchedule: 'fixed',
} as const;

/** What the paper and tiny presets share: the released run's loss constants. */
const COMMON = {
  ...FAITHFUL_FLAGS,
  inChannels: 1,
  imagePoolHeads: 8,
  sentencePoolHeads: 8,
  temperature: 0.01,
  localTemperature: 0.01,
  spbTemperature: 0.9,
  imageDropout: 0.5,
  maxSentences: 16,
  lambdaProto: 10,
  stage3GlobalWeight: 10,
} as const;

export const PRIOR_PRESETS = {
  /** The released pre-training run (spec §0): ResNet-50 at 224, ClinicalBERT, D 768, K 512, Q 16, 8 decoder layers. */
  paper: {
    ...COMMON,
    embedDim: 768,
    imageDepth: 50,
    imageSize: 224,
    text: CLINICAL_BERT_CONFIG,
    textMaxLength: 256,
    predictorHidden: 384,
    prototypes: 512,
    queries: 16,
    decoderLayers: 8,
  },
  /**
   * CPU-sized: ResNet-18 at 64×64 (a 2×2 grid, 4 local tokens), bert-tiny (uncased vocabulary),
   * 64 tokens, D 128, K 64, Q 8, 2 decoder layers. Stage 3 pads the SPG targets to maxSentences
   * rows and pairs them one-to-one with the queries, so maxSentences follows Q down to 8 (a
   * 64-token text rarely holds more sentences).
   */
  tiny: {
    ...COMMON,
    embedDim: 128,
    imageDepth: 18,
    imageSize: 64,
    text: BERT_PRESETS['bert-tiny'],
    textMaxLength: 64,
    predictorHidden: 64,
    prototypes: 64,
    queries: 8,
    maxSentences: 8,
    decoderLayers: 2,
  },
} as const satisfies Record<string, PriorConfigInput>;

export type PriorPreset = keyof typeof PRIOR_PRESETS;

/** Validates `raw` (a parsed config file or CLI options); the error names the source and every bad field. */
export function parsePriorConfig(raw: unknown, source = 'PRIOR config'): PriorConfig {
  const result = PriorConfigSchema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${source}: invalid configuration:\n  ${issues.join('\n  ')}`);
  }
  return result.data;
}

/** Overrides of a preset: any top-level field, and `text` fields merged into the preset's. */
export type PriorConfigOverrides = Partial<Omit<PriorConfigInput, 'text'>> & { text?: BertConfigInput };

/** A preset with `overrides` applied, validated. */
export function priorConfig(preset: PriorPreset, overrides: PriorConfigOverrides = {}): PriorConfig {
  if (!Object.hasOwn(PRIOR_PRESETS, preset)) {
    throw new RangeError(`priorConfig: unknown preset '${String(preset)}' (known: ${Object.keys(PRIOR_PRESETS).join(', ')})`);
  }
  const base = PRIOR_PRESETS[preset];
  return parsePriorConfig({ ...base, ...overrides, text: { ...base.text, ...overrides.text } }, `preset '${preset}'`);
}

/** [H, W] of layer4 (and of the image decoder's input maps): imageSize / 32. */
export function featureGrid(config: PriorConfig): [number, number] {
  const side = config.imageSize / 32;
  return [side, side];
}

/** The initial value of logit_scale / local_logit_scale: ln(1/temperature) (4.60517 at 0.01). */
export function logitScaleInit(temperature: number): number {
  return Math.log(1 / temperature);
}
