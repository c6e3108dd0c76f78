// File formats, exported as `io`: safetensors and training checkpoints.
export * as safetensors from './safetensors.js';
export { SafetensorsError, type SafetensorsHeader, type TensorInfo, type LoadOptions, type SaveOptions } from './safetensors.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  latestCheckpoint,
  listCheckpoints,
  stepDirName,
  captureRngStates,
  restoreRngStates,
  CheckpointError,
  FORMAT_VERSION,
  type Checkpoint,
  type CheckpointState,
  type SaveCheckpointOptions,
  type StateTree,
  type Json,
  type RngStates,
  type Provenance,
} from './checkpoint.js';
