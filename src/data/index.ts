// Data pipeline, exported as `data`: report tokenization (dataset builders come later).
export {
  BertTokenizer,
  TokenizerError,
  DEFAULT_VOCAB_PATH,
  PRIOR_MAX_LENGTH,
  type BertTokenizerOptions,
  type EncodeOptions,
  type Encoding,
  type BatchEncoding,
} from './tokenizer.js';
