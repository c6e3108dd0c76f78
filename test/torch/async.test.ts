// Async ops (`<op>Async`, generated for ops.def's `async` flag): results equal the sync op's,
// the event loop keeps running while a worker computes, inputs in flight refuse dispose() and
// in-place writes, errors read as the sync op's, grad mode carries, and the limiter queues.
import { afterEach, describe, expect, it } from 'vitest';
import * as torch from '../../src/torch/index.js';

afterEach(() => torch.setAsyncConcurrency(null));

describe('async ops', () => {
  it('give the sync result', async () => {
    const a = torch.randn(8, 5);
    const b = torch.randn(5, 3);
    const w = torch.randn(4, 3, 3, 3);
    const x = torch.randn(2, 3, 9, 9);
    const cases: [Promise<torch.Tensor>, torch.Tensor][] = [
      [torch.matmulAsync(a, b), torch.matmul(a, b)],
      [torch.mmAsync(a, b), torch.mm(a, b)],
      [torch.bmmAsync(a.unsqueeze(0), b.unsqueeze(0)), torch.bmm(a.unsqueeze(0), b.unsqueeze(0))],
      [torch.linearAsync(a, b.t(), torch.ones(3)), torch.linear(a, b.t(), torch.ones(3))],
      [torch.einsumAsync('ij,jk->ik', [a, b]), torch.einsum('ij,jk->ik', [a, b])],
      [torch.cdistAsync(a, a, 1), torch.cdist(a, a, 1)],
      [torch.conv2dAsync(x, w, null, { stride: 2, padding: 1 }), torch.conv2d(x, w, null, { stride: 2, padding: 1 })],
      [torch.convTranspose2dAsync(x, w.transpose(0, 1), null, { stride: 2 }), torch.convTranspose2d(x, w.transpose(0, 1), null, { stride: 2 })],
    ];
    for (const [pending, expected] of cases) {
      const got = await pending;
      expect(got.shape).toEqual(expected.shape);
      expect(got.sub(expected).abs().max().item()).toBe(0);
    }
  });

  it('keep the event loop responsive while a worker computes', async () => {
    const a = torch.randn(1024, 1024);
    const started = performance.now();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    let n = 0;
    // Several big matmuls in sequence: ~hundreds of ms of native work off the JS thread.
    for (; n < 8 || performance.now() - started < 200; n++) (await torch.mmAsync(a, a)).dispose();
    clearInterval(timer);
    const elapsed = performance.now() - started;
    // A blocked loop would tick zero times; a free one ticks about once per millisecond.
    expect(ticks).toBeGreaterThan(elapsed / 20);
  });

  it('refuse dispose() of an input in flight, and allow it after', async () => {
    const a = torch.randn(256, 256);
    const pending = torch.mmAsync(a, a);
    expect(() => a.dispose()).toThrow(/input of an async op in flight/);
    expect(a.isDisposed).toBe(false);
    const r = await pending;
    a.dispose();
    expect(a.isDisposed).toBe(true);
    r.dispose();
  });

  it('refuse in-place writes to an input in flight or a view of it; reads are allowed', async () => {
    const a = torch.ones(64, 64);
    const view = a.narrow(0, 0, 8);
    const pending = torch.mmAsync(a, a);
    expect(() => a.add_(1)).toThrow(/add_: .*async op in flight/);
    expect(() => view.zero_()).toThrow(/zero_: .*async op in flight/);
    expect(() => a.copy_(torch.zeros(64, 64))).toThrow(/async op in flight/);
    expect(a.sum().item()).toBe(64 * 64); // a read, and the failed writes changed nothing
    expect((await pending).sum().item()).toBe(64 * 64 * 64);
    a.add_(1); // settled: writable again
    expect(a.max().item()).toBe(2);
  });

  it('reject with the sync op message: op name and argument shapes', async () => {
    const a = torch.ones(2, 3);
    const syncError = (() => {
      try {
        torch.mm(a, a);
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    await expect(torch.mmAsync(a, a)).rejects.toThrow(syncError);
    expect(syncError).toMatch(/^mm: .*\n {2}\(self=float32\[2, 3\], mat2=float32\[2, 3\]\)$/s);
    // Bad arguments reject too, rather than throwing synchronously.
    const bad = torch.mmAsync(a, 3 as unknown as torch.Tensor);
    await expect(bad).rejects.toThrow(TypeError);
    await expect(bad).rejects.toThrow(/argument 'mat2' must be a Tensor/);
    // And the failed op's inputs are released.
    a.dispose();
  });

  it('carry grad mode from the call: results have history, backward runs here', async () => {
    const x = torch.tensor([[1, 2], [3, 4]], { dtype: 'float64', requiresGrad: true });
    const y = await torch.matmulAsync(x, x);
    expect(y.requiresGrad).toBe(true);
    y.sum().backward();
    // d/dX sum(X @ X) = 1 X^T + X^T 1: row sums of X across, plus column sums down.
    expect(x.grad!.toNested()).toEqual([
      [3 + 4, 7 + 4],
      [3 + 6, 7 + 6],
    ]);
    // Grad mode is read at the call: noGrad() has ended before the op runs, yet applies.
    let pending: Promise<torch.Tensor> | undefined;
    torch.noGrad(() => {
      pending = torch.matmulAsync(x, x);
    });
    expect((await pending!).requiresGrad).toBe(false);
  });

  it('queue beyond the concurrency limit', async () => {
    torch.setAsyncConcurrency(1);
    const a = torch.randn(128, 128);
    const pending = [torch.mmAsync(a, a), torch.mmAsync(a, a), torch.mmAsync(a, a)];
    expect(torch.asyncStats()).toMatchObject({ running: 1, queued: 2, limit: 1 });
    await Promise.all(pending);
    expect(torch.asyncStats()).toMatchObject({ running: 0, queued: 0 });
    torch.setAsyncConcurrency(2);
    const more = [torch.mmAsync(a, a), torch.mmAsync(a, a), torch.mmAsync(a, a)];
    expect(torch.asyncStats()).toMatchObject({ running: 2, queued: 1 });
    // A queued op's inputs are in flight already.
    expect(() => a.dispose()).toThrow(/in flight/);
    await Promise.all(more);
  });

  it('budget cores / intra-op threads by default', () => {
    const { limit, cores } = torch.asyncStats();
    expect(limit).toBe(Math.max(1, Math.floor(cores / torch.getNumThreads())));
    expect(() => torch.setAsyncConcurrency(0)).toThrow(RangeError);
  });
});
