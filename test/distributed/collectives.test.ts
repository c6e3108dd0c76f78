// Two ranks on loopback over Gloo: collective results (hand-computed), the differentiable
// all-gather's gradient against the single-process gradient of the same summed loss, env-var
// init. Faults are in faults.test.ts.
import { describe, expect, it } from 'vitest';
import * as torch from '../../src/torch/index.js';
import { ROWS, asFloat64, batchOf, rankLoss, runRanks } from './helpers.js';

describe('distributed (gloo, 2 ranks on loopback)', () => {
  it('allReduce, allGather, broadcast, barrier give the same results on every rank', async () => {
    const runs = await runRanks('collectives');
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0);
      const r = run.result!;
      expect(r.rank).toBe(run.rank);
      expect(r.worldSize).toBe(2);
      expect(r.sum).toEqual([1 + 2, 10 + 20, 0 - 1]);
      expect(r.max).toEqual([1, 0, 5]);
      expect(r.avg).toEqual([(0 + 2) / 2, 4]);
      expect(r.product).toEqual([0.5 * 1.5]);
      expect(r.gathered).toEqual([
        [1, 1, 1, 1],
        [2, 2, 2, 2],
      ]);
      expect(r.broadcast).toEqual([7, 8]);
      // tensors i = 0..3 hold rank + i: the sums are 2i + 1.
      expect(r.many).toEqual([[1, 1], [3, 3], [5, 5], [7, 7]]);
      expect(r.badOp).toMatch(/distributed\.allReduce: argument 'op' must be one of 'sum'.*got 'mean'/);
      expect(r.nonContiguous).toMatch(/distributed\.allReduce: the tensor must be contiguous/);
    }
  }, 30_000);

  it("allGatherWithGrad's gradient equals the single-process gradient of the summed loss", async () => {
    const runs = await runRanks('gather-grad');
    // One process, the whole batch: L = sum over ranks r of rankLoss(r, X[r rows], X).
    const X = torch.cat([asFloat64(batchOf(0)), asFloat64(batchOf(1))], 0).requiresGrad_(true);
    const total = rankLoss(0, X.narrow(0, 0, ROWS), X).add(rankLoss(1, X.narrow(0, ROWS, ROWS), X));
    total.backward();
    const full = X.grad!;
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0);
      const r = run.result!;
      expect(r.shape).toEqual([2 * ROWS, 4]);
      expect(r.global).toEqual(Array.from(X.detach().toArray() as Float64Array));
      const want = full.narrow(0, run.rank * ROWS, ROWS).toArray() as Float64Array;
      const got = r.grad as number[];
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-6);
    }
    // The gradient is not trivially the local one: the other rank's loss contributes.
    const localOnly = torch.tensor(batchOf(0), { dtype: 'float64', requiresGrad: true });
    rankLoss(0, localOnly, torch.cat([localOnly, asFloat64(batchOf(1))], 0)).backward();
    const diff = (localOnly.grad!.toArray() as Float64Array).reduce((m, v, i) => Math.max(m, Math.abs(v - (runs[0]!.result!.grad as number[])[i]!)), 0);
    expect(diff).toBeGreaterThan(1e-3);
  }, 30_000);

  it('init() reads RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT', async () => {
    const runs = await runRanks('env');
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.result).toEqual({ rank: run.rank, worldSize: 2, backend: 'gloo', sum: [3] });
    }
  }, 30_000);
});
