// gatherSentences and its row helpers against the per-sample reference (ragged T_b = 1, 3, 7 with
// empty sentence ids in the middle), plus the stage-3 padding invariant of spec §14.
import { describe, expect, it } from 'vitest';
import { gatherSentences, packRows, padSentences, unpackRows } from '../../../src/models/prior/gather.js';
import * as torch from '../../../src/torch/index.js';
import { expectClose, get, leaf, meta } from './heads-fixture.js';

describe('gatherSentences', () => {
  it('equals the per-sample segment means, empty ids skipped, with the token gradient', () => {
    const tokens = leaf('tokens');
    const { sentences, mask, counts } = gatherSentences(tokens, get('sentence_index'));
    expect(counts).toEqual(meta.counts);
    expect(mask.toNested()).toEqual(meta.counts.map((c) => Array.from({ length: 7 }, (_, t) => t < c)));
    expectClose(sentences, get('gather.sentences'), 'sentences');
    sentences.mul(get('gather.R')).sum().backward();
    expectClose(tokens.grad, get('gather.tokens_grad'), 'tokens grad');
  });

  it("maxSentences keeps each sample's first k sentences", () => {
    const { sentences, mask, counts } = gatherSentences(get('tokens'), get('sentence_index'), { maxSentences: 2 });
    expect(counts).toEqual(meta.counts.map((c) => Math.min(c, 2)));
    expect(mask.shape).toEqual([meta.B, 2]);
    expectClose(sentences, get('gather.sentences').narrow(1, 0, 2), 'capped sentences');
  });

  it('a batch without sentences gives T = 0; a wrong index shape is named', () => {
    const none = gatherSentences(torch.ones(2, 5, 4), torch.full([2, 5], -1, { dtype: 'int64' }));
    expect(none.sentences.shape).toEqual([2, 0, 4]);
    expect(none.counts).toEqual([0, 0]);
    expect(() => gatherSentences(torch.ones(2, 5, 4), torch.zeros(2, 4, { dtype: 'int64' }))).toThrow(/sentenceIndex must be \[2, 5\]/);
    expect(() => gatherSentences(torch.ones(2, 5, 4), torch.zeros(2, 5))).toThrow(/int64 or int32, got float32/);
  });
});

describe('packRows / unpackRows / padSentences', () => {
  const { sentences, mask } = gatherSentences(get('tokens'), get('sentence_index'));

  it('pack concatenates the valid rows in sample order; unpack restores the padded layout', () => {
    const flat = packRows(sentences, mask);
    const reference = get('gather.sentences');
    const expectedFlat = torch.cat(meta.counts.map((c, b) => reference.select(0, b).narrow(0, 0, c)), 0);
    expectClose(flat, expectedFlat, 'packed rows');
    expectClose(unpackRows(flat, mask), reference, 'unpacked rows');
    const ids = unpackRows(torch.arange(flat.size(0), { dtype: 'int64' }), mask, -1);
    expect(ids.toNested()).toEqual([
      [0, -1, -1, -1, -1, -1, -1],
      [1, 2, 3, -1, -1, -1, -1],
      [4, 5, 6, 7, 8, 9, 10],
    ]);
  });

  it('stage-3 padding: min(T_b, k) ones in the mask, zero padded rows, -1 padded indices', () => {
    for (const k of [4, 16]) {
      const padded = padSentences(sentences, mask, k);
      expect(padded.sentences.shape).toEqual([meta.B, k, meta.D]);
      const ones = padded.mask.long().sum([1]).toNested();
      expect(ones).toEqual(meta.counts.map((c) => Math.min(c, k)));
      const invalid = padded.mask.logicalNot().unsqueeze(-1);
      expect(padded.sentences.abs().mul(invalid).sum().item()).toBe(0);
      const indices = unpackRows(torch.arange(Number(padded.mask.sum().item()), { dtype: 'int64' }), padded.mask, -1);
      expect(indices.eq(-1).eq(padded.mask.logicalNot()).all().item()).toBe(true);
    }
  });
});
