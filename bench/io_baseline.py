"""The PyTorch side of the `io` bench suite (bench/io.ts runs it in a fresh process): loads a
safetensors file with safetensors.torch.load_file, reads every tensor once (a sum: load_file
maps the file and pages it in lazily) and prints one JSON line {seconds, before, after, tensors},
as bench/io-child.ts does for prior-ts.

Usage: python bench/io_baseline.py FILE --threads N
"""

import argparse
import json
import os
import sys
import time

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(__file__))
from baseline import memory_mb  # noqa: E402  (the same /proc reader as the other cases)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    before = memory_mb()
    t0 = time.perf_counter()
    tensors = load_file(args.file)
    for t in tensors.values():
        float(t.sum())
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "before": before, "after": memory_mb(), "tensors": len(tensors)}))


if __name__ == "__main__":
    main()
