// The `train` namespace: the three-stage trainer (spec §8), its configuration and schedules,
// the run directory, the loss plot, and the wiring to PRIOR's model and loader.
export * from './config.js';
export * from './schedule.js';
export * from './trainer.js';
export * from './run-dir.js';
export { lossPanels, writeLossPlot } from './loss-plot.js';
export { preparePriorRun, priorBatchTo, mapSource, resolveDevice, type PriorRun } from './prior-run.js';
