"""The PyTorch side of `npm run bench` (bench/run.ts drives it; the case list, sizes and
iteration counts live there and arrive in each request).

Server mode (default): prints one JSON line of provenance, then answers each JSON request
line on stdin, {"id", "params", "iters", "warmup", "repeats"}, with one JSON line
{"id", "samples_ns"}: wall time of each repeat of `iters` iterations. The process waits on
stdin between requests, so it never runs while the prior-ts side does.

`--rss N`: runs N one-element additions in this fresh process and prints its resident memory.

Every loop is what a PyTorch user writes (operators, `with torch.no_grad()`,
`w.grad = None`), so PyTorch is neither helped nor handicapped.

Usage: printf '{"id":"add","params":{},"iters":1000,"warmup":10,"repeats":3}\\n' | python bench/baseline.py --threads 2
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import torch


def case_add(p):
    a, b = torch.rand(1), torch.rand(1)

    def run(n):
        for _ in range(n):
            c = a + b

    return run


def case_add_no_grad(p):
    a, b = torch.rand(1), torch.rand(1)

    def run(n):
        with torch.no_grad():
            for _ in range(n):
                c = a + b

    return run


def case_matmul(p):
    a, b = torch.rand(p["size"], p["size"]), torch.rand(p["size"], p["size"])

    def run(n):
        for _ in range(n):
            c = a @ b

    return run


def case_from_array(p):
    # The closest equivalent of prior-ts's torch.tensor(Float32Array), which copies:
    # torch.from_numpy(arr).clone(). torch.tensor(arr) copies too, but its generic data
    # inference made it ~1.7x slower here, which would handicap PyTorch.
    arr = np.random.rand(p["length"]).astype(np.float32)

    def run(n):
        for _ in range(n):
            t = torch.from_numpy(arr).clone()

    return run


def case_forward_backward(p):
    w = torch.rand(p["length"], requires_grad=True)
    x = torch.rand(p["length"])

    def run(n):
        for _ in range(n):
            (w * x).sum().backward()
            w.grad = None  # what optimizer.zero_grad() does by default

    return run


def bert_shapes(p):
    # BERT-base's parameter shapes; bench/cases.ts's bertShapes is the same list.
    h, f = p["hidden"], p["intermediate"]
    layer = [[h, h], [h], [h, h], [h], [h, h], [h], [h, h], [h], [h], [h], [f, h], [f], [h, f], [h], [h], [h]]
    return [[p["vocab"], h], [p["positions"], h], [2, h], [h], [h]] + layer * p["layers"] + [[h, h], [h]]


def case_adamw_bert(p):
    params = [torch.rand(s, requires_grad=True) for s in bert_shapes(p)]
    for x in params:
        x.grad = torch.rand(x.shape)
    fused = bool(p["fused"])
    opt = torch.optim.AdamW(params, lr=1e-5, weight_decay=1e-6, foreach=not fused, fused=fused)

    def run(n):
        for _ in range(n):
            opt.step()

    return run


def maybe_autocast(bf16):
    import contextlib

    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def fwd_bwd_loop(model, x, bf16):
    # One training step's compute: forward (under bf16 autocast if asked), backward of the sum.
    def run(n):
        for _ in range(n):
            model.zero_grad(set_to_none=True)
            with maybe_autocast(bf16):
                out = model(x)
            out.float().sum().backward()

    return run


def case_resnet50(p):
    # The fixture script's plain-PyTorch torchvision ResNet (torchvision's wheel needs CUDA torch here).
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
    from gen_fixtures_models_resnet import resnet

    model = resnet(50, in_channels=1).train()
    model.fc = torch.nn.Identity()  # prior-ts's numClasses: null: pooled features, no fc
    return fwd_bwd_loop(model, torch.randn(p["batch"], 1, p["size"], p["size"]), p["bf16"])


class Bert(torch.nn.Module):
    # BERT-base in plain PyTorch: embeddings + post-LN encoder with erf GELU + pooler, the
    # computation of transformers' BertModel (prior-ts's BertModel matches that to 1e-4).
    def __init__(self, vocab, hidden=768, layers=12, heads=12, ffn=3072, positions=512):
        super().__init__()
        self.word = torch.nn.Embedding(vocab, hidden)
        self.position = torch.nn.Embedding(positions, hidden)
        self.token_type = torch.nn.Embedding(2, hidden)
        self.norm = torch.nn.LayerNorm(hidden, eps=1e-12)
        self.drop = torch.nn.Dropout(0.1)
        layer = torch.nn.TransformerEncoderLayer(hidden, heads, ffn, dropout=0.1, activation="gelu", batch_first=True, layer_norm_eps=1e-12)
        self.encoder = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.pooler = torch.nn.Linear(hidden, hidden)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1])
        h = self.drop(self.norm(self.word(ids) + self.position(pos) + self.token_type(torch.zeros_like(ids))))
        h = self.encoder(h)
        torch.tanh(self.pooler(h[:, 0]))
        return h


def case_bert_base(p):
    model = Bert(30522).train()
    return fwd_bwd_loop(model, torch.randint(0, 30522, (p["batch"], p["tokens"])), p["bf16"])


CASES = {
    "resnet50": case_resnet50,
    "bert_base": case_bert_base,
    "add": case_add,
    "add_no_grad": case_add_no_grad,
    "matmul": case_matmul,
    "from_array": case_from_array,
    "forward_backward": case_forward_backward,
    "adamw_bert": case_adamw_bert,
}


def measure(run, iters, warmup, repeats):
    run(warmup)
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        run(iters)
        samples.append(time.perf_counter_ns() - t0)
    return samples


def loaded_libtorch():
    """The libtorch_cpu.so this process mapped: proof both sides run the same library."""
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                if path.endswith("/libtorch_cpu.so"):
                    return os.path.realpath(path)
    except OSError:
        pass
    return None


def memory_mb():
    """Current and peak resident set size (VmRSS, VmHWM), read as the Node side reads them."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    return {"rss": out["VmRSS"], "peak": out["VmHWM"]}


def provenance():
    return {
        "python": platform.python_version(),
        "executable": sys.executable,
        "torch": torch.__version__,
        "torchPath": os.path.dirname(torch.__file__),
        "numpy": np.__version__,
        "threads": torch.get_num_threads(),
        "libtorchLoaded": loaded_libtorch(),
    }


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--rss", type=int, metavar="N", help="measure RSS after N one-element additions, then exit")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if args.rss is not None:
        a, b = torch.rand(1), torch.rand(1)
        before = memory_mb()
        for _ in range(args.rss):
            c = a + b
        emit({"before": before, "after": memory_mb(), "threads": torch.get_num_threads()})
        return

    emit(provenance())
    for line in sys.stdin:
        req = json.loads(line)
        run = CASES[req["id"]](req["params"])
        emit({"id": req["id"], "samples_ns": measure(run, req["iters"], req["warmup"], req["repeats"])})


if __name__ == "__main__":
    main()
