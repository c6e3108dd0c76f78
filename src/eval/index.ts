// Evaluation, exported as `evaluation`: metrics; loading a trained model; zero-shot
// classification, retrieval, dataset embeddings and report-image alignment maps.
export * from './metrics/index.js';
export * from './load.js';
export * from './encode.js';
export * from './zeroshot.js';
export * from './retrieval.js';
export * from './embed.js';
export * from './explain.js';
export { confusionMatrixPng, confusionMatrixSvg, viridis, type ConfusionFigureOptions } from './figures.js';
