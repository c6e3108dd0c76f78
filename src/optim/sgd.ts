// SGD (torch.optim.SGD) and LARS (Lightning Bolts' pl_bolts.optimizers.lars.LARS, the variant
// PRIOR's code base imports): LARS is SGD whose gradients are first rescaled per parameter.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { hs } from '../torch/handle.js';
import { native } from '../torch/native.js';
import { Optimizer, storeState, type BaseHyper, type OptimizerMode, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

export interface SgdHyper extends BaseHyper {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

export type SgdOptions = Partial<SgdHyper> & { mode?: OptimizerMode };

function checkSgdHyper(name: string, h: SgdHyper): void {
  if (!(h.lr >= 0)) throw new RangeError(`${name}: invalid learning rate ${h.lr}`);
  if (!(h.momentum >= 0)) throw new RangeError(`${name}: invalid momentum ${h.momentum}`);
  if (!(h.weightDecay >= 0)) throw new RangeError(`${name}: invalid weightDecay ${h.weightDecay}`);
  if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) throw new RangeError(`${name}: nesterov needs a momentum > 0 and zero dampening`);
}

/**
 * The momentum part shared by SGD and LARS (torch.optim.SGD's multi-tensor path): updates the
 * momentum buffers from the directions `dps` and applies `params -= lr * direction`.
 * `dps` may alias the gradients; they are not written.
 */
function momentumStep(state: Map<Tensor, ParamState>, group: SgdHyper, params: Tensor[], dps: Tensor[]): void {
  const { momentum, dampening, nesterov, lr } = group;
  let direction = dps;
  if (momentum !== 0) {
    const existing = params.map((p) => state.get(p)?.momentum_buffer);
    if (existing.every((b): b is Tensor => b !== undefined)) {
      torch._foreachMul_(existing, momentum);
      torch._foreachAddList_(existing, dps, { alpha: 1 - dampening });
    } else {
      // First step for some params: their buffer starts as a copy of the direction.
      existing.forEach((b, i) => {
        if (b === undefined) storeState(state, params[i]!, 'momentum_buffer', dps[i]!.detach().clone());
        else b.mul_(momentum).add_(dps[i]!, { alpha: 1 - dampening });
      });
    }
    const all = params.map((p) => state.get(p)!.momentum_buffer!);
    direction = nesterov ? torch._foreachAddList(dps, all, { alpha: momentum }) : all;
  }
  torch._foreachAddList_(params, direction, { alpha: -lr });
}

/** Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay, as torch.optim.SGD. */
export class SGD extends Optimizer<SgdHyper> {
  readonly mode: OptimizerMode;

  constructor(params: ParamsInput<SgdHyper>, options: SgdOptions = {}) {
    const { mode = 'foreach', ...hyper } = options;
    const defaults: SgdHyper = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...hyper };
    super(params, defaults);
    this.mode = mode;
    for (const g of this.paramGroups) checkSgdHyper('SGD', g);
  }

  protected updateGroup(group: ParamGroup<SgdHyper>, params: Tensor[], gradsOf: () => Tensor[]): void {
    if (this.mode === 'fused') return this.fusedUpdate(group, params);
    const grads = gradsOf();
    const dps = group.weightDecay !== 0 ? torch._foreachAddList(grads, params, { alpha: group.weightDecay }) : grads;
    momentumStep(this.state, group, params, dps);
  }

  private fusedUpdate(group: ParamGroup<SgdHyper>, params: Tensor[]): void {
    const { weightDecay, momentum, lr, dampening, nesterov } = group;
    const bufs: (Tensor | undefined)[] = momentum !== 0 ? params.map((p) => this.state.get(p)?.momentum_buffer) : [];
    // The kernel's first step copies the gradient into the buffers (torch.optim's is_first_step).
    const missing = bufs.filter((b) => b === undefined).length;
    const isFirstStep = momentum !== 0 && missing === params.length;
    if (isFirstStep) params.forEach((p, i) => (bufs[i] = this.setState(p, 'momentum_buffer', torch.emptyLike(p))));
    else if (missing > 0) throw new Error('SGD (fused): some parameters have a momentum buffer and others not; use mode "foreach"');
    native.fusedSgd(hs(params), null, hs(bufs as Tensor[]), [weightDecay, momentum, lr, dampening], nesterov, isFirstStep);
  }
}

export interface LarsHyper extends SgdHyper {
  trustCoefficient: number;
  eps: number;
}

export type LarsOptions = Partial<LarsHyper>;

/**
 * LARS as in Lightning Bolts: for a parameter with weightDecay != 0 and non-zero parameter and
 * gradient norms, the direction is `(g + wd·p) · tc·‖p‖ / (‖g‖ + wd·‖p‖ + eps)`; otherwise the
 * plain gradient. Then SGD momentum. Biases and norm weights are "excluded from adaptation" by
 * putting them in a group with weightDecay 0 (see {@link excludeFromWeightDecay}).
 * Defaults: momentum 0.9, trustCoefficient 0.001, eps 1e-8 (Bolts' own default momentum is 0).
 */
export class LARS extends Optimizer<LarsHyper> {
  constructor(params: ParamsInput<LarsHyper>, options: LarsOptions = {}) {
    const defaults: LarsHyper = { lr: 1e-3, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, trustCoefficient: 0.001, eps: 1e-8, ...options };
    super(params, defaults);
    for (const g of this.paramGroups) checkSgdHyper('LARS', g);
  }

  protected updateGroup(group: ParamGroup<LarsHyper>, params: Tensor[], gradsOf: () => Tensor[]): void {
    const grads = gradsOf();
    const dps = group.weightDecay !== 0 ? this.adapt(group, params, grads) : grads;
    momentumStep(this.state, group, params, dps);
  }

  /** The trust-ratio scaling. Bolts computes it with float32 tensor ops; the norms come back in
   *  one read and Math.fround repeats each float32 operation exactly. */
  private adapt(group: LarsHyper, params: Tensor[], grads: Tensor[]): Tensor[] {
    const f = Math.fround;
    const pNorms = torch.stack(torch._foreachNorm(params).map((n) => n.float())).toArray() as Float32Array;
    const gNorms = torch.stack(torch._foreachNorm(grads).map((n) => n.float())).toArray() as Float32Array;
    const wd = f(group.weightDecay);
    const adapted: number[] = [];
    const ratios: number[] = [];
    params.forEach((_, i) => {
      const pn = pNorms[i]!;
      const gn = gNorms[i]!;
      if (pn === 0 || gn === 0) return;
      adapted.push(i);
      ratios.push(f(f(pn / f(f(gn + f(pn * wd)) + f(group.eps))) * f(group.trustCoefficient)));
    });
    const dps = [...grads];
    if (adapted.length === 0) return dps;
    const scaled = torch._foreachAddList(
      adapted.map((i) => grads[i]!),
      adapted.map((i) => params[i]!),
      { alpha: group.weightDecay },
    );
    torch._foreachMulScalars_(scaled, ratios);
    adapted.forEach((i, k) => (dps[i] = scaled[k]!));
    return dps;
  }
}

/**
 * Splits named parameters into a decayed group and a weightDecay-0 group holding those whose
 * name contains one of `skip` (Bolts' SimCLR `exclude_from_wt_decay`: biases and BN weights).
 * Parameters that do not require grad are left out.
 */
export function excludeFromWeightDecay(
  named: Iterable<readonly [string, Tensor]>,
  weightDecay: number,
  skip: readonly string[] = ['bias', 'bn'],
): [{ params: Tensor[]; weightDecay: number }, { params: Tensor[]; weightDecay: number }] {
  const decayed: Tensor[] = [];
  const excluded: Tensor[] = [];
  for (const [name, p] of named) {
    if (!p.requiresGrad) continue;
    (skip.some((s) => name.includes(s)) ? excluded : decayed).push(p);
  }
  return [
    { params: decayed, weightDecay },
    { params: excluded, weightDecay: 0 },
  ];
}
