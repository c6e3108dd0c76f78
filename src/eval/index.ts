// Evaluation, exported as `evaluation`: metrics now; zero-shot and fine-tuning runners build on them.
export * from './metrics/index.js';
