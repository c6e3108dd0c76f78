// File formats, exported as `io`: safetensors and training checkpoints.
export * as safetensors from './safetensors.js';
export { SafetensorsError, type SafetensorsHeader, type TensorInfo, type LoadOptions, type SaveOptions } from './safetensors.js';
