// PRIOR (ICCV 2023): configuration, heads, sentence prototype bank, decoders, losses and the
// whole model with its stage steps and zero-shot scoring.
export * from './config.js';
export * from './matching.js';
export * from './gather.js';
export * from './sentence-pool.js';
export * from './local-attention.js';
export * from './heads.js';
export * from './spb.js';
export * from './losses.js';
export * from './image-decoder.js';
export * from './sentence-decoder.js';
export * from './prior.js';
