// Mixed precision: autocast scopes over libtorch's autocast state (torch.autocast) and a
// dynamic loss scaler for float16 training (torch.amp.GradScaler).
import { z } from 'zod';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { native } from '../torch/native.js';

export type AutocastDevice = 'cpu' | 'cuda';

export interface AutocastOptions {
  deviceType: AutocastDevice;
  /** The lower precision; PyTorch's defaults are bfloat16 on the CPU and float16 on CUDA. */
  dtype?: 'bfloat16' | 'float16';
  enabled?: boolean;
  /** Cache the low-precision copies of leaf weights within the outermost scope. */
  cacheEnabled?: boolean;
}

/**
 * Runs `fn` with autocast on: eligible ops (matmul, linear, conv...) run in `dtype`, and
 * precision-sensitive ones (softmax, losses, norms...) in float32, by libtorch's own op lists.
 * Scopes nest; leaving the outermost one drops the weight cache, as torch.autocast does.
 * `fn` must be synchronous: autocast is thread-local state, not carried across awaits.
 */
export function autocast<T>(options: AutocastOptions, fn: () => T): T {
  const { deviceType, enabled = true, cacheEnabled = true } = options;
  if (deviceType !== 'cpu' && deviceType !== 'cuda') throw new TypeError(`autocast: deviceType must be 'cpu' or 'cuda', got ${JSON.stringify(deviceType)}`);
  const dtype = options.dtype ?? (deviceType === 'cpu' ? 'bfloat16' : 'float16');
  if (dtype !== 'bfloat16' && dtype !== 'float16') throw new TypeError(`autocast: dtype must be 'bfloat16' or 'float16', got ${JSON.stringify(dtype)}`);
  if (deviceType === 'cuda' && enabled && !torch.cuda.isAvailable()) throw new Error("autocast: deviceType 'cuda' was requested but CUDA is not available");
  const [prevEnabled, prevDtype, prevCache] = native.autocastEnter(deviceType, dtype, enabled, cacheEnabled);
  let result: T;
  try {
    result = fn();
  } finally {
    native.autocastExit(deviceType, prevEnabled, prevDtype, prevCache);
  }
  if (result instanceof Promise) throw new TypeError('autocast: the function returned a Promise; autocast covers synchronous work only');
  return result;
}

export function isAutocastEnabled(deviceType: AutocastDevice = 'cuda'): boolean {
  return native.isAutocastEnabled(deviceType);
}

/** What GradScaler needs of an optimizer. */
export interface ScalableOptimizer {
  readonly paramGroups: readonly { readonly params: readonly Tensor[] }[];
  step(): void;
}

export interface GradScalerOptions {
  device?: torch.DeviceLike;
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
  /** When false, scale() and unscale_() are no-ops and step() always steps. */
  enabled?: boolean;
}

export interface GradScalerStateDict {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
}

const scalerStateSchema = z.object({
  scale: z.number().positive(),
  growth_factor: z.number().gt(1),
  backoff_factor: z.number().gt(0).lt(1),
  growth_interval: z.number().int().positive(),
  _growth_tracker: z.number().int().min(0),
});

type Stage = 'unscaled' | 'stepped';

/**
 * Dynamic loss scaling (torch.amp.GradScaler): scale(loss).backward(); step(opt) unscales the
 * gradients (unless unscale_ already did, e.g. before clipping) and skips the step when any is
 * inf/NaN; update() then halves the scale after an overflow, or doubles it after growthInterval
 * clean steps. The scale and the clean-step count live in tensors, updated by libtorch's kernels.
 */
export class GradScaler {
  readonly enabled: boolean;
  private readonly device: torch.DeviceLike;
  private readonly initScale: number;
  private growthFactor: number;
  private backoffFactor: number;
  private growthInterval: number;
  private scaleT: Tensor | null = null;
  private tracker: Tensor | null = null;
  private initTracker = 0;
  private readonly perOptimizer = new Map<ScalableOptimizer, { stage: Stage; foundInf: Tensor }>();

  constructor(options: GradScalerOptions = {}) {
    const { device = 'cuda', initScale = 2 ** 16, growthFactor = 2, backoffFactor = 0.5, growthInterval = 2000, enabled = true } = options;
    const checked = scalerStateSchema.safeParse({ scale: initScale, growth_factor: growthFactor, backoff_factor: backoffFactor, growth_interval: growthInterval, _growth_tracker: 0 });
    if (!checked.success) throw new RangeError(`GradScaler: ${z.prettifyError(checked.error)}`);
    this.device = device;
    this.initScale = initScale;
    this.growthFactor = growthFactor;
    this.backoffFactor = backoffFactor;
    this.growthInterval = growthInterval;
    this.enabled = enabled;
  }

  private lazyInit(): Tensor {
    if (!this.scaleT) {
      this.scaleT = torch.keep(torch.full([], this.initScale, { dtype: 'float32', device: this.device }));
      this.tracker = torch.keep(torch.full([], this.initTracker, { dtype: 'int32', device: this.device }));
    }
    return this.scaleT;
  }

  /** Multiplies `loss` (or any output) by the current scale. */
  scale(loss: Tensor): Tensor {
    if (!this.enabled) return loss;
    return loss.mul(this.lazyInit().to(loss.device as torch.DeviceLike));
  }

  /** Divides the optimizer's gradients by the scale in place and records whether any was inf/NaN. */
  unscale_(optimizer: ScalableOptimizer): void {
    if (!this.enabled) return;
    const stage = this.perOptimizer.get(optimizer)?.stage;
    if (stage === 'unscaled') throw new Error('GradScaler.unscale_: already called on this optimizer since the last update()');
    if (stage === 'stepped') throw new Error('GradScaler.unscale_: called after step(); call update() first');
    const scale = this.lazyInit();
    const foundInf = torch.scope(() =>
      torch.noGrad(() => {
        const grads = optimizer.paramGroups.flatMap((g) => g.params.map((p) => p.grad)).filter((g): g is Tensor => g !== null);
        const fp16 = grads.find((g) => g.dtype === 'float16');
        if (fp16) throw new Error(`GradScaler.unscale_: attempting to unscale float16 gradients (${fp16.dtype}[${fp16.shape}]); keep the parameters in float32`);
        const invScale = scale.double().reciprocal().float();
        const found = torch.zeros([], { dtype: 'float32', device: this.device });
        if (grads.length > 0) torch._ampForeachNonFiniteCheckAndUnscale_(grads, found, invScale);
        return found;
      }),
    );
    this.perOptimizer.set(optimizer, { stage: 'unscaled', foundInf: torch.keep(foundInf) });
  }

  /** Unscales (if not done yet) and steps the optimizer unless a gradient was inf/NaN. Returns whether it stepped. */
  step(optimizer: ScalableOptimizer): boolean {
    if (!this.enabled) {
      optimizer.step();
      return true;
    }
    const state = this.perOptimizer.get(optimizer);
    if (state?.stage === 'stepped') throw new Error('GradScaler.step: already called on this optimizer since the last update()');
    if (!state) this.unscale_(optimizer);
    const entry = this.perOptimizer.get(optimizer)!;
    const clean = entry.foundInf.item() === 0;
    if (clean) optimizer.step();
    entry.stage = 'stepped';
    return clean;
  }

  /** Adjusts the scale from this iteration's inf checks, or sets it to `newScale`. */
  update(newScale?: number): void {
    if (!this.enabled) return;
    const scale = this.lazyInit();
    const found = [...this.perOptimizer.values()].map((s) => s.foundInf);
    if (newScale !== undefined) {
      if (!(newScale > 0)) throw new RangeError(`GradScaler.update: newScale must be positive, got ${newScale}`);
      scale.fill_(newScale);
    } else {
      if (found.length === 0) throw new Error('GradScaler.update: no inf checks were recorded before update() (call step() or unscale_() first)');
      torch.scope(() => {
        let combined = found[0]!;
        for (const f of found.slice(1)) combined = combined.add(f);
        torch._ampUpdateScale_(scale, this.tracker!, combined, this.growthFactor, this.backoffFactor, this.growthInterval);
      });
    }
    torch.dispose(found);
    this.perOptimizer.clear();
  }

  getScale(): number {
    if (!this.enabled) return 1;
    return this.scaleT ? (this.scaleT.item() as number) : this.initScale;
  }

  stateDict(): GradScalerStateDict {
    return {
      scale: this.getScale(),
      growth_factor: this.growthFactor,
      backoff_factor: this.backoffFactor,
      growth_interval: this.growthInterval,
      _growth_tracker: this.tracker ? (this.tracker.item() as number) : this.initTracker,
    };
  }

  loadStateDict(dict: GradScalerStateDict): void {
    if (!this.enabled) throw new Error('GradScaler.loadStateDict: this scaler is disabled');
    const parsed = scalerStateSchema.safeParse(dict);
    if (!parsed.success) throw new Error(`GradScaler.loadStateDict: ${z.prettifyError(parsed.error)}`);
    const s = parsed.data;
    this.growthFactor = s.growth_factor;
    this.backoffFactor = s.backoff_factor;
    this.growthInterval = s.growth_interval;
    this.initTracker = s._growth_tracker;
    this.lazyInit().fill_(s.scale);
    this.tracker!.fill_(s._growth_tracker);
  }
}
