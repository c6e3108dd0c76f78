// PRIOR's sentence decoder (spec §6.2, stage 3): a BERT decoder with cross-attention that turns Q
// learned prototype queries, attending to the local image tokens, into Q generated sentence
// prototypes in one parallel pass.
import { BertModel } from '../bert/model.js';
import type { BertConfig } from '../bert/config.js';
import { parseBertConfig } from '../bert/config.js';
import type { Tensor } from '../../torch/index.js';

/** B4: 'causal' is what HF's is_decoder does (released); 'bidirectional' is the paper's "non-auto-regressive". */
export type DecoderAttention = 'causal' | 'bidirectional';

/**
 * The decoder's BertConfig: the text encoder's with `layers` hidden layers, `is_decoder` and
 * `add_cross_attention` (as the original derives it from the ClinicalBERT config).
 */
export function sentenceDecoderConfig(textConfig: BertConfig, layers: number): BertConfig {
  return parseBertConfig({ ...textConfig, num_hidden_layers: layers, is_decoder: true, add_cross_attention: true }, 'sentence decoder config');
}

/**
 * A BertModel without pooler (so its keys are HF's BertModel keys, `embeddings.*` and
 * `encoder.layer.{i}.{attention,crossattention,intermediate,output}.*`), randomly initialised
 * with HF's init. The word-embedding table exists (the original has it) but is never used.
 */
export class CrossModalityBertDecoder extends BertModel {
  readonly attentionKind: DecoderAttention;

  constructor(textConfig: BertConfig, layers: number, attention: DecoderAttention = 'causal') {
    super(sentenceDecoderConfig(textConfig, layers), { addPoolingLayer: false, causal: attention === 'causal' });
    this.attentionKind = attention;
  }

  /** Queries [B, Q, D] attending to image tokens [B, N, D] → generated prototypes [B, Q, D]. No masks (all visible). */
  generate(queries: Tensor, imageTokens: Tensor): Tensor {
    return this.call({ inputsEmbeds: queries, encoderHiddenStates: imageTokens }).lastHiddenState;
  }
}
