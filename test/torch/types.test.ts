// Static typing of the tensor API: these assertions are checked by `npm run typecheck`
// (tsc over the tests); at run time they only check the dtypes the types promise.
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';

describe('dtype typing', () => {
  it('carries the dtype through creation, ops and conversions', () => {
    const x = torch.zeros(2, 3);
    expectTypeOf(x).toEqualTypeOf<Tensor<'float32'>>();
    const d = torch.ones([2], { dtype: 'float64' });
    expectTypeOf(d).toEqualTypeOf<Tensor<'float64'>>();
    expect(d.dtype).toBe('float64');

    const i = torch.randint(0, 5, [4]);
    expectTypeOf(i).toEqualTypeOf<Tensor<'int64'>>();
    expect(i.dtype).toBe('int64');

    expectTypeOf(x.add(x)).toEqualTypeOf<Tensor<'float32'>>();
    expectTypeOf(x.gt(0)).toEqualTypeOf<Tensor<'bool'>>();
    expect(x.gt(0).dtype).toBe('bool');
    expectTypeOf(x.argmax()).toEqualTypeOf<Tensor<'int64'>>();
    expectTypeOf(x.max(1)).toEqualTypeOf<[Tensor<'float32'>, Tensor<'int64'>]>();
    expectTypeOf(x.to('float16')).toEqualTypeOf<Tensor<'float16'>>();
    expectTypeOf(x.long()).toEqualTypeOf<Tensor<'int64'>>();
    expectTypeOf(torch.cat([x, x])).toEqualTypeOf<Tensor<'float32'>>();
  });

  it('sums integers and booleans in int64, as PyTorch does', () => {
    const mask = torch.tensor([true, false, true]);
    const count = mask.sum();
    expectTypeOf(count).toEqualTypeOf<Tensor<'int64'>>();
    expect(count.dtype).toBe('int64');
    expect(count.item()).toBe(2);
    expectTypeOf(torch.ones(3).sum()).toEqualTypeOf<Tensor<'float32'>>();
    expectTypeOf(mask.sum(0, false, { dtype: 'float64' })).toEqualTypeOf<Tensor<'float64'>>();
  });

  it('promotes mixed dtypes as PyTorch does', () => {
    const f = torch.ones(2);
    const l = torch.ones([2], { dtype: 'int64' });
    const sum = l.add(f);
    expectTypeOf(sum).toEqualTypeOf<Tensor<'float32'>>();
    expect(sum.dtype).toBe('float32');
    const h = torch.ones([2], { dtype: 'float16' });
    const b = torch.ones([2], { dtype: 'bfloat16' });
    expectTypeOf(h.mul(b)).toEqualTypeOf<Tensor<'float32'>>();
    expect(h.mul(b).dtype).toBe('float32');
    expectTypeOf(torch.ones([2], { dtype: 'float64' }).add(f)).toEqualTypeOf<Tensor<'float64'>>();
    // true division of integers is floating point
    expectTypeOf(l.div(l)).toEqualTypeOf<Tensor<'float32'>>();
    expect(l.div(l).dtype).toBe('float32');
  });

  it('rejects misuse at compile time', () => {
    const x = torch.zeros(2);
    // @ts-expect-error: unknown dtype name
    expect(() => x.to('float128')).toThrow(/device|dtype/);
    // @ts-expect-error: options are keyword-only, as in PyTorch
    expect(() => torch.add(x, x, 2)).toThrow(TypeError);
  });
});
