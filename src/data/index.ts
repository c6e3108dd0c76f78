// Data pipeline, exported as `data`: report tokenization, sentence splitting, the dataset file, splits and builders.
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
export { readDatasetFile, writeDatasetFile, multiHot, DatasetFileError, type DatasetRecord, type DatasetFile, type ClassInfo, type ReadDatasetOptions } from './dataset-file.js';
export { splitRecords, splitDatasetFile, type SplitOptions, type Splits } from './split.js';
export { buildFromCsv, buildFromOpenI, type BuildResult, type BuildSummary } from './builders.js';
export { splitSentences, splitSentenceSpans, cleanSentence, PRIOR_MIN_SENTENCES } from './sentences.js';
export { disposeBatch, type PriorBatch } from './batch.js';
export { encodePriorSentences, priorText, reportSentences, isBlankReport, TEXT_JOINS, type TextJoin, type PriorText, type PriorTextOptions } from './prior-text.js';
export { extractSections, normaliseSectionName, buildFromMimic, readViewPositions, type ReportSections, type MimicBuildOptions, type MimicBuildResult, type MimicImageMode } from './mimic.js';
export { readImage, decodeImage, transformImage, resizeAntialiasedBilinear, resizeFloat, rotateNearest, flipHorizontal, luma601, ImageError, PRETRAIN_NORMALIZATION, ZERO_SHOT_NORMALIZATION, type GrayImage, type ImageTransformOptions } from './image.js';
export { PretrainLoader, PretrainLoaderOptions, LoaderError, distributedIndices, type LoaderSummary, type SkippedItem, type LoaderCursor, type EpochOptions } from './loader.js';
export { generateSyntheticDataset, SYNTH_DEFAULTS, type SynthOptions, type SynthSummary } from './synth/index.js';
