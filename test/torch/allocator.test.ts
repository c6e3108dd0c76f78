// The CPU block cache behind the allocation cap: freed large blocks are reused by the next
// allocation of the same size, within a limit, and can be returned to the system.
import { afterEach, describe, expect, it } from 'vitest';
import * as torch from '../../src/torch/index.js';

const MiB = 1024 * 1024;
const defaultLimit = torch.cacheStats().cacheLimit;

afterEach(() => {
  torch.setCacheLimit(defaultLimit);
  torch.emptyCache();
});

describe('CPU block cache', () => {
  it('keeps a freed large block and hands it to the next allocation of that size', () => {
    torch.emptyCache();
    expect(torch.cacheStats().cachedBytes).toBe(0);
    torch.empty([MiB / 4]).dispose(); // 1 MiB of float32
    expect(torch.cacheStats().cachedBytes).toBe(MiB);
    const again = torch.empty([MiB / 4]);
    expect(torch.cacheStats().cachedBytes).toBe(0);
    again.dispose();
  });

  it('leaves small blocks to the system allocator', () => {
    torch.emptyCache();
    torch.empty([16]).dispose();
    expect(torch.cacheStats().cachedBytes).toBe(0);
  });

  it('never holds more than its limit, and 0 disables it', () => {
    torch.setCacheLimit(2 * MiB);
    const blocks = [0, 1, 2, 3].map(() => torch.empty([MiB / 4]));
    torch.dispose(blocks);
    expect(torch.cacheStats().cachedBytes).toBe(2 * MiB);
    torch.setCacheLimit(0);
    expect(torch.cacheStats().cachedBytes).toBe(0);
    torch.empty([MiB / 4]).dispose();
    expect(torch.cacheStats().cachedBytes).toBe(0);
  });

  it('returns what it holds on emptyCache', () => {
    torch.emptyCache();
    torch.empty([MiB / 2]).dispose();
    expect(torch.emptyCache()).toBe(2 * MiB);
    expect(torch.cacheStats().cachedBytes).toBe(0);
  });

  it('reuses blocks without mixing up contents that matter', () => {
    const a = torch.full([MiB / 4], 3);
    a.dispose();
    const b = torch.zeros([MiB / 4]);
    expect(b.sum().item()).toBe(0);
    const c = torch.ones(512, 512).matmul(torch.ones(512, 512));
    expect(c.get(0, 0).item()).toBe(512);
  });

  it('rejects a negative limit by name', () => {
    expect(() => torch.setCacheLimit(-1)).toThrow(/setCacheLimit.*bytes/);
  });
});
