// prior-ts: PRIOR (ICCV 2023) chest X-ray / report pre-training on libtorch, in TypeScript.
export * as torch from './torch/index.js';
export * as io from './io/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as models from './models/index.js';
export * as data from './data/index.js';
export * as evaluation from './eval/index.js';
export * as distributed from './distributed/index.js';
export * as train from './train/index.js';
export * as finetune from './finetune/index.js';
