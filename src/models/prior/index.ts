// PRIOR's model parts: sentence gathering, the heads, the sentence prototype bank, the losses,
// the matching, the decoders and the assembled model.
export * from './gather.js';
export * from './sentence-pool.js';
export * from './local-attention.js';
export * from './heads.js';
