// Process-wide settings: threads, seeds, devices, the allocation cap, build provenance.
import { availableParallelism } from 'node:os';
import { native, type BuildInfo } from './native.js';
import type { DeviceLike } from './dtype.js';
import { wrap } from './memory.js';
import type { Tensor } from './tensor.js';

/** Intra-op threads for libtorch's CPU kernels. */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

/** Seeds the CPU and every CUDA generator, as `torch.manual_seed`. */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}

/**
 * A copy of the default generator's state as a uint8 tensor (`torch.get_rng_state()`; for
 * 'cuda[:N]', `torch.cuda.get_rng_state(N)`).
 */
export function getRngState(device: DeviceLike = 'cpu'): Tensor<'uint8'> {
  return wrap(native.getRngState(device)) as Tensor<'uint8'>;
}

/** Restores a state from {@link getRngState} for the same device: later random ops repeat. */
export function setRngState(state: Tensor<'uint8'>, device: DeviceLike = 'cpu'): void {
  native.setRngState(state._h, device);
}

export const cuda = {
  isAvailable: (): boolean => native.cudaIsAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
  synchronize: (device?: number): void => native.cudaSynchronize(device),
};

/**
 * The largest single CPU allocation allowed, in bytes (0: no cap). Larger requests throw a JS
 * Error before memory is taken. Default: half of physical memory, or PRIOR_ALLOC_CAP_BYTES.
 */
export function setAllocationCap(bytes: number): void {
  native.setAllocationCap(bytes);
}

export function getAllocationCap(): number {
  return native.getAllocationCap();
}

export function buildInfo(): BuildInfo {
  return native.buildInfo();
}

/**
 * Freed CPU blocks of 32 KiB and more are cached for reuse by the next allocation of the same
 * size (tensors released by GC come back in bursts; without the cache each large result would
 * land on fresh memory). Default limit: 1/16 of physical memory, at most 1 GiB, or
 * PRIOR_CPU_CACHE_BYTES; 0 disables the cache.
 */
export function setCacheLimit(bytes: number): void {
  native.setCacheLimit(bytes);
}

/** Returns every cached CPU block to the system and the number of bytes released. */
export function emptyCache(): number {
  return native.emptyCache();
}

export function cacheStats(): { cachedBytes: number; cacheLimit: number } {
  return native.cacheStats();
}

/** Tensor handles not yet released (disposed or collected): a leak check for tests. */
export function liveTensors(): number {
  return native.liveTensors();
}

// Defaults applied once at load: intra-op threads follow the machine's cores unless the
// environment chose (OMP_NUM_THREADS / PRIOR_NUM_THREADS).
const envThreads = Number(process.env.PRIOR_NUM_THREADS ?? process.env.OMP_NUM_THREADS);
native.setNumThreads(Number.isInteger(envThreads) && envThreads > 0 ? envThreads : availableParallelism());
if (process.env.PRIOR_ALLOC_CAP_BYTES !== undefined) native.setAllocationCap(Number(process.env.PRIOR_ALLOC_CAP_BYTES));
if (process.env.PRIOR_CPU_CACHE_BYTES !== undefined) native.setCacheLimit(Number(process.env.PRIOR_CPU_CACHE_BYTES));
