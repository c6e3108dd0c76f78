// One process group per process over libtorch's c10d (native/distributed.cpp): TCPStore
// rendezvous, Gloo on CPU, NCCL on CUDA. PyTorch's torch.distributed, cut down to what data-
// parallel training needs. Collectives return Promises: the wait runs off the JS thread, so a
// rank stays responsive (signals, timers) while its peers catch up. The `...Sync` forms block.
// Notes: a pending wait holds one slot of the async core budget (src/torch/threads.ts), so async
// ops started after a collective queue behind it; in-place collectives do not move the tensor's
// version counter (gloo writes its memory directly), so do not reduce a tensor autograd saved.
import { z } from 'zod';
import { defineFunction, noGrad } from '../torch/autograd.js';
import type { Handle } from '../torch/handle.js';
import { dispose, wrap } from '../torch/memory.js';
import { native } from '../torch/native.js';
import type { Tensor } from '../torch/tensor.js';

export type Backend = 'gloo' | 'nccl';
export type ReduceOp = 'sum' | 'avg' | 'product' | 'min' | 'max';

interface NativeDistributed {
  distInit(backend: string, rank: number, worldSize: number, masterAddr: string, masterPort: number, timeoutMs: number): void;
  distDestroy(): void;
  distInfo(): { initialized: boolean; rank: number; worldSize: number; backend: string; hasNccl: boolean };
  distAllReduce(t: Handle, op: string): void;
  distAllReduceAsync(t: Handle, op: string): Promise<Handle>;
  distAllGather(t: Handle): Handle;
  distAllGatherAsync(t: Handle): Promise<Handle>;
  distBroadcast(t: Handle, src: number): void;
  distBroadcastAsync(t: Handle, src: number): Promise<Handle>;
  distBarrier(): void;
  distBarrierAsync(): Promise<Handle>;
}
const dist = native as unknown as NativeDistributed;

const port = z.number().int().min(1).max(65535);
export const InitOptionsSchema = z
  .object({
    backend: z.enum(['gloo', 'nccl']).default('gloo'),
    /** This process's rank; default: $RANK. */
    rank: z.number().int().min(0).optional(),
    /** Number of processes; default: $WORLD_SIZE. */
    worldSize: z.number().int().min(1).optional(),
    /** Host of rank 0, which hosts the TCPStore; default: $MASTER_ADDR. */
    masterAddr: z.string().min(1).optional(),
    /** The TCPStore's port; default: $MASTER_PORT. */
    masterPort: port.optional(),
    /** Milliseconds a rendezvous or a collective may wait for the other ranks before failing
     *  with an error naming the ranks at fault. */
    timeout: z.number().int().min(100).default(60_000),
  })
  .strict();
export type InitOptions = z.input<typeof InitOptionsSchema>;

function fromEnv<T>(name: string, schema: z.ZodType<T>): T | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const r = schema.safeParse(raw);
  if (!r.success) throw new TypeError(`distributed.init: environment variable ${name}=${JSON.stringify(raw)} is invalid: ${r.error.issues[0]?.message}`);
  return r.data;
}

/**
 * Joins the process group (PyTorch's `init_process_group`): blocks until all `worldSize` ranks
 * have joined, or fails after `timeout` naming the ranks that did not. Options not given come
 * from RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT.
 */
export function init(options: InitOptions = {}): void {
  const parsed = InitOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? `option '${issue.path.join('.')}': ` : '';
    throw new TypeError(`distributed.init: ${where}${issue.message}`);
  }
  const o = parsed.data;
  const rank = o.rank ?? fromEnv('RANK', z.coerce.number().int().min(0));
  const worldSize = o.worldSize ?? fromEnv('WORLD_SIZE', z.coerce.number().int().min(1));
  const masterAddr = o.masterAddr ?? fromEnv('MASTER_ADDR', z.string().min(1));
  const masterPort = o.masterPort ?? fromEnv('MASTER_PORT', z.coerce.number().pipe(port));
  const missing = [
    rank === undefined && 'rank (or $RANK)',
    worldSize === undefined && 'worldSize (or $WORLD_SIZE)',
    masterAddr === undefined && 'masterAddr (or $MASTER_ADDR)',
    masterPort === undefined && 'masterPort (or $MASTER_PORT)',
  ].filter((m): m is string => m !== false);
  if (missing.length > 0) throw new TypeError(`distributed.init: missing ${missing.join(', ')}`);
  dist.distInit(o.backend, rank!, worldSize!, masterAddr!, masterPort!, o.timeout);
}

export function isInitialized(): boolean {
  return dist.distInfo().initialized;
}

function info(op: string): { rank: number; worldSize: number; backend: string } {
  const i = dist.distInfo();
  if (!i.initialized) throw new Error(`distributed.${op}: the process group is not initialised: call distributed.init() first`);
  return i;
}

export function getRank(): number {
  return info('getRank').rank;
}

export function getWorldSize(): number {
  return info('getWorldSize').worldSize;
}

export function getBackend(): Backend {
  return info('getBackend').backend as Backend;
}

/** Whether this build has the NCCL backend (a CUDA libtorch with NCCL's headers at build time). */
export function hasNccl(): boolean {
  return dist.distInfo().hasNccl;
}

/** Leaves the process group; a no-op when not initialised. Refuses while collectives are in flight. */
export function destroy(): void {
  dist.distDestroy();
}

// In-place collectives settle with an empty placeholder tensor (the async machinery's result).
async function settle(p: Promise<Handle>): Promise<void> {
  dispose(wrap(await p));
}

// Gloo has no AVG: 'avg' is a sum, then a division here on the JS thread (the version counter
// of `t` must not move while the async op reads it).
const nativeOp = (op: ReduceOp): string => (op === 'avg' ? 'sum' : op);
function finishAverage(t: Tensor, op: ReduceOp): void {
  if (op === 'avg') noGrad(() => t.div_(getWorldSize()));
}

/** Reduces `t` across ranks, in place (PyTorch's `all_reduce`). */
export async function allReduce(t: Tensor, op: ReduceOp = 'sum'): Promise<void> {
  await settle(dist.distAllReduceAsync(t._h, nativeOp(op)));
  finishAverage(t, op);
}

/** {@link allReduce} on the JS thread (in a custom backward, or for small tensors). */
export function allReduceSync(t: Tensor, op: ReduceOp = 'sum'): void {
  dist.distAllReduce(t._h, nativeOp(op));
  finishAverage(t, op);
}

/** Every rank's `t` (same shape on all ranks), as one new tensor [worldSize, ...t.shape]. */
export async function allGatherStacked(t: Tensor): Promise<Tensor> {
  return wrap(await dist.distAllGatherAsync(t._h));
}

/** Every rank's `t` (same shape on all ranks), in rank order (PyTorch's `all_gather`). */
export async function allGather(t: Tensor): Promise<Tensor[]> {
  const stacked = await allGatherStacked(t);
  try {
    return stacked.unbind(0);
  } finally {
    stacked.dispose();
  }
}

export function allGatherSync(t: Tensor): Tensor[] {
  const stacked = wrap(dist.distAllGather(t._h));
  try {
    return stacked.unbind(0);
  } finally {
    stacked.dispose();
  }
}

/** Copies rank `src`'s `t` into every rank's `t`, in place. */
export async function broadcast(t: Tensor, src: number): Promise<void> {
  await settle(dist.distBroadcastAsync(t._h, src));
}

export function broadcastSync(t: Tensor, src: number): void {
  dist.distBroadcast(t._h, src);
}

/** Resolves once every rank has called it. */
export async function barrier(): Promise<void> {
  await settle(dist.distBarrierAsync());
}

export function barrierSync(): void {
  dist.distBarrier();
}

// Forward: every rank's batch, concatenated along dim 0 in rank order. Backward: each rank's
// loss reached every rank's rows, so the gradient of the summed loss for this rank's rows is the
// sum over ranks of their gradients for those rows: all-reduce(SUM), then this rank's slice.
// The backward calls a blocking collective: custom backwards run on the JS thread (CPU graphs),
// every rank reaches this node once per backward, and in the same order as the forwards.
const gatherWithGrad = defineFunction('distributed.allGatherWithGrad', {
  forward(ctx, x: Tensor) {
    ctx.data.rows = x.shape[0];
    ctx.data.rank = getRank();
    const stacked = wrap(dist.distAllGather(x._h));
    try {
      return stacked.flatten(0, 1);
    } finally {
      stacked.dispose();
    }
  },
  backward(ctx, grad) {
    if (grad === null) return null;
    const summed = grad.contiguous().clone();
    allReduceSync(summed, 'sum');
    const rows = ctx.data.rows as number;
    const slice = summed.narrow(0, (ctx.data.rank as number) * rows, rows).clone();
    summed.dispose();
    return slice;
  },
});

/**
 * Every rank's `t` concatenated along dim 0 in rank order ([worldSize * n, ...]), differentiable:
 * the gradient reaching `t` is this rank's slice of the gradient summed over ranks (what a
 * contrastive loss over the global batch needs). All ranks must call it with the same shape and
 * run backward through it. Blocks the JS thread (forward and backward).
 */
export function allGatherWithGrad(t: Tensor): Tensor {
  if (t.dim() === 0) throw new TypeError(`distributed.allGatherWithGrad: the tensor needs a batch dimension, got a scalar`);
  return gatherWithGrad(t);
}
