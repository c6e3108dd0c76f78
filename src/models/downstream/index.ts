// Downstream heads on a ResNet encoder: classification, U-Net segmentation, one-stage detection.
export * from './encoder-model.js';
export * from './classifier.js';
export * from './unet.js';
export * from './detector.js';
