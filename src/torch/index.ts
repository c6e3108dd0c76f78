// The tensor API, exported as `torch`: PyTorch's names in camelCase.
export * from './generated/ops.js';
export { Tensor, type TensorOptions, type BackwardOptions, type IndexSpec, type RemovableHandle, type Nested } from './tensor.js';
export { tensor, arange, type TensorData } from './creation.js';
export * from './dtype.js';
export { scope, keep, dispose } from './memory.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled, defineFunction, FunctionCtx, type FunctionDefinition } from './autograd.js';
export * as autograd from './autograd.js';
export { gradcheck, type GradcheckOptions, type GradcheckFunction } from './gradcheck.js';
export * from './runtime.js';
export * from './functional.js';
export { opTable, type OpInfo } from './generated/op-table.js';
