// The `finetune` namespace: one fine-tuning run (the pre-training Trainer) shared by the three
// downstream tasks, encoders from a PRIOR run, a torchvision-keyed file or random init.
export { runFinetune, type FinetuneSettings, type FinetuneResult, type FinetuneRunOptions, type SplitResult } from './run.js';
export { type FinetuneTask, type TaskMetrics } from './task.js';
export { ClassifyTask } from './classify.js';
export { SegmentTask } from './segment.js';
export { DetectTask, anchorsFor, relativeBoxShapes, YOLOV3_ANCHORS_416 } from './detect.js';
export { loadEncoder, resnetDepthOf, EncoderLoadError, PRIOR_ENCODER_PREFIX, type EncoderSource } from './encoder.js';
export { sampleFraction, holdOut } from './data.js';
