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
export { profile, recordFunction, formatProfileTable, type ProfileOptions, type ProfileResult, type ProfileEvent, type ProfileRow, type ProfileColumn, type TableOptions } from './profiler.js';
export { asyncStats, setAsyncConcurrency, type AsyncStats } from './threads.js';
export * from './functional.js';
export { opTable, type OpInfo } from './generated/op-table.js';
