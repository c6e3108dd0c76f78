// The `nn` namespace: Module, layers, containers, nn.init and nn.functional.
export {
  Module,
  type StateDict,
  type FactoryOptions,
  type RegisterParameterOptions,
  type RegisterBufferOptions,
  type LoadStateDictOptions,
  type TraversalOptions,
  type LoadStateDictResult,
  type ForwardHook,
  type ModuleTarget,
} from './module.js';
export { Linear, type LinearOptions } from './linear.js';
export * from './conv.js';
export * from './normalization.js';
export * from './activation.js';
export * from './pooling.js';
export * from './dropout.js';
export * from './embedding.js';
export * from './container.js';
export * from './attention.js';
export * from './upsampling.js';
export * as init from './init.js';
export * as functional from './functional.js';
