"""Golden fixtures for src/nn: PyTorch's nn layers, nn.init and composite models, replayed by
test/nn/*.test.ts through our `nn` namespace.

Run with `npm run fixtures` (or node scripts/python.mjs scripts/gen_fixtures_nn.py). Writes
test/fixtures/nn/{layers,init,models}.json; tensors use scripts/gen_fixtures.py's encoding (dtype,
shape, base64 of raw little-endian bytes).

Every module case is built right after torch.manual_seed(seed), so its state dict records
PyTorch's seeded initialisation ("init": our constructors must draw the same values). The test
then loads "state" (random values where init is constant, so the forward test means something;
absent: the init values), runs each of "calls" in order and compares the outputs and the buffers
afterwards (running statistics). Case ids name the TypeScript builder in the test that mirrors `build`.
"""

import json
import math
import sys
import warnings
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn import init

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_fixtures import camel, enc  # noqa: E402  (same tensor encoding as the op fixtures)

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "test" / "fixtures" / "nn"

# Inputs and random weights come from a private generator: the global one is for init only.
gen = torch.Generator().manual_seed(20240704)


def rn(*shape):
    return torch.randn(*shape, generator=gen)


def ri(low, high, *shape):
    return torch.randint(low, high, shape, generator=gen)


def rb(*shape, p=0.3):
    return torch.rand(*shape, generator=gen) < p


def state_list(module):
    return [[k, enc(v)] for k, v in module.state_dict().items()]


def randomize(module):
    """Random floating parameters and buffers (running_var kept positive)."""
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.is_floating_point():
                t.copy_(rn(*t.shape).abs() + 0.5 if name.endswith("running_var") else rn(*t.shape))


def kwargs_enc(kwargs):
    return {camel(k): enc(v) for k, v in kwargs.items()}


# ---- module cases -------------------------------------------------------------------------

layers = []


def module_case(cid, build, calls, *, seed=0, train=True, random_state=False, record_init=True, call_seed=None, tol=None, into=layers):
    """`calls`: a list of (args, kwargs) for successive forwards. "state" is only recorded when
    it differs from "init", and "buffersAfter" holds the buffers (parameters do not change)."""
    torch.manual_seed(seed)
    m = build()
    entry = {"id": cid, "seed": seed, "train": train}
    if record_init:
        entry["init"] = state_list(m)
    if random_state:
        randomize(m)
        entry["state"] = state_list(m)
    m.train(train)
    if call_seed is not None:
        entry["callSeed"] = call_seed
        torch.manual_seed(call_seed)
    entry["calls"] = []
    for args, kwargs in calls:
        out = m(*args, **kwargs)
        entry["calls"].append({"args": enc(list(args)), "kwargs": kwargs_enc(kwargs), "expected": enc(out)})
    params = dict(m.named_parameters())
    entry["buffersAfter"] = [[k, enc(v)] for k, v in m.state_dict().items() if k not in params]
    entry["keys"] = [[k, list(v.shape), enc(v.dtype)] for k, v in m.state_dict().items()]
    if tol:
        entry["tol"] = tol
    into.append(entry)


def one(*args, **kwargs):
    return [(args, kwargs)]


def layer_cases():
    module_case("linear", lambda: nn.Linear(5, 3), one(rn(2, 5)))
    module_case("linear_nobias_3d", lambda: nn.Linear(4, 6, bias=False), one(rn(2, 3, 4)), seed=1)
    module_case("conv2d", lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1), one(rn(2, 3, 7, 7)))
    module_case(
        "conv2d_groups",
        lambda: nn.Conv2d(4, 6, (3, 2), padding=(1, 0), dilation=(2, 1), groups=2, bias=False),
        one(rn(1, 4, 8, 6)),
        seed=2,
    )
    module_case("conv_transpose2d", lambda: nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1), one(rn(2, 4, 5, 5)), seed=3)
    module_case("conv_transpose2d_groups", lambda: nn.ConvTranspose2d(4, 6, 2, groups=2), one(rn(1, 4, 3, 3)), seed=4)
    # Running statistics over several train-mode batches, the cumulative average, eval mode.
    bn_calls = [((rn(4, 3, 5, 5) * 2 + 1,), {}) for _ in range(3)]
    module_case("batchnorm2d_train", lambda: nn.BatchNorm2d(3), bn_calls, random_state=True)
    module_case("batchnorm2d_cumulative", lambda: nn.BatchNorm2d(3, momentum=None), bn_calls, random_state=True)
    module_case("batchnorm2d_eval", lambda: nn.BatchNorm2d(3), one(rn(2, 3, 4, 4)), train=False, random_state=True)
    module_case("batchnorm1d_3d", lambda: nn.BatchNorm1d(4, momentum=0.3), [((rn(5, 4, 6),), {}), ((rn(5, 4, 6),), {})], random_state=True)
    module_case("batchnorm1d_no_stats", lambda: nn.BatchNorm1d(4, affine=False, track_running_stats=False), one(rn(6, 4)), train=False)
    module_case("layernorm", lambda: nn.LayerNorm([4, 5]), one(rn(2, 3, 4, 5)), random_state=True)
    module_case("layernorm_plain", lambda: nn.LayerNorm(6, elementwise_affine=False), one(rn(3, 6)))
    module_case("embedding", lambda: nn.Embedding(10, 4, padding_idx=2), one(ri(0, 10, 3, 5)))
    module_case("embedding_neg_padding", lambda: nn.Embedding(7, 3, padding_idx=-1), one(ri(0, 7, 4)), seed=5)
    module_case("dropout_train", lambda: nn.Dropout(0.3), one(rn(4, 6)), call_seed=123)
    module_case("dropout_eval", lambda: nn.Dropout(), one(rn(4, 6)), train=False)
    # A 3D input is [N, C, L] to PyTorch 2.x (it warns that this will change).
    module_case("dropout2d_train", lambda: nn.Dropout2d(0.4), [((rn(3, 5, 2, 2),), {}), ((rn(4, 2, 3),), {})], call_seed=321)
    module_case("relu", lambda: nn.ReLU(), one(rn(3, 4)))
    module_case("gelu", lambda: nn.GELU(), one(rn(3, 4)))
    module_case("gelu_tanh", lambda: nn.GELU(approximate="tanh"), one(rn(3, 4)))
    module_case("sigmoid", lambda: nn.Sigmoid(), one(rn(3, 4)))
    module_case("identity", lambda: nn.Identity(), one(rn(3, 4)))
    module_case("maxpool2d", lambda: nn.MaxPool2d(3, stride=2, padding=1), one(rn(2, 3, 9, 9)))
    module_case("maxpool2d_ceil", lambda: nn.MaxPool2d(2, ceil_mode=True), one(rn(1, 2, 5, 5)))
    module_case("adaptive_avg_pool2d", lambda: nn.AdaptiveAvgPool2d(1), one(rn(2, 3, 7, 8)))
    module_case("adaptive_avg_pool2d_rect", lambda: nn.AdaptiveAvgPool2d((2, 3)), one(rn(2, 3, 7, 8)))
    module_case("upsample_nearest", lambda: nn.Upsample(scale_factor=2), one(rn(1, 2, 3, 4)))
    module_case("upsample_bilinear", lambda: nn.Upsample(size=(5, 7), mode="bilinear", align_corners=False), one(rn(1, 2, 3, 4)))
    module_case("sequential", lambda: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), one(rn(3, 4)), seed=6)
    # In train mode (dropout 0), so PyTorch takes the reference path, not the fused fast path.
    module_case(
        "mha_padding_mask",
        lambda: nn.MultiheadAttention(8, 2),
        one(rn(4, 2, 8), rn(6, 2, 8), rn(6, 2, 8), key_padding_mask=torch.tensor([[False] * 5 + [True], [False] * 3 + [True] * 3])),
        random_state=True,
        tol={"rtol": 1e-5, "atol": 1e-5},
    )
    q = rn(2, 4, 8)
    module_case(
        "mha_batch_first_attn_mask",
        lambda: nn.MultiheadAttention(8, 4, batch_first=True),
        one(q, q, q, attn_mask=torch.ones(4, 4, dtype=torch.bool).triu(1), average_attn_weights=False),
        seed=7,
        random_state=True,
        tol={"rtol": 1e-5, "atol": 1e-5},
    )
    module_case(
        "mha_unbatched",
        lambda: nn.MultiheadAttention(4, 2, batch_first=True),
        one(rn(3, 4), rn(5, 4), rn(5, 4), key_padding_mask=torch.tensor([False, False, True, False, True])),
        seed=9,
        random_state=True,
        tol={"rtol": 1e-5, "atol": 1e-5},
    )
    module_case(
        "mha_no_weights",
        lambda: nn.MultiheadAttention(6, 3, bias=False),
        one(rn(3, 2, 6), rn(5, 2, 6), rn(5, 2, 6), need_weights=False),
        seed=8,
        tol={"rtol": 1e-5, "atol": 1e-5},
    )


# ---- composite models ---------------------------------------------------------------------

models = []


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)) if stride != 1 or cin != cout else None
        )

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class MiniResNet(nn.Module):
    """ResNet's structure in miniature: stem, Sequential stages of blocks, heads."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(8, 8, 1), BasicBlock(8, 8, 1))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, 2))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 5)
        self.heads = nn.ModuleList([nn.Linear(5, 2), nn.Linear(5, 3)])

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        x = self.fc(self.avgpool(x).flatten(1))
        return torch.cat([h(x) for h in self.heads], 1)


class TinyEncoder(nn.Module):
    """A transformer-encoder layer over token embeddings, with a ModuleDict of projections."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 8, padding_idx=0)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.norm1 = nn.LayerNorm(8)
        self.mlp = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Dropout(0.0), nn.Linear(16, 8))
        self.norm2 = nn.LayerNorm(8)
        self.proj = nn.ModuleDict({"image": nn.Linear(8, 4), "text": nn.Linear(8, 4, bias=False)})

    def forward(self, ids):
        x = self.embed(ids)
        a, w = self.attn(x, x, x, key_padding_mask=ids.eq(0))
        x = self.norm1(x + a)
        x = self.norm2(x + self.mlp(x))
        return self.proj["text"](x.mean(1)), w


def model_cases():
    x = rn(2, 1, 16, 16)
    module_case("mini_resnet", MiniResNet, [((x,), {}), ((x * 0.5,), {})], seed=11, into=models)
    # Same seed as above, so the same init: only the random state is recorded.
    module_case("mini_resnet_eval", MiniResNet, one(x), seed=11, train=False, random_state=True, record_init=False, into=models)
    ids = torch.tensor([[3, 7, 1, 0, 0], [5, 2, 9, 4, 11]])
    module_case("tiny_encoder", TinyEncoder, one(ids), seed=12, into=models, tol={"rtol": 1e-5, "atol": 1e-5})


# ---- nn.init ------------------------------------------------------------------------------

inits = []


def init_case(cid, shape, run, ts_name, ts_args, *, seed=0):
    """`run(t)` fills torch.empty(shape) after manual_seed(seed); `ts_name(t, *ts_args)` is our call."""
    torch.manual_seed(seed)
    t = torch.empty(*shape)
    run(t)
    inits.append({"id": cid, "seed": seed, "shape": list(shape), "name": ts_name, "args": enc(ts_args), "expected": enc(t)})


def init_cases():
    init_case("uniform", (4, 5), lambda t: init.uniform_(t, -2.0, 3.0), "uniform_", [-2.0, 3.0])
    init_case("normal", (40,), lambda t: init.normal_(t, 1.0, 0.5), "normal_", [1.0, 0.5], seed=1)
    init_case("constant", (3, 2), lambda t: init.constant_(t, 0.25), "constant_", [0.25])
    init_case("zeros", (3, 2), init.zeros_, "zeros_", [])
    init_case("ones", (3, 2), init.ones_, "ones_", [])
    init_case("kaiming_uniform", (6, 4, 3, 3), init.kaiming_uniform_, "kaimingUniform_", [], seed=2)
    init_case(
        "kaiming_uniform_fan_out_relu",
        (8, 5),
        lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"),
        "kaimingUniform_",
        [{"mode": "fan_out", "nonlinearity": "relu"}],
        seed=3,
    )
    init_case("kaiming_normal_leaky", (7, 9), lambda t: init.kaiming_normal_(t, a=0.2), "kaimingNormal_", [{"a": 0.2}], seed=4)
    init_case(
        "xavier_uniform_tanh",
        (5, 3, 2, 2),
        lambda t: init.xavier_uniform_(t, gain=init.calculate_gain("tanh")),
        "xavierUniform_",
        [init.calculate_gain("tanh")],
        seed=5,
    )
    init_case("xavier_normal", (30, 20), init.xavier_normal_, "xavierNormal_", [], seed=6)
    # Both samplers: redraw-out-of-range (most of the mass inside) and rejection from U(a, b).
    init_case("trunc_normal_redraw", (50, 40), lambda t: init.trunc_normal_(t, std=0.02, a=-0.03, b=0.03), "truncNormal_", [0.0, 0.02, -0.03, 0.03], seed=7)
    init_case("trunc_normal_tail", (30, 30), lambda t: init.trunc_normal_(t, 0.0, 1.0, 1.5, 3.0), "truncNormal_", [0.0, 1.0, 1.5, 3.0], seed=8)
    gains = {n: init.calculate_gain(n) for n in ("linear", "conv2d", "sigmoid", "tanh", "relu", "leaky_relu", "selu")}
    gains["leaky_relu_0.2"] = init.calculate_gain("leaky_relu", 0.2)
    gains["leaky_relu_sqrt5"] = init.calculate_gain("leaky_relu", math.sqrt(5))
    return gains


def write(name, payload):
    text = json.dumps({"torch": torch.__version__, **payload}, separators=(",", ":"))
    (OUT_DIR / f"{name}.json").write_text(text + "\n")
    print(f"{name}: {len(text) // 1024} KiB")


def main():
    assert sys.byteorder == "little", "fixtures store raw little-endian bytes"
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="dropout2d: Received a 3D input")
    layer_cases()
    model_cases()
    gains = init_cases()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    write("layers", {"cases": layers})
    write("models", {"cases": models})
    write("init", {"cases": inits, "gains": gains})


if __name__ == "__main__":
    main()
