// Every layer against PyTorch (test/fixtures/nn/layers.json, scripts/gen_fixtures_nn.py):
// seeded init values, state dict keys, forward outputs with the recorded weights, and the
// buffers after the forwards (batch norm running statistics).
import { describe, expect, it } from 'vitest';
import { nn } from '../../src/index.js';
import type { Module } from '../../src/nn/index.js';
import { loadFixture, replayModuleCase } from './fixtures.js';
import type { ModuleCase } from './fixtures.js';

/** The same constructor calls as `build` in scripts/gen_fixtures_nn.py, by case id. */
const BUILDERS: Record<string, () => Module> = {
  linear: () => new nn.Linear(5, 3),
  linear_nobias_3d: () => new nn.Linear(4, 6, { bias: false }),
  conv2d: () => new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1 }),
  conv2d_groups: () => new nn.Conv2d(4, 6, [3, 2], { padding: [1, 0], dilation: [2, 1], groups: 2, bias: false }),
  conv_transpose2d: () => new nn.ConvTranspose2d(4, 2, 3, { stride: 2, padding: 1, outputPadding: 1 }),
  conv_transpose2d_groups: () => new nn.ConvTranspose2d(4, 6, 2, { groups: 2 }),
  batchnorm2d_train: () => new nn.BatchNorm2d(3),
  batchnorm2d_cumulative: () => new nn.BatchNorm2d(3, { momentum: null }),
  batchnorm2d_eval: () => new nn.BatchNorm2d(3),
  batchnorm1d_3d: () => new nn.BatchNorm1d(4, { momentum: 0.3 }),
  batchnorm1d_no_stats: () => new nn.BatchNorm1d(4, { affine: false, trackRunningStats: false }),
  layernorm: () => new nn.LayerNorm([4, 5]),
  layernorm_plain: () => new nn.LayerNorm(6, { elementwiseAffine: false }),
  embedding: () => new nn.Embedding(10, 4, { paddingIdx: 2 }),
  embedding_neg_padding: () => new nn.Embedding(7, 3, { paddingIdx: -1 }),
  dropout_train: () => new nn.Dropout(0.3),
  dropout_eval: () => new nn.Dropout(),
  dropout2d_train: () => new nn.Dropout2d(0.4),
  relu: () => new nn.ReLU(),
  gelu: () => new nn.GELU(),
  gelu_tanh: () => new nn.GELU({ approximate: 'tanh' }),
  sigmoid: () => new nn.Sigmoid(),
  identity: () => new nn.Identity(),
  maxpool2d: () => new nn.MaxPool2d(3, { stride: 2, padding: 1 }),
  maxpool2d_ceil: () => new nn.MaxPool2d(2, { ceilMode: true }),
  adaptive_avg_pool2d: () => new nn.AdaptiveAvgPool2d(1),
  adaptive_avg_pool2d_rect: () => new nn.AdaptiveAvgPool2d([2, 3]),
  upsample_nearest: () => new nn.Upsample({ scaleFactor: 2 }),
  upsample_bilinear: () => new nn.Upsample({ size: [5, 7], mode: 'bilinear', alignCorners: false }),
  sequential: () => new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 2)),
  mha_padding_mask: () => new nn.MultiheadAttention(8, 2),
  mha_batch_first_attn_mask: () => new nn.MultiheadAttention(8, 4, { batchFirst: true }),
  mha_unbatched: () => new nn.MultiheadAttention(4, 2, { batchFirst: true }),
  mha_no_weights: () => new nn.MultiheadAttention(6, 3, { bias: false }),
};

const { cases } = loadFixture<{ cases: ModuleCase[] }>('layers');

describe('nn layers vs PyTorch', () => {
  it('has a builder for every fixture case and a case for every builder', () => {
    expect(Object.keys(BUILDERS).sort()).toEqual(cases.map((c) => c.id).sort());
  });
  for (const c of cases) {
    it(c.id, () => replayModuleCase(c, BUILDERS[c.id]!));
  }
});
