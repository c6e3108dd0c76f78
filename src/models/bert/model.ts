// BERT as Hugging Face's BertModel: the same submodule names (so state dict keys are HF's),
// post-LN layers, HF's additive masks, and the decoder variant (causal self-attention plus
// cross-attention) that PRIOR's sentence decoder uses.
import { Dropout, Embedding, LayerNorm, Linear, Module, ModuleList } from '../../nn/index.js';
import { normal_, ones_, zeros_ } from '../../nn/init.js';
import type { DType, DeviceLike, Tensor } from '../../torch/index.js';
import { arange, gelu, noGrad, ones, relu, scaledDotProductAttention, tanh, zeros } from '../../torch/index.js';
import type { BertConfig } from './config.js';

/** torch.finfo(dtype).min: HF's "masked" additive value (not -inf, so a fully masked row stays finite). */
const FINFO_MIN: Partial<Record<DType, number>> = {
  float32: -3.4028234663852886e38,
  float64: -Number.MAX_VALUE,
  float16: -65504,
  bfloat16: -3.3895313892515355e38,
};

function finfoMin(dtype: DType): number {
  const min = FINFO_MIN[dtype];
  if (min === undefined) throw new TypeError(`BERT: hidden states must be floating point, got ${dtype}`);
  return min;
}

/**
 * HF's extended attention mask: `keep` (1 = attend, 0 = masked; any dtype) broadcastable to
 * [B, 1, Lq, Lk], turned into (1 - keep) * finfo.min in the hidden states' dtype.
 */
function additiveMask(keep: Tensor, like: Tensor): Tensor {
  return keep.to({ dtype: like.dtype }).neg().add(1).mul(finfoMin(like.dtype));
}

function checkMask(name: string, mask: Tensor, batch: number, length: number): void {
  if (mask.dim() !== 2 || mask.size(0) !== batch || mask.size(1) !== length) {
    throw new RangeError(`BERT: ${name} must be [${batch}, ${length}], got [${mask.shape.join(', ')}]`);
  }
}

export interface BertInputs {
  /** Token ids [B, L] (int64). Exactly one of inputIds and inputsEmbeds. */
  inputIds?: Tensor;
  /** Token embeddings [B, L, hidden], used in place of the word-embedding lookup. */
  inputsEmbeds?: Tensor;
  /** [B, L], 1 = real token, 0 = padding (default: all ones). */
  attentionMask?: Tensor;
  /** [B, L] segment ids (default: zeros). */
  tokenTypeIds?: Tensor;
  /** [B, L] or [L] (default: 0..L-1). */
  positionIds?: Tensor;
  /** Decoder only: [B, S, hidden] states the cross-attention reads. */
  encoderHiddenStates?: Tensor;
  /** Decoder only: [B, S], 1 = visible (default: all ones). */
  encoderAttentionMask?: Tensor;
}

export interface BertOutput {
  /** [B, L, hidden] */
  lastHiddenState: Tensor;
  /** tanh(dense(first token)) [B, hidden]; null without a pooler. */
  poolerOutput: Tensor | null;
}

/** BertEmbeddings: LayerNorm(word-or-given + position + token type), then dropout. */
export class BertEmbeddings extends Module<[Tensor, Tensor | undefined, Tensor | undefined], Tensor> {
  readonly word_embeddings: Embedding;
  readonly position_embeddings: Embedding;
  readonly token_type_embeddings: Embedding;
  readonly LayerNorm: LayerNorm;
  readonly dropout: Dropout;

  constructor(readonly config: BertConfig) {
    super();
    const h = config.hidden_size;
    this.word_embeddings = this.registerModule('word_embeddings', new Embedding(config.vocab_size, h, { paddingIdx: config.pad_token_id }));
    this.position_embeddings = this.registerModule('position_embeddings', new Embedding(config.max_position_embeddings, h));
    this.token_type_embeddings = this.registerModule('token_type_embeddings', new Embedding(config.type_vocab_size, h));
    this.LayerNorm = this.registerModule('LayerNorm', new LayerNorm(h, { eps: config.layer_norm_eps }));
    this.dropout = this.registerModule('dropout', new Dropout(config.hidden_dropout_prob));
  }

  /** `tokens` are the input embeddings [B, L, hidden] (already looked up, or given). */
  forward(tokens: Tensor, tokenTypeIds: Tensor | undefined, positionIds: Tensor | undefined): Tensor {
    const [batch, length] = tokens.shape as [number, number, number];
    const device = tokens.device as DeviceLike;
    if (length > this.config.max_position_embeddings) {
      throw new RangeError(`BERT: sequence length ${length} exceeds max_position_embeddings ${this.config.max_position_embeddings}`);
    }
    const positions = positionIds ?? arange(length, { dtype: 'int64', device });
    const types = tokenTypeIds ?? zeros(batch, length, { dtype: 'int64', device });
    const summed = tokens.add(this.token_type_embeddings.call(types)).add(this.position_embeddings.call(positions));
    return this.dropout.call(this.LayerNorm.call(summed));
  }
}

/** BertSelfAttention (also the cross-attention, where keys and values come from `context`). */
export class BertSelfAttention extends Module<[Tensor, Tensor, Tensor | null], Tensor> {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly heads: number;

  constructor(readonly config: BertConfig) {
    super();
    const h = config.hidden_size;
    this.heads = config.num_attention_heads;
    this.query = this.registerModule('query', new Linear(h, h));
    this.key = this.registerModule('key', new Linear(h, h));
    this.value = this.registerModule('value', new Linear(h, h));
  }

  /** [B, L, hidden] -> [B, heads, L, headDim] */
  private split(x: Tensor): Tensor {
    const [b, l, h] = x.shape as [number, number, number];
    return x.view(b, l, this.heads, h / this.heads).transpose(1, 2);
  }

  /** `mask` is additive, broadcastable to [B, heads, Lq, Lk]. */
  forward(hidden: Tensor, context: Tensor, mask: Tensor | null): Tensor {
    const q = this.split(this.query.call(hidden));
    const k = this.split(this.key.call(context));
    const v = this.split(this.value.call(context));
    const dropoutP = this.training ? this.config.attention_probs_dropout_prob : 0;
    const out = scaledDotProductAttention(q, k, v, { attnMask: mask, dropoutP });
    const [b, , l] = out.shape as [number, number, number, number];
    return out.transpose(1, 2).reshape(b, l, this.config.hidden_size);
  }
}

/** Dense -> dropout -> residual + LayerNorm: BertSelfOutput and BertOutput (which differ in input width). */
export class BertResidualOutput extends Module<[Tensor, Tensor], Tensor> {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  readonly dropout: Dropout;

  constructor(config: BertConfig, inFeatures: number) {
    super();
    this.dense = this.registerModule('dense', new Linear(inFeatures, config.hidden_size));
    this.LayerNorm = this.registerModule('LayerNorm', new LayerNorm(config.hidden_size, { eps: config.layer_norm_eps }));
    this.dropout = this.registerModule('dropout', new Dropout(config.hidden_dropout_prob));
  }

  forward(x: Tensor, residual: Tensor): Tensor {
    return this.LayerNorm.call(this.dropout.call(this.dense.call(x)).add(residual));
  }
}

/** BertAttention: `self` (attention) then `output` (post-LN residual). */
export class BertAttention extends Module<[Tensor, Tensor, Tensor | null], Tensor> {
  readonly self: BertSelfAttention;
  readonly output: BertResidualOutput;

  constructor(config: BertConfig) {
    super();
    this.self = this.registerModule('self', new BertSelfAttention(config));
    this.output = this.registerModule('output', new BertResidualOutput(config, config.hidden_size));
  }

  forward(hidden: Tensor, context: Tensor, mask: Tensor | null): Tensor {
    return this.output.call(this.self.call(hidden, context, mask), hidden);
  }
}

/** BertIntermediate: dense to intermediate_size, then the activation. */
export class BertIntermediate extends Module<[Tensor], Tensor> {
  readonly dense: Linear;

  constructor(readonly config: BertConfig) {
    super();
    this.dense = this.registerModule('dense', new Linear(config.hidden_size, config.intermediate_size));
  }

  forward(x: Tensor): Tensor {
    const y = this.dense.call(x);
    switch (this.config.hidden_act) {
      case 'gelu':
        return gelu(y);
      case 'gelu_new':
      case 'gelu_pytorch_tanh':
        return gelu(y, { approximate: 'tanh' });
      case 'relu':
        return relu(y);
    }
  }
}

/** The additive masks one layer needs: self-attention, and cross-attention for a decoder. */
export interface LayerMasks {
  self: Tensor | null;
  cross: Tensor | null;
}

/** BertLayer: attention, [crossattention,] intermediate, output. */
export class BertLayer extends Module<[Tensor, LayerMasks, Tensor | undefined], Tensor> {
  readonly attention: BertAttention;
  readonly crossattention: BertAttention | null;
  readonly intermediate: BertIntermediate;
  readonly output: BertResidualOutput;

  constructor(config: BertConfig) {
    super();
    this.attention = this.registerModule('attention', new BertAttention(config));
    this.crossattention = config.add_cross_attention ? this.registerModule('crossattention', new BertAttention(config)) : null;
    this.intermediate = this.registerModule('intermediate', new BertIntermediate(config));
    this.output = this.registerModule('output', new BertResidualOutput(config, config.intermediate_size));
  }

  forward(hidden: Tensor, masks: LayerMasks, encoderHiddenStates: Tensor | undefined): Tensor {
    let x = this.attention.call(hidden, hidden, masks.self);
    if (encoderHiddenStates !== undefined) {
      if (this.crossattention === null) {
        throw new TypeError('BERT: encoderHiddenStates given, but the model has no cross-attention (config add_cross_attention)');
      }
      x = this.crossattention.call(x, encoderHiddenStates, masks.cross);
    }
    return this.output.call(this.intermediate.call(x), x);
  }
}

/** BertEncoder: `layer.0`, `layer.1`, ... */
export class BertEncoder extends Module<[Tensor, LayerMasks, Tensor | undefined], Tensor> {
  readonly layer: ModuleList<BertLayer>;

  constructor(config: BertConfig) {
    super();
    this.layer = this.registerModule('layer', new ModuleList(Array.from({ length: config.num_hidden_layers }, () => new BertLayer(config))));
  }

  forward(hidden: Tensor, masks: LayerMasks, encoderHiddenStates: Tensor | undefined): Tensor {
    let x = hidden;
    for (const layer of this.layer) x = layer.call(x, masks, encoderHiddenStates);
    return x;
  }
}

/** BertPooler: tanh(dense(hidden state of the first token)). */
export class BertPooler extends Module<[Tensor], Tensor> {
  readonly dense: Linear;

  constructor(config: BertConfig) {
    super();
    this.dense = this.registerModule('dense', new Linear(config.hidden_size, config.hidden_size));
  }

  forward(hidden: Tensor): Tensor {
    return tanh(this.dense.call(hidden.select(1, 0)));
  }
}

export interface BertModelOptions {
  /** HF's `add_pooling_layer` (default true). */
  addPoolingLayer?: boolean;
  /**
   * Causal self-attention (default: `config.is_decoder`, as HF). False gives a decoder with
   * cross-attention but bidirectional self-attention (PRIOR's intended sentence decoder, B4).
   */
  causal?: boolean;
}

/**
 * HF's BertModel. With `config.is_decoder` the self-attention is causal (query i sees keys
 * 0..i, combined with the padding mask), and with `add_cross_attention` each layer also
 * attends to `encoderHiddenStates`. No key/value cache: every call is one full parallel pass.
 */
export class BertModel extends Module<[BertInputs], BertOutput> {
  readonly embeddings: BertEmbeddings;
  readonly encoder: BertEncoder;
  readonly pooler: BertPooler | null;
  readonly causal: boolean;

  constructor(
    readonly config: BertConfig,
    { addPoolingLayer = true, causal = config.is_decoder }: BertModelOptions = {},
  ) {
    super();
    this.causal = causal;
    this.embeddings = this.registerModule('embeddings', new BertEmbeddings(config));
    this.encoder = this.registerModule('encoder', new BertEncoder(config));
    this.pooler = this.registerModule('pooler', addPoolingLayer ? new BertPooler(config) : null);
    this.initWeights();
  }

  /**
   * HF's `_init_weights`: Linear and Embedding weights ~ N(0, initializer_range), biases 0,
   * the padding row 0, LayerNorm (1, 0). Same distributions as HF, not the same draws.
   */
  initWeights(): void {
    const std = this.config.initializer_range;
    noGrad(() => {
      for (const m of this.modules()) {
        if (m instanceof Linear) {
          normal_(m.weight, 0, std);
          if (m.bias) zeros_(m.bias);
        } else if (m instanceof Embedding) {
          normal_(m.weight, 0, std);
          if (m.paddingIdx !== null) m.weight.select(0, m.paddingIdx).fill_(0);
        } else if (m instanceof LayerNorm) {
          if (m.weight) ones_(m.weight);
          if (m.bias) zeros_(m.bias);
        }
      }
    });
  }

  forward(inputs: BertInputs): BertOutput {
    const { inputIds, inputsEmbeds, attentionMask, tokenTypeIds, positionIds, encoderHiddenStates, encoderAttentionMask } = inputs;
    if ((inputIds === undefined) === (inputsEmbeds === undefined)) {
      throw new TypeError('BERT: give exactly one of inputIds and inputsEmbeds');
    }
    const tokens = inputsEmbeds ?? this.embeddings.word_embeddings.call(inputIds!);
    if (tokens.dim() !== 3 || tokens.size(2) !== this.config.hidden_size) {
      throw new RangeError(
        `BERT: expected inputIds [B, L] or inputsEmbeds [B, L, ${this.config.hidden_size}], got [${(inputIds ?? tokens).shape.join(', ')}]`,
      );
    }
    const [batch, length] = tokens.shape as [number, number, number];
    if (tokenTypeIds !== undefined) checkMask('tokenTypeIds', tokenTypeIds, batch, length);
    const hidden = this.embeddings.call(tokens, tokenTypeIds, positionIds);
    const masks: LayerMasks = {
      self: this.selfAttentionMask(attentionMask, hidden),
      cross: null,
    };
    if (encoderHiddenStates !== undefined) {
      const [eb, el] = encoderHiddenStates.shape as [number, number, number];
      if (encoderHiddenStates.dim() !== 3 || eb !== batch || encoderHiddenStates.size(2) !== this.config.hidden_size) {
        throw new RangeError(
          `BERT: encoderHiddenStates must be [${batch}, S, ${this.config.hidden_size}], got [${encoderHiddenStates.shape.join(', ')}]`,
        );
      }
      if (encoderAttentionMask !== undefined) {
        checkMask('encoderAttentionMask', encoderAttentionMask, batch, el);
        masks.cross = additiveMask(encoderAttentionMask.view(batch, 1, 1, el), hidden);
      }
    } else if (encoderAttentionMask !== undefined) {
      throw new TypeError('BERT: encoderAttentionMask given without encoderHiddenStates');
    }
    const lastHiddenState = this.encoder.call(hidden, masks, encoderHiddenStates);
    return { lastHiddenState, poolerOutput: this.pooler?.call(lastHiddenState) ?? null };
  }

  /** Padding mask over the keys, and for a decoder the causal mask too; null when nothing is masked. */
  private selfAttentionMask(attentionMask: Tensor | undefined, hidden: Tensor): Tensor | null {
    const [batch, length] = hidden.shape as [number, number, number];
    if (attentionMask !== undefined) checkMask('attentionMask', attentionMask, batch, length);
    let keep: Tensor | null = attentionMask?.to({ dtype: hidden.dtype }).view(batch, 1, 1, length) ?? null;
    if (this.causal) {
      const causal = ones(length, length, { dtype: hidden.dtype, device: hidden.device as DeviceLike }).tril();
      keep = keep === null ? causal : keep.mul(causal);
    }
    return keep === null ? null : additiveMask(keep, hidden);
  }

  protected override extraRepr(): string {
    const c = this.config;
    return `layers=${c.num_hidden_layers}, hidden=${c.hidden_size}, heads=${c.num_attention_heads}${c.is_decoder ? ', decoder' : ''}${this.causal ? ', causal' : ''}`;
  }
}
