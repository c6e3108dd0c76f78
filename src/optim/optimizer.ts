// The optimizer base: parameter groups, per-parameter state, zeroGrad, and state dicts in
// PyTorch's layout (state keyed by parameter index, param_groups with index lists, snake_case
// hyperparameter names), so checkpoints interoperate with torch.optim.
import { z } from 'zod';
import * as torch from '../torch/index.js';
import { Tensor } from '../torch/index.js';
import { hs } from '../torch/handle.js';
import { native } from '../torch/native.js';

/** A hyperparameter value: a number, a flag, or a pair such as Adam's betas. */
export type HyperValue = number | boolean | readonly [number, number];
/** The hyperparameters every optimizer has; the others are HyperValues too. */
export interface BaseHyper {
  lr: number;
}

/** A parameter group as stored: its hyperparameters (defaults filled in) and its tensors. */
export type ParamGroup<H extends BaseHyper> = H & {
  params: Tensor[];
  /** Set by LR schedulers: the lr the schedule starts from (PyTorch's 'initial_lr'). */
  initialLr?: number;
};
/** A parameter group as passed in: any hyperparameter may be left to the optimizer's defaults. */
export type ParamGroupInput<H extends BaseHyper> = Partial<H> & { params: Iterable<Tensor> };
/** Either plain parameters (one group) or a list of groups. */
export type ParamsInput<H extends BaseHyper> = Iterable<Tensor> | readonly ParamGroupInput<H>[];

/** 'foreach' updates each group with a few multi-tensor libtorch calls; 'fused' with one kernel. */
export type OptimizerMode = 'foreach' | 'fused';

export type ParamState = Record<string, Tensor>;

/** A param group as saved: its hyperparameters (snake_case) and `params`, the parameter indices. */
export type SavedParamGroup = Record<string, number | boolean | number[]>;

// A type alias, not an interface, so that it is assignable to io's StateTree (checkpoints).
export type OptimizerStateDict = {
  state: Record<string, ParamState>;
  param_groups: SavedParamGroup[];
};

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const stateDictSchema = z.object({
  state: z.record(z.string().regex(/^\d+$/), z.record(z.string(), z.instanceof(Tensor))),
  param_groups: z.array(z.object({ params: z.array(z.number().int().nonnegative()) }).passthrough()),
});

function isGroupList<H extends BaseHyper>(params: ParamsInput<H>): params is readonly ParamGroupInput<H>[] {
  return Array.isArray(params) && params.length > 0 && !(params[0] instanceof Tensor);
}

export abstract class Optimizer<H extends BaseHyper> {
  readonly paramGroups: ParamGroup<H>[] = [];
  /** Per-parameter state (momentum buffers, moments, step counts), keyed by the parameter. */
  readonly state = new Map<Tensor, ParamState>();

  constructor(
    params: ParamsInput<H>,
    readonly defaults: Readonly<H>,
  ) {
    const groups = isGroupList(params) ? params : [{ params } as ParamGroupInput<H>];
    for (const g of groups) this.addParamGroup(g);
    if (this.paramGroups.length === 0 || this.paramGroups.every((g) => g.params.length === 0)) {
      throw new Error(`${this.constructor.name}: got an empty parameter list`);
    }
  }

  addParamGroup(group: ParamGroupInput<H>): void {
    const params = [...group.params];
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TypeError(`${this.constructor.name}: params[${i}] is not a Tensor`);
      if (!p.isLeaf) throw new Error(`${this.constructor.name}: can't optimize a non-leaf Tensor (params[${i}], ${p.dtype}[${p.shape}])`);
      if (seen.has(p)) throw new Error(`${this.constructor.name}: params[${i}] appears in more than one parameter group`);
      seen.add(p);
    });
    for (const key of Object.keys(group)) {
      if (key !== 'params' && !(key in this.defaults)) throw new Error(`${this.constructor.name}: unknown parameter group option '${key}'`);
    }
    this.paramGroups.push({ ...this.defaults, ...group, params } as ParamGroup<H>);
  }

  /** Clears gradients: drops them (setToNone, PyTorch's default) or zeroes them in place. */
  zeroGrad(setToNone = true): void {
    torch.scope(() => {
      const params = this.paramGroups.flatMap((g) => g.params);
      if (setToNone) for (const p of params) p.grad = null;
      else torch._foreachZero_(params.map((p) => p.grad).filter((g): g is Tensor => g !== null));
    });
  }

  /** One update of every parameter that has a gradient (PyTorch skips those whose grad is None). */
  step(): void {
    torch.scope(() =>
      torch.noGrad(() => {
        for (const group of this.paramGroups) {
          const mask = native.hasGrad(hs(group.params));
          const params = group.params.filter((_, i) => mask[i]);
          if (params.length > 0) this.updateGroup(group, params, () => params.map((p) => p.grad!));
        }
      }),
    );
  }

  /**
   * Updates `params` (those of `group` with a gradient) in place. Runs in a scope, under noGrad.
   * `grads()` wraps their gradients; fused kernels read them natively instead (a JS handle per
   * gradient reports its bytes to V8, which then collects garbage on every large step).
   */
  protected abstract updateGroup(group: ParamGroup<H>, params: Tensor[], grads: () => Tensor[]): void;

  /** Stores a state tensor, exempt from the step's scope. */
  protected setState(p: Tensor, key: string, t: Tensor): Tensor {
    return storeState(this.state, p, key, t);
  }

  /** The dtype and device a loaded state tensor gets; by default the parameter's. */
  protected stateTarget(p: Tensor, _key: string): { dtype: torch.DType; device: torch.DeviceLike } {
    return { dtype: p.dtype, device: p.device as torch.DeviceLike };
  }

  /** Called after loadStateDict, for optimizers that cache anything derived from state. */
  protected onStateLoaded(): void {}

  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const out: SavedParamGroup = {};
      for (const [k, v] of Object.entries(g)) {
        if (k === 'params') continue;
        out[snake(k)] = Array.isArray(v) ? [...v] : v;
      }
      out.params = g.params.map((p) => {
        index.set(p, index.size);
        return index.size - 1;
      });
      return out;
    });
    const state: Record<string, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i !== undefined && Object.keys(s).length > 0) state[String(i)] = { ...s };
    }
    return { state, param_groups: paramGroups };
  }

  /**
   * Restores hyperparameters and state from {@link stateDict}'s layout (ours or torch.optim's):
   * the groups must hold as many parameters as this optimizer's; state tensors are copied to
   * each parameter's dtype and device. Keys that this optimizer has no use for are ignored.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    const name = this.constructor.name;
    const parsed = stateDictSchema.safeParse(dict);
    if (!parsed.success) throw new Error(`${name}.loadStateDict: ${z.prettifyError(parsed.error)}`);
    const { state, param_groups: groups } = parsed.data;
    if (groups.length !== this.paramGroups.length) {
      throw new Error(`${name}.loadStateDict: the state dict has ${groups.length} parameter groups, the optimizer ${this.paramGroups.length}`);
    }
    const byIndex: Tensor[] = [];
    const updates = groups.map((saved, gi) => {
      const group = this.paramGroups[gi]!;
      if (saved.params.length !== group.params.length) {
        throw new Error(`${name}.loadStateDict: param_groups[${gi}] has ${saved.params.length} params, the optimizer's group ${group.params.length}`);
      }
      saved.params.forEach((idx, k) => (byIndex[idx] = group.params[k]!));
      const update: Record<string, HyperValue> = {};
      for (const key of [...Object.keys(this.defaults), 'initialLr']) {
        const v = (saved as Record<string, unknown>)[snake(key)];
        if (v === undefined) continue;
        const expected = key === 'initialLr' ? 0 : (this.defaults as unknown as Record<string, HyperValue>)[key]!;
        const ok = Array.isArray(expected)
          ? Array.isArray(v) && v.length === expected.length && v.every((x) => typeof x === 'number')
          : typeof v === typeof expected;
        if (!ok) throw new Error(`${name}.loadStateDict: param_groups[${gi}].${snake(key)} must be like ${JSON.stringify(expected)}, got ${JSON.stringify(v)}`);
        update[key] = Array.isArray(v) ? ([v[0], v[1]] as const) : (v as number | boolean);
      }
      return update;
    });
    const loaded = new Map<Tensor, ParamState>();
    for (const [key, entries] of Object.entries(state)) {
      const p = byIndex[Number(key)];
      if (!p) throw new Error(`${name}.loadStateDict: state key ${key} is not a parameter index of any group`);
      const s: ParamState = {};
      for (const [k, t] of Object.entries(entries)) {
        if (k !== 'step' && !sameShape(t.shape, p.shape)) {
          throw new Error(`${name}.loadStateDict: state[${key}].${k} has shape [${t.shape}] but its parameter [${p.shape}]`);
        }
        s[k] = torch.keep(torch.noGrad(() => t.detach().to(this.stateTarget(p, k)).clone()));
      }
      loaded.set(p, s);
    }
    // Validation done: nothing above changed the optimizer.
    // The old state is dropped, not disposed: a state dict handed out earlier may still hold it.
    updates.forEach((u, gi) => Object.assign(this.paramGroups[gi]!, u));
    this.state.clear();
    for (const [p, s] of loaded) this.state.set(p, s);
    this.onStateLoaded();
  }
}

/** Stores `t` as state `key` of parameter `p`, exempt from the scope it was made in. */
export function storeState(state: Map<Tensor, ParamState>, p: Tensor, key: string, t: Tensor): Tensor {
  let s = state.get(p);
  if (!s) state.set(p, (s = {}));
  s[key] = torch.keep(t);
  return t;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
