// BERT (Hugging Face BertModel semantics and key names): encoder, decoder, configs, loading.
export * from './config.js';
export * from './model.js';
export * from './pretrained.js';
