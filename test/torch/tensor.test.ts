import { describe, expect, it } from 'vitest';
import * as torch from '../../src/torch/index.js';

describe('tensor basics', () => {
  it('creates from nested arrays with inferred shape and dtype', () => {
    const t = torch.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.toNested()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(torch.tensor([true, false]).dtype).toBe('bool');
    expect(torch.tensor([1n, 2n]).dtype).toBe('int64');
    expect(torch.tensor(new Int32Array([1, 2])).dtype).toBe('int32');
  });

  it('rejects ragged data with a clear error', () => {
    expect(() => torch.tensor([[1, 2], [3]] as number[][])).toThrow(/ragged/);
  });

  it('reports the napi version the GC backstop needs', () => {
    expect(torch.buildInfo().napiVersion).toBe(0x7fffffff);
  });
});
