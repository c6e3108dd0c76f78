#!/usr/bin/env python3
"""Golden fixtures for src/optim, made with torch.optim on the same libtorch as prior-ts.

Writes test/fixtures/optim/{optimizers,schedulers,clip,amp}.json. Each optimizer case runs 20
steps on a seeded problem whose gradient is a pointwise polynomial of the parameters
(g = (p - t) * w + 0.05 * p * p * p, single float32 ops, so prior-ts recomputes it bit for bit)
and records the parameters after every step. Lightning Bolts' LARS and
LinearWarmupCosineAnnealingLR (the variants PRIOR imports; pl_bolts is not installed) are
written out below from their published source.

Run: node scripts/python.mjs scripts/gen_fixtures_optim.py
"""
import json
import math
import os

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "test", "fixtures", "optim")
STEPS = 20

torch.set_num_threads(1)


def enc(t):
    return {"shape": list(t.shape), "data": t.detach().double().flatten().tolist()}


# ---- Lightning Bolts' LARS (pl_bolts/optimizers/lars.py) --------------------------------------
class LARS(Optimizer):
    def __init__(self, params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False, trust_coefficient=0.001, eps=1e-8):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)
        self.trust_coefficient = trust_coefficient
        self.eps = eps
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            weight_decay = group["weight_decay"]
            momentum = group["momentum"]
            dampening = group["dampening"]
            nesterov = group["nesterov"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d_p = p.grad
                p_norm = torch.norm(p.data)
                g_norm = torch.norm(p.grad.data)
                # lars scaling + weight decay part
                if weight_decay != 0:
                    if p_norm != 0 and g_norm != 0:
                        lars_lr = p_norm / (g_norm + p_norm * weight_decay + self.eps)
                        lars_lr *= self.trust_coefficient
                        d_p = d_p.add(p, alpha=weight_decay)
                        d_p *= lars_lr
                # sgd part
                if momentum != 0:
                    param_state = self.state[p]
                    if "momentum_buffer" not in param_state:
                        buf = param_state["momentum_buffer"] = torch.clone(d_p).detach()
                    else:
                        buf = param_state["momentum_buffer"]
                        buf.mul_(momentum).add_(d_p, alpha=1 - dampening)
                    if nesterov:
                        d_p = d_p.add(buf, alpha=momentum)
                    else:
                        d_p = buf
                p.add_(d_p, alpha=-group["lr"])


# ---- Lightning Bolts' LinearWarmupCosineAnnealingLR (pl_bolts/optimizers/lr_scheduler.py) -----
class LinearWarmupCosineAnnealingLR(LRScheduler):
    def __init__(self, optimizer, warmup_epochs, max_epochs, warmup_start_lr=0.0, eta_min=0.0, last_epoch=-1):
        self.warmup_epochs = warmup_epochs
        self.max_epochs = max_epochs
        self.warmup_start_lr = warmup_start_lr
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [self.warmup_start_lr] * len(self.base_lrs)
        if self.last_epoch < self.warmup_epochs:
            return [
                group["lr"] + (base_lr - self.warmup_start_lr) / (self.warmup_epochs - 1)
                for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups)
            ]
        if self.last_epoch == self.warmup_epochs:
            return self.base_lrs
        if (self.last_epoch - 1 - self.max_epochs) % (2 * (self.max_epochs - self.warmup_epochs)) == 0:
            return [
                group["lr"] + (base_lr - self.eta_min) * (1 - math.cos(math.pi / (self.max_epochs - self.warmup_epochs))) / 2
                for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups)
            ]
        return [
            (1 + math.cos(math.pi * (self.last_epoch - self.warmup_epochs) / (self.max_epochs - self.warmup_epochs)))
            / (1 + math.cos(math.pi * (self.last_epoch - self.warmup_epochs - 1) / (self.max_epochs - self.warmup_epochs)))
            * (group["lr"] - self.eta_min)
            + self.eta_min
            for group in self.optimizer.param_groups
        ]


# ---- the seeded problem ----------------------------------------------------------------------
SHAPES = [[4, 3], [3], [2, 2, 2]]


def problem(zero_param=None):
    g = torch.Generator().manual_seed(1234)
    params = [torch.randn(s, generator=g) for s in SHAPES]
    targets = [torch.randn(s, generator=g) for s in SHAPES]
    weights = [torch.rand(s, generator=g) + 0.5 for s in SHAPES]
    if zero_param is not None:
        params[zero_param].zero_()
    return params, targets, weights


def grad_of(p, t, w):
    return (p - t) * w + 0.05 * p * p * p


def make_optimizer(kind, groups, options, fused):
    if kind == "sgd":
        return torch.optim.SGD(groups, fused=fused, foreach=not fused, **options)
    if kind == "adam":
        return torch.optim.Adam(groups, fused=fused, foreach=not fused, **options)
    if kind == "adamw":
        return torch.optim.AdamW(groups, fused=fused, foreach=not fused, **options)
    if kind == "lars":
        return LARS(groups, **options)
    raise ValueError(kind)


def run_case(name, kind, options, groups=None, grad_every=(1, 1, 1), zero_param=None, fused=False):
    """`groups`: per group, the param indices and the group's own options. `grad_every[i]`:
    param i gets a gradient on steps divisible by it (None otherwise, so it is skipped)."""
    params0, targets, weights = problem(zero_param)
    params = [p.clone().requires_grad_(True) for p in params0]
    spec = groups or [{"params": [0, 1, 2]}]
    torch_groups = [{**{k: v for k, v in g.items() if k != "params"}, "params": [params[i] for i in g["params"]]} for g in spec]
    opt = make_optimizer(kind, torch_groups, options, fused)
    trajectory = []
    for step in range(STEPS):
        with torch.no_grad():
            for i, p in enumerate(params):
                p.grad = grad_of(p, targets[i], weights[i]) if step % grad_every[i] == 0 else None
        opt.step()
        trajectory.append([enc(p) for p in params])
    sd = opt.state_dict()
    state = {str(k): {n: enc(v) for n, v in s.items() if isinstance(v, torch.Tensor)} for k, s in sd["state"].items()}
    return {
        "name": name,
        "optimizer": kind,
        "options": options,
        "groups": spec,
        "grad_every": list(grad_every),
        "zero_param": zero_param,
        "params": [enc(p) for p in params0],
        "targets": [enc(t) for t in targets],
        "weights": [enc(w) for w in weights],
        "trajectory": trajectory,
        "state": state,
        "param_groups": [{k: v for k, v in g.items() if isinstance(v, (int, float, bool, list, tuple)) or v is None} for g in sd["param_groups"]],
    }


def optimizer_cases():
    lr_groups = [{"params": [0, 2], "lr": 0.05}, {"params": [1], "lr": 0.005, "weight_decay": 0.1}]
    cases = [
        run_case("sgd plain", "sgd", {"lr": 0.1}),
        run_case("sgd momentum", "sgd", {"lr": 0.05, "momentum": 0.9}),
        run_case("sgd momentum dampening weight decay", "sgd", {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
        run_case("sgd nesterov weight decay", "sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
        run_case("sgd param groups", "sgd", {"lr": 0.1, "momentum": 0.9}, groups=lr_groups),
        run_case("adam", "adam", {"lr": 0.01}),
        run_case("adam weight decay amsgrad", "adam", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
        run_case("adamw", "adamw", {"lr": 0.01}),
        run_case("adamw amsgrad betas", "adamw", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1, "amsgrad": True}),
        run_case("adamw param groups", "adamw", {"lr": 0.01}, groups=lr_groups),
        # PRIOR's AdamW (spec section 8); param 2 only gets a gradient every third step.
        run_case("adamw prior skipped grads", "adamw", {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-6}, grad_every=(1, 1, 3)),
        run_case("lars", "lars", {"lr": 0.5, "momentum": 0.9, "weight_decay": 1e-2}),
        run_case("lars nesterov excluded group", "lars", {"lr": 0.5, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-2}, groups=[{"params": [0, 2]}, {"params": [1], "weight_decay": 0.0}]),
        # A zero parameter has no trust ratio (and no decay) until it moves.
        run_case("lars zero param", "lars", {"lr": 0.5, "momentum": 0.9, "dampening": 0.1, "weight_decay": 1e-2}, zero_param=2),
    ]
    # The fused kernels must agree with the multi-tensor path the goldens come from.
    for c in cases:
        if c["optimizer"] == "lars":
            continue
        fused = run_case(c["name"], c["optimizer"], c["options"], c["groups"], tuple(c["grad_every"]), c["zero_param"], fused=True)
        for a, b in zip(c["trajectory"][-1], fused["trajectory"][-1]):
            ta, tb = torch.tensor(a["data"]), torch.tensor(b["data"])
            assert torch.allclose(ta, tb, rtol=1e-6, atol=1e-7), (c["name"], (ta - tb).abs().max())
    return cases


# ---- schedulers ------------------------------------------------------------------------------
def schedule(make, steps, lrs=(0.1, 0.05)):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([{"params": [p], "lr": lrs[0]}] + [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs[1:]])
    sched = make(opt)
    out = [sched.get_last_lr()]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append(sched.get_last_lr())
    return out


def scheduler_cases():
    return [
        {"name": "step", "kind": "step", "args": {"stepSize": 3, "gamma": 0.5}, "lrs": schedule(lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5), 20)},
        {"name": "cosine", "kind": "cosine", "args": {"tMax": 7, "etaMin": 0.001}, "lrs": schedule(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 7, 0.001), 30)},
        # LambdaLR with 1 / (1 + step): one division, computed identically in JS.
        {"name": "lambda", "kind": "lambda", "args": {}, "lrs": schedule(lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + e)), 20)},
        # PRIOR's stage-3 constants (peak 5e-6, start 1e-8, end 0) with 5 warm-up and 25 total
        # steps, run past the end where the cosine rises again.
        {
            "name": "warmup cosine",
            "kind": "warmupCosine",
            "args": {"warmupEpochs": 5, "maxEpochs": 25, "warmupStartLr": 1e-8, "etaMin": 0.0},
            "lrs": schedule(lambda o: LinearWarmupCosineAnnealingLR(o, 5, 25, 1e-8, 0.0), 32, lrs=(5e-6, 1e-5)),
        },
    ]


# ---- clipping --------------------------------------------------------------------------------
def clip_cases():
    g = torch.Generator().manual_seed(99)
    grads = [torch.randn(s, generator=g) for s in SHAPES]
    out = []
    for max_norm, norm_type in [(0.5, 2.0), (1e3, 2.0), (0.3, math.inf), (2.0, 1.0)]:
        ps = [torch.zeros(s, requires_grad=True) for s in SHAPES]
        for p, gr in zip(ps, grads):
            p.grad = gr.clone()
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type, foreach=True)
        out.append({"kind": "norm", "maxNorm": max_norm, "normType": "inf" if math.isinf(norm_type) else norm_type, "total": total.item(), "grads": [enc(p.grad) for p in ps]})
    ps = [torch.zeros(s, requires_grad=True) for s in SHAPES]
    for p, gr in zip(ps, grads):
        p.grad = gr.clone()
    torch.nn.utils.clip_grad_value_(ps, 0.4, foreach=True)
    out.append({"kind": "value", "clipValue": 0.4, "grads": [enc(p.grad) for p in ps]})
    return {"input": [enc(x) for x in grads], "cases": out}


# ---- mixed precision -------------------------------------------------------------------------
def amp_cases():
    g = torch.Generator().manual_seed(7)
    x = torch.randn(3, 5, generator=g)
    w = torch.randn(5, 4, generator=g)
    autocast = {"x": enc(x), "w": enc(w)}
    for dtype in ["bfloat16", "float16"]:
        with torch.autocast("cpu", dtype=getattr(torch, dtype)):
            y = x @ w
        autocast[dtype] = {"dtype": str(y.dtype).replace("torch.", ""), "y": enc(y)}

    # GradScaler on the CPU: scaled gradients of the seeded problem, with an inf at steps 4 and
    # 5 and a NaN at step 9; init scale 2^10, growth every 3 clean steps.
    params0, targets, weights = problem()
    params = [p.clone().requires_grad_(True) for p in params0]
    opt = torch.optim.SGD(params, lr=0.05, momentum=0.9)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_factor=2.0, backoff_factor=0.5, growth_interval=3)
    bad = {4: math.inf, 5: math.inf, 9: math.nan}
    steps = []
    for step in range(12):
        with torch.no_grad():
            for i, p in enumerate(params):
                p.grad = scaler.scale(grad_of(p, targets[i], weights[i]))
            if step in bad:
                params[1].grad[0] = bad[step]
        scaler.step(opt)
        scaler.update()
        steps.append({"scale": scaler.get_scale(), "params": [enc(p) for p in params]})
    sd = scaler.state_dict()
    return {
        "autocast": autocast,
        "scaler": {
            "options": {"initScale": 2.0**10, "growthFactor": 2.0, "backoffFactor": 0.5, "growthInterval": 3},
            "bad_steps": {str(k): ("inf" if math.isinf(v) else "nan") for k, v in bad.items()},
            "steps": steps,
            "state_dict": {k: float(v) if isinstance(v, float) else int(v) for k, v in sd.items()},
        },
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {
        "optimizers.json": {"cases": optimizer_cases(), "shapes": SHAPES, "steps": STEPS},
        "schedulers.json": {"cases": scheduler_cases()},
        "clip.json": clip_cases(),
        "amp.json": amp_cases(),
    }
    for name, body in files.items():
        with open(os.path.join(OUT, name), "w") as f:
            json.dump({"torch": torch.__version__, **body}, f, separators=(",", ":"))
            f.write("\n")
        print(f"wrote test/fixtures/optim/{name}")


if __name__ == "__main__":
    main()
