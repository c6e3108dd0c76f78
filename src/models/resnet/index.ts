// Image encoders: torchvision-compatible ResNets and PRIOR's attention-pooled image encoder.
export * from './resnet.js';
export * from './attention-pool.js';
export * from './prior-image-encoder.js';
