// Loads the compiled addon. PRIOR_NATIVE overrides the path (e.g. a debug build).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Handle } from './handle.js';
import type { NativeOps } from './generated/ops.js';

export interface BuildInfo {
  libtorchVersion: string;
  napiVersion: number;
  parallelInfo: string;
  config: string;
  physicalMemory: number;
}

/** One event of a profiling session, as native/profiler.cpp reports it. */
export interface NativeProfilerEvent {
  name: string;
  threadId: number;
  startNs: number;
  durationNs: number;
  /** 'cpu', 'cuda', ... */
  device: string;
  /** Bytes allocated (negative: freed) for memory events. */
  nBytes: number;
  correlationId: number;
  linkedCorrelationId: number;
  /** at::RecordScope: 0 FUNCTION, 1 BACKWARD_FUNCTION, 3 USER_SCOPE, ... */
  scope: number;
  shapes: number[][];
  stack: string[];
}

declare const rangeBrand: unique symbol;
/** An open named range (native/profiler.cpp). */
export type RangeHandle = { readonly [rangeBrand]: true };

/** The hand-written part of the binding (native/data.cpp, runtime.cpp, autograd.cpp, io.cpp). */
export interface NativeRuntime {
  fromTypedArray(data: ArrayBufferView, shape: readonly number[], options?: object): Handle;
  toArray(h: Handle): ArrayBufferView;
  item(h: Handle): number | boolean;
  shape(h: Handle): number[];
  dtype(h: Handle): string;
  device(h: Handle): string;
  dim(h: Handle): number;
  numel(h: Handle): number;
  size(h: Handle, dim: number): number;
  dispose(h: Handle): void;
  isDisposed(h: Handle): boolean;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number): void;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaSynchronize(device?: number): void;
  setAllocationCap(bytes: number): void;
  getAllocationCap(): number;
  buildInfo(): BuildInfo;
  liveTensors(): number;
  setCacheLimit(bytes: number): void;
  emptyCache(): number;
  cacheStats(): { cachedBytes: number; cacheLimit: number };
  backward(h: Handle, grad?: Handle, retainGraph?: boolean, createGraph?: boolean, inputs?: Handle[]): void;
  autogradGrad(
    outputs: Handle[],
    inputs: Handle[],
    gradOutputs?: (Handle | null)[],
    retainGraph?: boolean,
    createGraph?: boolean,
    allowUnused?: boolean,
  ): (Handle | null)[];
  getGrad(h: Handle): Handle | null;
  setGrad(h: Handle, grad: Handle | null): void;
  retainGrad(h: Handle): void;
  autogradMeta(h: Handle): [boolean, boolean, string | null];
  isGradEnabled(): boolean;
  setGradEnabled(enabled: boolean): void;
  registerHook(h: Handle, fn: (grad: Handle) => Handle | undefined): number;
  removeHook(h: Handle, id: number): void;
  attachFunction(name: string, inputs: Handle[], outputs: Handle[], backward: (...grads: (Handle | null)[]) => unknown): Handle[];
  // native/profiler.cpp
  profilerStart(options: { recordShapes: boolean; profileMemory: boolean; withStack: boolean; cuda: boolean }): void;
  profilerStop(traceFile?: string): NativeProfilerEvent[];
  profilerEnabled(): boolean;
  recordFunctionEnter(name: string): RangeHandle | null;
  recordFunctionExit(range: RangeHandle): void;
  // native/async.cpp
  setAsyncLimit(n: number): void;
  asyncStats(): { running: number; queued: number; limit: number; cores: number };
  // native/io.cpp
  readFileInto(path: string, offset: number, nbytes: number, shape: readonly number[], dtype: string, options?: object): Handle;
  writeTensorData(fd: number, h: Handle): number;
  getRngState(device?: string): Handle;
  setRngState(state: Handle, device?: string): void;
  // native/optim.cpp
  // Tensor lists are handle arrays (handle.ts's hs()); grads null: the params' own .grad.
  hasGrad(params: unknown): boolean[];
  // hyper: [lr, beta1, beta2, weightDecay, eps].
  fusedAdam(params: unknown, grads: unknown, expAvgs: unknown, expAvgSqs: unknown, maxExpAvgSqs: unknown, steps: unknown, hyper: readonly number[], amsgrad: boolean, decoupled: boolean): void;
  // hyper: [weightDecay, momentum, lr, dampening].
  fusedSgd(params: unknown, grads: unknown, momentumBuffers: unknown, hyper: readonly number[], nesterov: boolean, isFirstStep: boolean): void;
  autocastEnter(deviceType: string, dtype: string, enabled: boolean, cacheEnabled: boolean): [boolean, string, boolean];
  autocastExit(deviceType: string, prevEnabled: boolean, prevDtype: string, prevCacheEnabled: boolean): void;
  isAutocastEnabled(deviceType: string): boolean;
}

const here = dirname(fileURLToPath(import.meta.url));

function locate(): string {
  if (process.env.PRIOR_NATIVE) return resolve(process.env.PRIOR_NATIVE);
  // src/torch (tests, tsx) and dist/torch (compiled) both sit two levels below the root.
  const file = join(here, '..', '..', 'build', 'Release', 'prior_native.node');
  if (!existsSync(file)) {
    throw new Error(`prior-ts native addon not found at ${file}: run \`npm install\` (or \`npm run build:native\`) first`);
  }
  return file;
}

export const native = createRequire(import.meta.url)(locate()) as NativeRuntime & NativeOps;
