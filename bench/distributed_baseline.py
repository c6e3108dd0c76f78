"""The Python side of the `distributed` bench suite: one rank of an all-reduce (SUM, float32)
loop over torch.distributed's Gloo backend, as a PyTorch user writes it. bench/distributed.ts
starts both ranks with RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set. Rank 0 prints
{"sizes": [{"mb", "samples"}]}: ns per repeat of `iters` all-reduces, after a warm-up one and a
barrier before each repeat.

Usage: python bench/distributed_baseline.py SPEC_JSON --threads N --repeats R
"""

import argparse
import datetime
import json
import os
import time

import torch
import torch.distributed as dist


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--repeats", type=int, required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=300))
    sizes = []
    for case in json.loads(args.spec):
        t = torch.zeros(case["mb"] * 2**20 // 4)
        dist.all_reduce(t)
        samples = []
        for _ in range(args.repeats):
            dist.barrier()
            t0 = time.perf_counter_ns()
            for _ in range(case["iters"]):
                dist.all_reduce(t)
            samples.append(time.perf_counter_ns() - t0)
        del t
        sizes.append({"mb": case["mb"], "samples": samples})
    dist.destroy_process_group()
    if int(os.environ["RANK"]) == 0:
        print(json.dumps({"sizes": sizes}))


if __name__ == "__main__":
    main()
