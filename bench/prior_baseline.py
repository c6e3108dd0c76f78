"""The PyTorch side of the `prior` bench suite (bench/prior.ts runs it in a fresh process per case).

One PRIOR training step as the original takes it, on scripts/prior_reference/model.py (the
spec's model written with the original's per-sample Python loops) in train mode with the same
preset values (dropout, Dropout2d, Gumbel noise on): zero_grad, the stage's terms under CPU bf16
autocast if asked, every term read with .item() (the original logs them all), backward, AdamW
(the paper's stage hyperparameters, foreach like prior-ts's), and a warm-up + cosine LambdaLR
step. The batch is src/train/synthetic-step.ts's, by the same arithmetic.

Prints one JSON line: {samples_ns, loss, before, after} (after.peak = the process's peak RSS).
With --profile FILE it also profiles one more step with torch.profiler and writes the top ops by
self CPU time there.

Usage: python bench/prior_baseline.py --preset tiny --stage 3 --precision fp32 --batch 8 \
           --warmup 2 --repeats 5 --threads 2 [--profile top.txt]
"""
import argparse
import contextlib
import json
import math
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "scripts", "prior_reference"))
from baseline import memory_mb  # noqa: E402
from model import PRESETS, Prior, total_loss  # noqa: E402

CLS, SEP, FIRST_WORD_ID, MIN_SENTENCES, FILL = 101, 102, 1000, 6, 0.8
# src/train/config.ts's paper stages: (warmupEpochs, peakLr, startLr, endLr, weightDecay, epochs).
PAPER_STAGES = {1: (1, 1e-5, 1e-7, 0.0, 1e-6, 20), 2: (1, 1e-5, 1e-7, 0.0, 1e-6, 30), 3: (5, 5e-6, 1e-8, 0.0, 1e-6, 100)}
STEPS_PER_EPOCH = 1000


def synthetic_text(batch, length, vocab):
    """src/train/synthetic-step.ts's syntheticText, the same arithmetic."""
    ids_rows, mask_rows, index_rows = [], [], []
    for b in range(batch):
        sentences = MIN_SENTENCES + b % 4
        base = max(2, math.floor((length - 2) * FILL / sentences))
        ids, index = [CLS], [-1]
        for j in range(1, sentences + 1):
            n = base + (b + j) % 3 - 1
            t = 0
            while t < n and len(ids) < length - 1:
                ids.append(FIRST_WORD_ID + (b * 131 + len(ids) * 17 + j * 7) % (vocab - FIRST_WORD_ID))
                index.append(j)
                t += 1
        ids.append(SEP)
        index.append(-1)
        used = len(ids)
        ids += [0] * (length - used)
        index += [-1] * (length - used)
        ids_rows.append(ids)
        mask_rows.append([1 if i < used else 0 for i in range(length)])
        index_rows.append(index)
    return ids_rows, mask_rows, index_rows


def synthetic_batch(cfg, batch, seed=0):
    ids, mask, index = synthetic_text(batch, cfg["textMaxLength"], cfg["text"]["vocab_size"])
    torch.manual_seed(seed)
    size = cfg["imageSize"]
    return {"image": torch.randn(batch, cfg["inChannels"], size, size), "input_ids": torch.tensor(ids),
            "attention_mask": torch.tensor(mask), "sentence_index": torch.tensor(index)}


def warmup_cosine(stage):
    """Bolts' LinearWarmupCosineAnnealingLR in closed form, per step, as a LambdaLR factor of peakLr."""
    warm, peak, start, end, _, epochs = PAPER_STAGES[stage]
    w, total = warm * STEPS_PER_EPOCH, epochs * STEPS_PER_EPOCH

    def factor(k):
        if k < w:
            lr = start + k * (peak - start) / (w - 1)
        else:
            lr = end + 0.5 * (peak - end) * (1 + math.cos(math.pi * (k - w) / (total - w)))
        return lr / peak

    return factor


def make_step(preset, stage, batch_size, bf16, seed=0):
    torch.manual_seed(seed)
    cfg = PRESETS[preset]
    model = Prior(cfg).train()
    _, peak, _, _, decay, _ = PAPER_STAGES[stage]
    opt = torch.optim.AdamW(model.parameters(), lr=peak, betas=(0.9, 0.999), eps=1e-8, weight_decay=decay, foreach=True)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(stage))
    batch = synthetic_batch(cfg, batch_size, seed)
    forward = getattr(model, f"stage{stage}")

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext():
            terms = forward(batch)
            loss = total_loss(stage, terms, cfg)
        for t in terms.values():
            t.item()
        value = loss.item()
        loss.backward()
        opt.step()
        sched.step()
        return value

    return step


def top_ops(step, limit=25):
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=limit)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), required=True)
    parser.add_argument("--stage", type=int, choices=[1, 2, 3], required=True)
    parser.add_argument("--precision", choices=["fp32", "bf16"], required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--profile", metavar="FILE", help="write torch.profiler's top ops of one more step there")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    before = memory_mb()
    step = make_step(args.preset, args.stage, args.batch, args.precision == "bf16")
    for _ in range(args.warmup):
        step()
    samples, loss = [], float("nan")
    for _ in range(args.repeats):
        t0 = time.perf_counter_ns()
        loss = step()
        samples.append(time.perf_counter_ns() - t0)
    after = memory_mb()
    if args.profile:
        with open(args.profile, "w") as f:
            f.write(top_ops(step) + "\n")
    print(json.dumps({"samples_ns": samples, "loss": loss, "before": before, "after": after}))


if __name__ == "__main__":
    main()
