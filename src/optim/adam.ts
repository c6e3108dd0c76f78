// Adam and AdamW (torch.optim.Adam / AdamW): the multi-tensor ('foreach') path repeats
// torch.optim's _multi_tensor_adam op for op; 'fused' calls libtorch's _fused_adam(w)_ kernel.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { hs } from '../torch/handle.js';
import { native } from '../torch/native.js';
import { Optimizer, type BaseHyper, type OptimizerMode, type ParamGroup, type ParamsInput } from './optimizer.js';

export interface AdamHyper extends BaseHyper {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

export type AdamOptions = Partial<AdamHyper> & { mode?: OptimizerMode };

class AdamBase extends Optimizer<AdamHyper> {
  readonly mode: OptimizerMode;
  /** JS copies of the float32 'step' tensors: the bias corrections need them as numbers every step. */
  private readonly steps = new Map<Tensor, number>();

  constructor(
    params: ParamsInput<AdamHyper>,
    options: AdamOptions,
    defaultWeightDecay: number,
    /** AdamW's decoupled decay (params *= 1 - lr·wd) instead of Adam's L2 term in the gradient. */
    private readonly decoupled: boolean,
  ) {
    const { mode = 'foreach', ...hyper } = options;
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: defaultWeightDecay, amsgrad: false, ...hyper });
    this.mode = mode;
    for (const g of this.paramGroups) {
      const [b1, b2] = g.betas;
      if (!(g.lr >= 0)) throw new RangeError(`${this.constructor.name}: invalid learning rate ${g.lr}`);
      if (!(g.eps >= 0)) throw new RangeError(`${this.constructor.name}: invalid eps ${g.eps}`);
      if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1)) throw new RangeError(`${this.constructor.name}: invalid betas [${b1}, ${b2}]`);
      if (!(g.weightDecay >= 0)) throw new RangeError(`${this.constructor.name}: invalid weightDecay ${g.weightDecay}`);
    }
  }

  // Fused kernels read the step count on the parameter's device; the foreach path on the CPU.
  protected override stateTarget(p: Tensor, key: string): { dtype: torch.DType; device: torch.DeviceLike } {
    if (key === 'step') return { dtype: 'float32', device: (this.mode === 'fused' ? p.device : 'cpu') as torch.DeviceLike };
    return super.stateTarget(p, key);
  }

  protected override onStateLoaded(): void {
    this.steps.clear();
  }

  /** The state tensors of `params`, created (zeros, step 0) on a parameter's first update. */
  private stateLists(params: Tensor[], amsgrad: boolean) {
    const expAvgs: Tensor[] = [];
    const expAvgSqs: Tensor[] = [];
    const maxExpAvgSqs: Tensor[] = [];
    const steps: Tensor[] = [];
    for (const p of params) {
      let s = this.state.get(p);
      if (!s) {
        const stepDevice = (this.mode === 'fused' ? p.device : 'cpu') as torch.DeviceLike;
        this.setState(p, 'step', torch.zeros([], { dtype: 'float32', device: stepDevice }));
        this.setState(p, 'exp_avg', torch.zerosLike(p));
        this.setState(p, 'exp_avg_sq', torch.zerosLike(p));
        if (amsgrad) this.setState(p, 'max_exp_avg_sq', torch.zerosLike(p));
        s = this.state.get(p)!;
      }
      expAvgs.push(s.exp_avg!);
      expAvgSqs.push(s.exp_avg_sq!);
      if (amsgrad) maxExpAvgSqs.push(s.max_exp_avg_sq ?? this.setState(p, 'max_exp_avg_sq', torch.zerosLike(p)));
      steps.push(s.step!);
    }
    return { expAvgs, expAvgSqs, maxExpAvgSqs, steps };
  }

  protected updateGroup(group: ParamGroup<AdamHyper>, params: Tensor[], gradsOf: () => Tensor[]): void {
    const { lr, eps, weightDecay, amsgrad } = group;
    const [beta1, beta2] = group.betas;
    const { expAvgs, expAvgSqs, maxExpAvgSqs, steps } = this.stateLists(params, amsgrad);
    // The step counts go up first (the fused kernel reads them but does not count).
    torch._foreachAdd_(steps, 1);
    if (this.mode === 'fused') {
      const hyper = [lr, beta1, beta2, weightDecay, eps];
      native.fusedAdam(hs(params), null, hs(expAvgs), hs(expAvgSqs), hs(maxExpAvgSqs), hs(steps), hyper, amsgrad, this.decoupled);
      return;
    }
    let grads = gradsOf();
    const counts = params.map((p, i) => {
      const prev = this.steps.get(p);
      const n = prev === undefined ? (steps[i]!.item() as number) : prev + 1;
      this.steps.set(p, n);
      return n;
    });
    if (weightDecay !== 0) {
      if (this.decoupled) torch._foreachMul_(params, 1 - lr * weightDecay);
      else grads = torch._foreachAddList(grads, params, { alpha: weightDecay });
    }
    torch._foreachLerp_(expAvgs, grads, 1 - beta1);
    torch._foreachMul_(expAvgSqs, beta2);
    torch._foreachAddcmul_(expAvgSqs, grads, grads, 1 - beta2);
    // Bias corrections in double precision per parameter, as torch.optim does on the host.
    const stepSizes = counts.map((n) => (lr / (1 - beta1 ** n)) * -1);
    const bc2Sqrts = counts.map((n) => (1 - beta2 ** n) ** 0.5);
    if (amsgrad) torch._foreachMaximum_(maxExpAvgSqs, expAvgSqs);
    const denom = torch._foreachSqrt(amsgrad ? maxExpAvgSqs : expAvgSqs);
    torch._foreachDivScalars_(denom, bc2Sqrts);
    torch._foreachAdd_(denom, eps);
    torch._foreachAddcdivScalars_(params, expAvgs, denom, stepSizes);
  }
}

/** Adam with L2 weight decay (added to the gradient); weightDecay defaults to 0. */
export class Adam extends AdamBase {
  constructor(params: ParamsInput<AdamHyper>, options: AdamOptions = {}) {
    super(params, options, 0, false);
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter); weightDecay defaults to 0.01. */
export class AdamW extends AdamBase {
  constructor(params: ParamsInput<AdamHyper>, options: AdamOptions = {}) {
    super(params, options, 1e-2, true);
  }
}
