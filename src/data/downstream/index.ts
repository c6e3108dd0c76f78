// Readers of public downstream datasets (CheXpert, RSNA Pneumonia, COVIDx, SIIM-ACR,
// Object-CXR, COCO, image/mask folders) and of the project's labelled dataset file.
export * from './types.js';
export * from './chexpert.js';
export * from './rsna.js';
export * from './covidx.js';
export * from './siim.js';
export * from './object-cxr.js';
export * from './coco.js';
export * from './image-mask-folder.js';
export * from './dataset-json.js';
export * from './masks.js';
