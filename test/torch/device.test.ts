// Devices and threads. CUDA cases run where a GPU and a CUDA build of libtorch exist, and are
// skipped (not passed) elsewhere.
import { describe, expect, it } from 'vitest';
import * as torch from '../../src/torch/index.js';

describe('threads', () => {
  it('sets and reads the intra-op thread count', () => {
    const before = torch.getNumThreads();
    torch.setNumThreads(1);
    expect(torch.getNumThreads()).toBe(1);
    torch.setNumThreads(before);
    expect(torch.getNumThreads()).toBe(before);
    expect(() => torch.setNumThreads(0)).toThrow(/setNumThreads.*>= 1/);
  });
});

describe('devices', () => {
  it('reports CUDA consistently', () => {
    const n = torch.cuda.deviceCount();
    expect(torch.cuda.isAvailable()).toBe(n > 0);
    if (n === 0) expect(() => torch.ones(2).to('cuda')).toThrow(/to_device|CUDA|cuda/);
  });

  it('rejects malformed device strings with the argument named', () => {
    expect(() => torch.zeros([2], { device: 'gpu' as never })).toThrow(/device/);
  });

  const cuda = torch.cuda.isAvailable();
  it.runIf(cuda)('runs ops, autograd and transfers on cuda', () => {
    const a = torch.randn(64, 32, { device: 'cuda', requiresGrad: true });
    const b = torch.randn(32, 16).cuda();
    expect(a.device).toBe('cuda:0');
    const y = a.matmul(b).relu().sum();
    y.backward();
    expect(a.grad!.device).toBe('cuda:0');
    const ref = a.detach().cpu().matmul(b.cpu()).relu().sum();
    expect(Math.abs(y.item() - ref.item())).toBeLessThan(1e-2 * Math.max(1, Math.abs(ref.item())));
    torch.cuda.synchronize();
  });

  it.runIf(cuda)('mixing devices is an error that names both', () => {
    expect(() => torch.ones(2).add(torch.ones(2).cuda())).toThrow(/cuda|cpu/);
  });
});
