// init()'s argument checks and the calls that need a group, in-process (no rendezvous starts).
import { afterEach, describe, expect, it } from 'vitest';
import * as distributed from '../../src/distributed/index.js';
import * as torch from '../../src/torch/index.js';

const ENV_KEYS = ['RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'] as const;
const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));

afterEach(() => {
  for (const k of ENV_KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('distributed.init checks', () => {
  it('names the missing settings and their env vars', () => {
    for (const k of ENV_KEYS) delete process.env[k];
    expect(() => distributed.init()).toThrow(/missing rank \(or \$RANK\), worldSize \(or \$WORLD_SIZE\), masterAddr \(or \$MASTER_ADDR\), masterPort \(or \$MASTER_PORT\)/);
  });

  it('rejects bad options and bad env values by name', () => {
    expect(() => distributed.init({ rank: -1 })).toThrow(/option 'rank'/);
    expect(() => distributed.init({ masterPort: 70000 })).toThrow(/option 'masterPort'/);
    expect(() => distributed.init({ timeout: 10 })).toThrow(/option 'timeout'/);
    expect(() => distributed.init({ backend: 'mpi' } as never)).toThrow(/option 'backend'/);
    expect(() => distributed.init({ bogus: 1 } as never)).toThrow(/Unrecognized key.*bogus/);
    process.env.RANK = 'x';
    expect(() => distributed.init({ worldSize: 1, masterAddr: '127.0.0.1', masterPort: 29500 })).toThrow(/environment variable RANK="x"/);
    expect(() => distributed.init({ rank: 2, worldSize: 2, masterAddr: '127.0.0.1', masterPort: 29500 })).toThrow(/rank 2 is not in \[0, worldSize = 2\)/);
  });

  it('refuses nccl where the build has none', () => {
    if (distributed.hasNccl()) return;  // a CUDA build with NCCL: nothing to refuse
    expect(() => distributed.init({ backend: 'nccl', rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: 29500 })).toThrow(/this build has no NCCL backend/);
  });

  it('collectives and queries before init say so', async () => {
    expect(distributed.isInitialized()).toBe(false);
    expect(() => distributed.getRank()).toThrow(/distributed\.getRank: the process group is not initialised/);
    await expect(distributed.allReduce(torch.ones([2]))).rejects.toThrow(/distributed\.allReduce: the process group is not initialised/);
    await expect(distributed.barrier()).rejects.toThrow(/not initialised/);
    expect(() => distributed.destroy()).not.toThrow();
  });
});
