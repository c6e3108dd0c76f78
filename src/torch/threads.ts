// The core budget and async ops. One module owns the budget: each async op runs on a libuv
// worker with a full intra-op team (getNumThreads() threads), so at most
// max(1, floor(cores / intraOpThreads)) run at once and the rest queue (native/async.cpp).
//
// Why per-op async and not `runAsync(fn)` for any JS function: a JS function runs in its own
// V8 isolate on another thread only with its tensors serialised across, which would copy
// every tensor; the ops themselves, in native code, can run on another thread as they are.
import type { Handle } from './handle.js';
import { wrap } from './memory.js';
import { native } from './native.js';
import type { Tensor } from './tensor.js';

export interface AsyncStats {
  /** Ops executing on workers now. */
  readonly running: number;
  /** Ops started and waiting for a slot; their inputs are already in flight. */
  readonly queued: number;
  /** Ops allowed at once: the override, or max(1, floor(cores / intraOpThreads)). */
  readonly limit: number;
  /** Cores this process may run on (its CPU affinity). */
  readonly cores: number;
}

export function asyncStats(): AsyncStats {
  return native.asyncStats();
}

/** Caps concurrent async ops at `n`; null returns to the core budget. */
export function setAsyncConcurrency(n: number | null): void {
  if (n !== null && (!Number.isInteger(n) || n < 1)) throw new RangeError(`setAsyncConcurrency: n must be an integer >= 1 or null, got ${n}`);
  native.setAsyncLimit(n ?? 0);
}

/**
 * Used by the generated `<op>Async` functions: `start` reads the arguments and queues the
 * native work. Argument errors become rejections, so an async op never throws synchronously.
 * The result is wrapped when the promise settles, outside any {@link scope} (scopes are
 * synchronous): dispose it, or leave it to the GC.
 */
export function runAsync(start: () => unknown): Promise<Tensor> {
  let pending: Promise<Handle>;
  try {
    pending = start() as Promise<Handle>;
  } catch (e) {
    return Promise.reject(e);
  }
  return pending.then(wrap);
}
