// Faults on 2 ranks over loopback with a 4 s timeout: a rank that exits (the store host or not),
// one that hangs before a collective, one that never joins. The survivor must fail within the
// timeout with an error naming the rank at fault.
import { describe, expect, it } from 'vitest';
import { freePort, runRanks, startRank } from './helpers.js';

describe('distributed faults (gloo, timeout 4 s)', () => {
  it('a rank that exits makes the other fail promptly, naming it', async () => {
    const [r0, r1] = await runRanks('fault-exit');
    expect(r1!.code).toBe(3);
    const r = r0!.result!;
    expect(r.error).toMatch(/distributed\.allReduce: allReduce #2 \(rank 0 of 2, gloo\) failed: .*rank\(s\) 1 stopped responding/);
    expect(r.ms as number).toBeLessThan(4000);
  }, 30_000);

  it('rank 0, which hosts the store, exiting is named as such', async () => {
    const [r0, r1] = await runRanks('fault-exit', 2, { LEAVER: '0' });
    expect(r0!.code).toBe(3);
    const r = r1!.result!;
    expect(r.error).toMatch(/allReduce #2 \(rank 1 of 2, gloo\) failed: .*rank 0, which hosts the store at 127\.0\.0\.1:\d+, is unreachable/);
    expect(r.ms as number).toBeLessThan(4000);
  }, 30_000);

  it('a rank that hangs before a collective makes the other fail within the timeout, naming it', async () => {
    const port = await freePort();
    const env = (rank: number): Record<string, string> => ({ RANK: String(rank), WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) });
    const [a, b] = [startRank('fault-hang', 0, env(0)), startRank('fault-hang', 1, env(1))];
    const r0 = await a.done;
    b.kill();
    await b.done;
    const r = r0.result!;
    expect(r.error).toMatch(/allReduce #2 \(rank 0 of 2, gloo\) failed: .*rank 1 is alive but has issued 1 collectives, not 2/);
    expect(r.ms as number).toBeGreaterThan(2000);
    expect(r.ms as number).toBeLessThan(4000);
  }, 30_000);

  it('a rank that never joins fails the rendezvous within the timeout, naming it', async () => {
    const port = await freePort();
    const run = await startRank('missing-rank', 0, { RANK: '0', WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) }).done;
    const r = run.result!;
    expect(r.error).toMatch(/distributed\.init: rank 0 of 2: rank\(s\) 1 did not join within 3000 ms/);
    expect(r.ms as number).toBeLessThan(4500);
    expect(r.initialized).toBe(false);
  }, 30_000);
});
