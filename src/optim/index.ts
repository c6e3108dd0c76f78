// Optimizers, LR schedules, gradient clipping/accumulation and mixed precision, exported as `optim`.
export { Optimizer, type BaseHyper, type HyperValue, type OptimizerMode, type OptimizerStateDict, type ParamGroup, type ParamGroupInput, type ParamState, type ParamsInput } from './optimizer.js';
export { SGD, LARS, excludeFromWeightDecay, type SgdHyper, type SgdOptions, type LarsHyper, type LarsOptions } from './sgd.js';
export { Adam, AdamW, type AdamHyper, type AdamOptions } from './adam.js';
export { clipGradNorm_, clipGradValue_, accumulateGradients, type ClipGradNormOptions } from './clip.js';
export { LRScheduler, LambdaLR, StepLR, CosineAnnealingLR, LinearWarmupCosineAnnealingLR, type LrGroups, type SchedulerStateDict } from './lr-scheduler.js';
export { autocast, isAutocastEnabled, GradScaler, type AutocastDevice, type AutocastOptions, type GradScalerOptions, type GradScalerStateDict, type ScalableOptimizer } from './amp.js';
