// Model families, each a namespace: `models.bert.BertModel`.
export * as bert from './bert/index.js';
export * as resnet from './resnet/index.js';
export * as prior from './prior/index.js';
