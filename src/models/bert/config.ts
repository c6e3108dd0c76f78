// BERT configuration: Hugging Face's `config.json` (snake_case keys, BertConfig defaults),
// validated with zod, and the size presets.
import { z } from 'zod';

/** Activations `hidden_act` may name, mapped to gelu's `approximate` or relu. */
const HIDDEN_ACTS = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu'] as const;
export type HiddenAct = (typeof HIDDEN_ACTS)[number];

const positiveInt = z.number().int().positive();
const probability = z.number().min(0).max(1);

/**
 * The fields of HF's BertConfig this implementation reads, with BertConfig's defaults. Unknown
 * keys (architectures, model_type, transformers_version, ...) are ignored; values we cannot
 * honour (relative position embeddings, an unknown activation) are rejected.
 */
export const BertConfigSchema = z
  .object({
    vocab_size: positiveInt.default(30522),
    hidden_size: positiveInt.default(768),
    num_hidden_layers: z.number().int().nonnegative().default(12),
    num_attention_heads: positiveInt.default(12),
    intermediate_size: positiveInt.default(3072),
    hidden_act: z.enum(HIDDEN_ACTS).default('gelu'),
    hidden_dropout_prob: probability.default(0.1),
    attention_probs_dropout_prob: probability.default(0.1),
    max_position_embeddings: positiveInt.default(512),
    type_vocab_size: positiveInt.default(2),
    initializer_range: z.number().positive().default(0.02),
    layer_norm_eps: z.number().positive().default(1e-12),
    pad_token_id: z.number().int().nonnegative().nullable().default(0),
    position_embedding_type: z.literal('absolute').default('absolute'),
    is_decoder: z.boolean().default(false),
    add_cross_attention: z.boolean().default(false),
  })
  .refine((c) => c.hidden_size % c.num_attention_heads === 0, {
    message: 'hidden_size must be a multiple of num_attention_heads',
    path: ['hidden_size'],
  })
  .refine((c) => c.pad_token_id === null || c.pad_token_id < c.vocab_size, {
    message: 'pad_token_id must be < vocab_size',
    path: ['pad_token_id'],
  })
  .refine((c) => !c.add_cross_attention || c.is_decoder, {
    message: 'add_cross_attention needs is_decoder (as HF BertLayer requires)',
    path: ['add_cross_attention'],
  });

/** A validated configuration (every field present). */
export type BertConfig = z.output<typeof BertConfigSchema>;
/** What a caller or a config.json may give: any subset of the fields. */
export type BertConfigInput = z.input<typeof BertConfigSchema>;

/** Validates `raw` (e.g. a parsed config.json); the error names the source and every bad field. */
export function parseBertConfig(raw: unknown, source = 'BERT config'): BertConfig {
  const result = BertConfigSchema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${source}: invalid configuration:\n  ${issues.join('\n  ')}`);
  }
  return result.data;
}

/**
 * Size presets, both with the uncased 30522-token vocabulary the project ships
 * (assets/vocab/bert-base-uncased.txt): `bert-tiny` is google/bert_uncased_L-2_H-128_A-2 and
 * `bert-base` is bert-base-uncased. The paper's Bio_ClinicalBERT (cased, 28996 tokens) comes
 * with its own config.json (loadBertModel).
 */
export const BERT_PRESETS = {
  'bert-tiny': { vocab_size: 30522, hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512 },
  'bert-base': { vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072 },
} as const satisfies Record<string, BertConfigInput>;

export type BertPreset = keyof typeof BERT_PRESETS;

/** A preset's configuration with `overrides` (e.g. `{ is_decoder: true, num_hidden_layers: 8 }`). */
export function bertConfig(preset: BertPreset, overrides: BertConfigInput = {}): BertConfig {
  if (!Object.hasOwn(BERT_PRESETS, preset)) {
    throw new RangeError(`bertConfig: unknown preset '${String(preset)}' (known: ${Object.keys(BERT_PRESETS).join(', ')})`);
  }
  return parseBertConfig({ ...BERT_PRESETS[preset], ...overrides }, `preset '${preset}'`);
}
