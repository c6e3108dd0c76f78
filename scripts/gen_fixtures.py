"""Golden fixtures: PyTorch's forward values for calls that test/torch/golden.test.ts replays
through our TypeScript API.

Run with `npm run fixtures` (node scripts/python.mjs scripts/gen_fixtures.py). Writes one JSON
file per group to test/fixtures/golden/. Each case records the call as TypeScript makes it (a
Tensor method on the first argument, or a function of the `torch` namespace; positional args,
then an optional trailing options object), the inputs, and what PyTorch returned. Tensors are
stored as dtype + shape + base64 of their raw little-endian bytes, so both sides see exactly the
same values. Inputs come from a private seeded generator; cases that test random ops carry a
seed that both sides pass to manual_seed right before the call.

Conventions that keep the two calls equivalent: a Python int stays an integral JSON number, and
JavaScript cannot tell 2.0 from 2, so a float scalar that must promote an integer tensor has to
have a fractional part (2.5, not 2.0).
"""

import base64
import json
import math
import re
import sys
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "test" / "fixtures" / "golden"

# Our dtype names are PyTorch's without the `torch.` prefix.
DTYPE_NAMES = {
    torch.float32: "float32",
    torch.float64: "float64",
    torch.int64: "int64",
    torch.int32: "int32",
    torch.int16: "int16",
    torch.int8: "int8",
    torch.uint8: "uint8",
    torch.bool: "bool",
}


def camel(name):
    """snake_case to camelCase; a trailing underscore (in-place op) is kept."""
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def enc(v):
    """A Python value (tensors, dtypes, scalars, lists, dicts) as JSON the test decodes."""
    if isinstance(v, torch.Tensor):
        t = v.detach().contiguous()
        return {
            "$tensor": DTYPE_NAMES[t.dtype],
            "shape": list(t.shape),
            "data": base64.b64encode(t.numpy().tobytes()).decode("ascii"),
        }
    if isinstance(v, torch.dtype):
        return DTYPE_NAMES[v]
    if isinstance(v, float) and not math.isfinite(v):
        return {"$float": "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [enc(x) for x in v]
    if isinstance(v, dict):
        return {k: enc(x) for k, x in v.items()}
    raise TypeError(f"cannot encode {type(v).__name__}")


# ---- case registry ------------------------------------------------------------------------

groups = {}
current = None


def group(name):
    global current
    current = groups.setdefault(name, [])


def case(cid, kind, name, args, kwargs, run, *, tol=None, seed=None, mutates=()):
    """Records one call. `run` computes PyTorch's result; inputs are encoded before it runs, and
    the positional args listed in `mutates` are encoded again after it (in-place updates)."""
    assert all(c["id"] != cid for g in groups.values() for c in g), f"duplicate case id {cid}"
    entry = {"id": cid, "call": {"kind": kind, "name": name}, "args": enc(args)}
    if kwargs:
        entry["kwargs"] = {camel(k): enc(v) for k, v in kwargs.items()}
    if seed is not None:
        entry["seed"] = seed
        torch.manual_seed(seed)
    entry["expected"] = enc(run())
    if mutates:
        entry["mutated"] = {str(i): enc(args[i]) for i in mutates}
    if tol:
        entry["tol"] = tol
    current.append(entry)


def method(cid, name, self, *args, impl=None, tol=None, seed=None, **kwargs):
    """`self.<name>(*args, **kwargs)` (or `impl(self, ...)` where PyTorch has no such method),
    mirrored as the camelCase Tensor method."""
    fn = impl or getattr(torch.Tensor, name)
    case(cid, "method", camel(name), [self, *args], kwargs, lambda: fn(self, *args, **kwargs), tol=tol, seed=seed)


def function(cid, name, *args, impl=None, tol=None, seed=None, mutates=(), **kwargs):
    """`impl(*args, **kwargs)` (default F.<name>, else torch.<name>), mirrored as torch.<camelName>."""
    fn = impl or getattr(F, name, None) or getattr(torch, name)
    case(cid, "function", camel(name), list(args), kwargs, lambda: fn(*args, **kwargs), tol=tol, seed=seed, mutates=mutates)


def indexing(cid, x, specs, run):
    """Tensor.get(...specs): our spelling of x[...] (slices as [start, end, step])."""
    case(cid, "method", "get", [x, *specs], None, run)


# ---- deterministic inputs -----------------------------------------------------------------

gen = torch.Generator().manual_seed(20240601)


def rn(*shape, dtype=torch.float32):
    return torch.randn(*shape, generator=gen, dtype=dtype)


def ru(*shape):
    """Uniform in (0, 1): probabilities, positive values."""
    return torch.rand(*shape, generator=gen) * 0.98 + 0.01


def ri(low, high, *shape, dtype=torch.int64):
    return torch.randint(low, high, shape, generator=gen, dtype=dtype)


def rb(*shape, p=0.5):
    return torch.rand(*shape, generator=gen) < p


# ---- creation -----------------------------------------------------------------------------

def creation_cases():
    group("creation")
    function("zeros", "zeros", 2, 3)
    function("zeros_int64", "zeros", 2, 3, dtype=torch.int64)
    function("ones_list", "ones", [2, 1, 3])
    function("full_float", "full", [2, 3], 1.5)
    function("full_int32", "full", [3], 7, dtype=torch.int32)
    function("full_bool", "full", [2, 2], True, dtype=torch.bool)
    function("eye", "eye", 3)
    function("eye_rect_float64", "eye", 2, 4, dtype=torch.float64)
    function("linspace", "linspace", 0, 1, 5)
    function("linspace_float64", "linspace", -1.5, 2.25, 7, dtype=torch.float64)
    function("linspace_one", "linspace", 3, 5, 1)
    function("arange_end_int64", "arange", 5)
    function("arange_step_int64", "arange", 1, 8, 3)
    function("arange_negative_step", "arange", 10, 0, -3)
    function("arange_float_step", "arange", 0, 1, 0.1)
    function("arange_float_bounds", "arange", 1.5, 4, 0.5)
    function("arange_float_negative", "arange", 5, 0, -1.5)
    function("arange_dtype", "arange", 4, dtype=torch.float64)
    function("arange_inexact_count", "arange", 1, 1.3, 0.1)  # (1.3 - 1) / 0.1 is just above 3
    function("arange_long_float", "arange", -2, 3, 0.1)
    function("tensor_nested_float", "tensor", [[1.5, -2.25], [0.1, 3.75]], impl=torch.tensor)
    function("tensor_nested_bool", "tensor", [[True, False, True]], impl=torch.tensor)
    function("tensor_float64", "tensor", [0.1, 1e-300, -2.5], dtype=torch.float64, impl=torch.tensor)
    x = rn(2, 3)
    function("zeros_like", "zeros_like", x)
    function("ones_like_int", "ones_like", x, dtype=torch.int64)
    function("full_like", "full_like", x, -2.5)


def random_cases():
    group("random")
    # Same generator (libtorch's CPU one) and same seed: bit-identical streams.
    function("rand", "rand", 2, 3, seed=0)
    function("randn", "randn", 3, 4, seed=1)
    function("randn_float64", "randn", 5, dtype=torch.float64, seed=2)
    function("randn_large", "randn", 40, seed=3)  # 16+ elements: the vectorized normal path
    function("randint", "randint", 0, 10, [3, 4], seed=4)
    function("randint_int32", "randint", -5, 5, [6], dtype=torch.int32, seed=5)
    function("randperm", "randperm", 10, seed=6)
    function("randperm_100", "randperm", 100, seed=7)
    p = ru(3, 4)
    method("bernoulli", "bernoulli", p, seed=8)
    method("bernoulli_p", "bernoulli", torch.zeros(2, 5), 0.3, seed=9)
    method("uniform_", "uniform_", torch.zeros(2, 4), -2, 3, seed=10)
    method("normal_", "normal_", torch.zeros(6), 1.5, 0.5, seed=11)
    method("exponential_", "exponential_", torch.zeros(6), 2.5, seed=12)
    function("rand_like", "rand_like", torch.zeros(2, 2, dtype=torch.float64), seed=13)
    function("randn_like", "randn_like", torch.zeros(3), seed=14)
    function("dropout_train", "dropout", rn(4, 5), 0.5, True, seed=15)


# ---- views and indexing -------------------------------------------------------------------

def view_cases():
    group("views")
    x = rn(2, 3, 4)
    method("reshape", "reshape", x, 4, 6)
    method("reshape_infer", "reshape", x, -1, 3)
    method("view", "view", x, 6, 4)
    method("permute", "permute", x, 2, 0, 1)
    method("transpose", "transpose", x, 0, 2)
    method("t", "t", rn(3, 2))
    method("flatten", "flatten", x)
    method("flatten_from_1", "flatten", x, 1)
    method("unflatten", "unflatten", x, 2, [2, 2])
    y = rn(2, 1, 3, 1)
    method("squeeze_all", "squeeze", y)
    method("squeeze_dim", "squeeze", y, 1)
    method("unsqueeze_negative", "unsqueeze", x, -1)
    method("expand", "expand", rn(3, 1), 2, 3, 4)
    method("expand_keep", "expand", rn(1, 4), 3, -1)
    method("narrow", "narrow", x, 2, 1, 2)
    method("select_negative", "select", x, 1, -1)
    method("diagonal", "diagonal", rn(4, 5), 1)

    indexing("get_int_and_step", x, [-1, [1, None, 2]], lambda: x[-1, 1::2])
    indexing("get_negative_slice", x, [None, [-2, None], [None, -1]], lambda: x[:, -2:, :-1])
    indexing("get_ellipsis_newaxis", x, ["...", "newaxis", [0, 4, 3]], lambda: x[..., None, 0:4:3])
    idx = torch.tensor([2, 0, 2])
    indexing("get_index_tensor", x, [None, idx], lambda: x[:, idx])
    z = rn(10, 3)
    case("slice_method", "method", "slice", [z, 0, -7, None, 2], None, lambda: z[-7::2])

    method("index_select", "index_select", x, 2, torch.tensor([3, 0, 0]))
    g = rn(3, 4)
    method("gather", "gather", g, 1, ri(0, 4, 3, 2))
    method("scatter_tensor", "scatter", torch.zeros(3, 5), 1, torch.tensor([[0, 4], [1, 2], [3, 0]]), rn(3, 2))
    method("scatter_scalar", "scatter", torch.zeros(3, 5), 1, torch.tensor([[0, 4], [1, 2], [3, 0]]), 2.5)
    method("scatter_add", "scatter_add", torch.ones(2, 4), 1, torch.tensor([[0, 0, 3], [1, 1, 1]]), rn(2, 3))
    method("masked_fill", "masked_fill", g, rb(3, 4), -1.5)
    method("masked_fill_broadcast", "masked_fill", g, torch.tensor([True, False, False, True]), float("-inf"))
    rows, cols = torch.tensor([0, 2]), torch.tensor([3, 1])
    case("index", "method", "index", [g, [rows, cols]], None, lambda: g[rows, cols])
    case("index_skip_dim", "method", "index", [g, [None, cols]], None, lambda: g[:, cols])

    cond = rb(3, 4)
    function("where_tensors", "where", cond, g, rn(4))
    function("where_scalar_other", "where", cond, g, 0)
    function("where_scalar_self", "where", cond, -0.5, g)
    function("where_int_scalars", "where", cond, 1, 0)

    a, b = rn(2, 3), rn(2, 2)
    function("cat", "cat", [a, b], 1)
    function("cat_promote", "cat", [ri(0, 5, 1, 3), a])
    function("stack", "stack", [a, a * 2, a - 1])
    function("stack_last", "stack", [a, a], -1)
    s = rn(5, 4)
    method("split_int", "split", s, 2)
    method("split_sizes", "split", s, [1, 3], 1)
    method("chunk", "chunk", s, 3)
    method("unbind", "unbind", a, 1)
    method("repeat", "repeat", a, 2, 1, 3)
    method("repeat_interleave", "repeat_interleave", a, 2, 1)
    method("flip", "flip", x, [0, 2])
    method("roll", "roll", a, [1, -2], [0, 1])
    method("roll_flat", "roll", a, [2])
    sq = rn(4, 5)
    method("tril", "tril", sq)
    method("tril_negative", "tril", sq, -1)
    method("triu_positive", "triu", sq, 2)
    method("contiguous_of_transpose", "contiguous", x.transpose(0, 1))


# ---- pointwise math -----------------------------------------------------------------------

def pointwise_cases():
    group("pointwise")
    a, b = rn(2, 3, 1), rn(4)
    i, j = ri(-5, 6, 3, 4), ri(1, 6, 4)
    i32 = ri(-3, 4, 4, dtype=torch.int32)
    m, n = rb(3, 4), rb(4)
    method("add_broadcast", "add", a, b)
    method("add_alpha", "add", a, b, alpha=-2)
    method("add_scalar", "add", b, 3)
    method("add_int_float", "add", i, rn(3, 4))
    method("add_int_int", "add", i, j)
    method("add_int64_int32", "add", i, i32)
    method("add_int_float_scalar", "add", i, 2.5)
    method("add_bool_bool", "add", m, n)
    method("add_bool_int", "add", m, j)
    method("mul_float_zero_dim_float64", "mul", rn(3), torch.tensor(2.5, dtype=torch.float64))
    method("mul_int_scalar", "mul", i, 3)
    method("sub", "sub", a, b)
    method("div_true_int", "div", i, j)
    method("div_float", "div", a, b)
    method("div_floor_int", "div", i, j, rounding_mode="floor")
    method("div_trunc_float", "div", a * 3, b, rounding_mode="trunc")
    method("remainder_negative", "remainder", i, 4)
    method("remainder_float", "remainder", a * 3, 1.5)
    method("pow_scalar", "pow", a, 2)
    method("pow_fractional", "pow", ru(5), 0.5)
    method("pow_tensor", "pow", ru(3, 4), rn(4))
    method("pow_int", "pow", i, 2)
    method("neg", "neg", a)
    method("reciprocal_int", "reciprocal", j)
    for fn in ("exp", "sin", "cos", "tanh", "sigmoid", "abs", "sign", "floor", "ceil", "round"):
        method(fn, fn, rn(2, 5) * 2)
    for fn in ("log", "log1p", "sqrt", "rsqrt"):
        method(fn, fn, ru(2, 5) * 3)
    method("exp_int", "exp", i)
    method("sqrt_int", "sqrt", j)
    method("abs_int", "abs", i)
    c = rn(3, 4)
    method("clamp_both", "clamp", c, -0.5, 0.5)
    method("clamp_min_only", "clamp", c, -0.25)
    method("clamp_max_only", "clamp", c, None, 0.25)
    method("clamp_int", "clamp", i, -2, 3)
    method("clamp_min", "clamp_min", c, 0.1)
    method("clamp_max", "clamp_max", c, -0.1)
    method("maximum", "maximum", c, rn(4))
    method("minimum_promote", "minimum", i, c)
    method("lerp_scalar", "lerp", c, rn(3, 4), 0.25)
    method("lerp_tensor", "lerp", c, rn(3, 4), ru(3, 4))
    method("addcmul", "addcmul", c, rn(3, 4), rn(4), value=0.5)
    method("addcdiv", "addcdiv", c, rn(3, 4), ru(3, 4) + 0.5, value=-2)
    for fn in ("eq", "ne", "lt", "le", "gt", "ge"):
        method(f"{fn}_tensor", fn, i, j)
        method(f"{fn}_scalar", fn, c, 0.25)
    method("lt_broadcast_promote", "lt", i, c)
    method("logical_and", "logical_and", m, n)
    method("logical_or", "logical_or", m, n)
    method("logical_not", "logical_not", m)
    special = torch.tensor([1.0, float("nan"), float("inf"), -float("inf"), -2.5])
    method("isnan", "isnan", special)
    method("isfinite", "isfinite", special)
    method("nan_to_num", "nan_to_num", special)
    method("nan_to_num_values", "nan_to_num", special, 0.5, 100, -100)
    method("allclose_true", "allclose", c, c + 1e-7)
    method("allclose_false", "allclose", c, c + 1e-2)
    method("equal", "equal", i, i.clone())
    method("relu", "relu", c)
    method("leaky_relu", "leaky_relu", c, 0.2, impl=F.leaky_relu)
    method("gelu_erf", "gelu", c * 3, impl=F.gelu)
    method("gelu_tanh", "gelu", c * 3, approximate="tanh", impl=F.gelu)
    method("silu", "silu", c * 3, impl=F.silu)
    function("softplus", "softplus", c * 10, 2, 5)

    # In place: the result is self, updated (args are recorded before the call).
    method("add_", "add_", rn(3, 4), rn(4), alpha=0.5)
    method("mul_scalar_", "mul_", rn(3, 4), -2)
    method("clamp_", "clamp_", rn(3, 4), None, 0.3)
    method("masked_fill_", "masked_fill_", rn(3, 4), rb(3, 4), 9.5)
    method("relu_", "relu_", rn(3, 4))
    method("sigmoid_", "sigmoid_", rn(3, 4))

    # Conversions and the remaining promotion corners.
    f = rn(2, 5) * 4
    case("to_int64_truncates", "method", "to", [f, "int64"], None, lambda: f.to(torch.int64))
    case("to_float64", "method", "to", [f, "float64"], None, lambda: f.to(torch.float64))
    case("to_bool", "method", "to", [f.round(), "bool"], None, lambda: f.round().to(torch.bool))
    method("type_as", "type_as", i, f)
    method("add_uint8_int8", "add", ri(0, 200, 4, dtype=torch.uint8), ri(-100, 100, 4, dtype=torch.int8))
    method("mul_uint8_wraps", "mul", ri(100, 200, 4, dtype=torch.uint8), 3)
    method("add_float64_float32", "add", rn(3, dtype=torch.float64), rn(3))
    method("item_float", "item", rn(1))
    method("item_int", "item", ri(-9, 9, 1))
    method("item_bool", "item", rb(1))


# ---- reductions ---------------------------------------------------------------------------

def reduction_cases():
    group("reductions")
    x = rn(3, 4, 5)
    i = ri(-10, 10, 3, 4)
    method("sum_all", "sum", x)
    method("sum_dims_keepdim", "sum", x, [0, 2], True)
    method("sum_negative_dim", "sum", x, [-1])
    method("sum_int", "sum", i, [1])
    method("sum_bool", "sum", rb(3, 4))
    method("sum_dtype_float64", "sum", x, [1], False, dtype=torch.float64)
    method("sum_int_dtype_float32", "sum", i, None, False, dtype=torch.float32)
    method("mean_all", "mean", x)
    method("mean_dims_keepdim", "mean", x, [1, 2], True)
    method("mean_dtype", "mean", i, [0], False, dtype=torch.float64)
    method("prod_dim", "prod", ru(3, 4) + 0.5, 1, True)
    method("prod_all_int", "prod", ri(1, 4, 5))
    method("max_all", "max", x)
    method("max_dim", "max", x, 1)
    method("max_dim_keepdim", "max", x, -1, True)
    method("min_all_int", "min", i)
    method("min_dim", "min", x, 0)
    method("argmax_all", "argmax", x)
    method("argmax_dim", "argmax", x, 1)
    method("argmin_dim_keepdim", "argmin", x, 2, True)
    method("amax", "amax", x, [0, 2])
    method("amax_keepdim", "amax", x, [1], True)
    method("amin", "amin", i, [1])
    method("logsumexp", "logsumexp", x * 10, [1])
    method("logsumexp_keepdim", "logsumexp", x, [0, 2], True)
    method("norm_default", "norm", x)
    method("norm_p1_dim", "norm", x, 1, [1])
    method("norm_p2_dims_keepdim", "norm", x, 2, [0, 2], True)
    method("norm_inf", "norm", x, float("inf"), [2])
    method("var_unbiased", "var", x, [1])
    method("var_correction0_keepdim", "var", x, [0, 2], correction=0, keepdim=True)
    method("var_all", "var", x)
    method("std_correction1", "std", x, [2], correction=1)
    method("std_correction0", "std", x, [1], correction=0)
    method("cumsum", "cumsum", x, 1)
    method("cumsum_int", "cumsum", i, -1)
    method("cumsum_dtype", "cumsum", i, 0, dtype=torch.float64)
    method("all", "all", rb(3, 4, p=0.9))
    method("any", "any", rb(3, 4, p=0.05))
    method("count_nonzero", "count_nonzero", rb(3, 4), 1)
    method("nonzero", "nonzero", rb(3, 4))
    # Distinct values: ties would make indices implementation-defined.
    s = torch.randperm(20, generator=gen).reshape(4, 5).float() - 7.5
    method("sort", "sort", s)
    method("sort_descending_dim0", "sort", s, 0, True)
    method("argsort", "argsort", s, 1, True)
    method("topk", "topk", s, 3)
    method("topk_smallest_dim0", "topk", s, 2, 0, False)


# ---- linear algebra -----------------------------------------------------------------------

def linalg_cases():
    group("linalg")
    method("matmul_2d", "matmul", rn(3, 4), rn(4, 2))
    method("matmul_broadcast", "matmul", rn(2, 1, 3, 4), rn(5, 4, 2))
    method("matmul_vec_mat", "matmul", rn(4), rn(4, 3))
    method("matmul_mat_vec", "matmul", rn(3, 4), rn(4))
    method("matmul_dot", "matmul", rn(6), rn(6))
    method("matmul_float64", "matmul", rn(3, 4, dtype=torch.float64), rn(4, 3, dtype=torch.float64))
    method("mm", "mm", rn(2, 5), rn(5, 3))
    method("bmm", "bmm", rn(3, 2, 4), rn(3, 4, 5))
    method("outer", "outer", rn(3), rn(4))
    function("einsum_bmm", "einsum", "bij,bjk->bik", [rn(2, 3, 4), rn(2, 4, 2)])
    function("einsum_transpose", "einsum", "ij->ji", [rn(2, 3)])
    function("einsum_attention", "einsum", "bhld,bhsd->bhls", [rn(2, 2, 3, 4), rn(2, 2, 5, 4)])
    function("einsum_trace_outer", "einsum", "ii,j->j", [rn(3, 3), rn(2)])
    function("cdist_p2", "cdist", rn(2, 4, 3), rn(2, 5, 3))
    function("cdist_p1", "cdist", rn(4, 3), rn(5, 3), 1.0)


# ---- nn functional ------------------------------------------------------------------------

def nn_cases():
    group("nn")
    x3 = rn(2, 3, 4)
    function("linear", "linear", x3, rn(5, 4), rn(5))
    function("linear_no_bias", "linear", rn(3, 4), rn(2, 4))

    img = rn(2, 4, 7, 6)
    function("conv2d", "conv2d", img, rn(3, 4, 3, 3), rn(3))
    function("conv2d_stride_padding", "conv2d", img, rn(3, 4, 3, 3), rn(3), stride=2, padding=1)
    function("conv2d_asymmetric", "conv2d", img, rn(2, 4, 3, 2), None, stride=[2, 1], padding=[1, 0])
    function("conv2d_dilation", "conv2d", img, rn(3, 4, 3, 3), None, padding=2, dilation=2)
    function("conv2d_groups", "conv2d", img, rn(6, 2, 3, 3), rn(6), groups=2, padding=1)
    function("conv_transpose2d", "conv_transpose2d", rn(2, 4, 3, 3), rn(4, 3, 3, 3), rn(3))
    function("conv_transpose2d_output_padding", "conv_transpose2d", rn(2, 4, 3, 3), rn(4, 3, 3, 3), rn(3), stride=2, padding=1, output_padding=1)
    function("conv_transpose2d_groups_dilation", "conv_transpose2d", rn(1, 4, 4, 3), rn(4, 1, 2, 2), None, stride=[2, 1], groups=2, dilation=2)

    bn_x = rn(4, 3, 2, 2) * 2 + 1
    w, b = rn(3), rn(3)
    rm, rv = rn(3) * 0.1, ru(3) + 0.5
    function("batch_norm_train", "batch_norm", bn_x, rm, rv, weight=w, bias=b, training=True, momentum=0.2, mutates=(1, 2))
    rm2, rv2 = rn(3) * 0.1, ru(3) + 0.5
    function("batch_norm_eval", "batch_norm", bn_x, rm2, rv2, weight=w, bias=b, training=False, mutates=(1, 2))
    rm3, rv3 = torch.zeros(5), torch.ones(5)
    function("batch_norm_train_2d_no_affine", "batch_norm", rn(6, 5), rm3, rv3, training=True, mutates=(1, 2))
    function("batch_norm_no_running_stats", "batch_norm", bn_x, None, None, training=True)

    ln_x = rn(2, 3, 4)
    function("layer_norm", "layer_norm", ln_x, [4], rn(4), rn(4))
    function("layer_norm_2dims_no_affine", "layer_norm", ln_x, [3, 4], None, None, eps=1e-3)
    function("group_norm", "group_norm", rn(2, 6, 3, 2), 3, rn(6), rn(6))
    function("group_norm_no_affine", "group_norm", rn(2, 4, 5), 2, None, None, eps=1e-2)

    p = rn(2, 3, 7, 8)
    function("max_pool2d", "max_pool2d", p, 2)
    function("max_pool2d_stride_ceil", "max_pool2d", p, 3, stride=2, ceil_mode=True)
    function("max_pool2d_ceil_padding", "max_pool2d", rn(1, 1, 5, 5), 2, stride=2, padding=1, ceil_mode=True)
    function("max_pool2d_padding_dilation", "max_pool2d", p, [3, 2], stride=[2, 1], padding=1, dilation=[1, 2])
    function("avg_pool2d", "avg_pool2d", p, 2)
    function("avg_pool2d_ceil", "avg_pool2d", p, 3, stride=2, ceil_mode=True)
    function("avg_pool2d_exclude_pad", "avg_pool2d", p, 3, stride=2, padding=1, count_include_pad=False)
    function("adaptive_avg_pool2d", "adaptive_avg_pool2d", p, [3, 5])
    function("adaptive_avg_pool2d_up", "adaptive_avg_pool2d", rn(1, 2, 3, 3), [4, 5])
    function("adaptive_avg_pool2d_int", "adaptive_avg_pool2d", p, 1)
    function("adaptive_max_pool2d", "adaptive_max_pool2d", p, [3, 5])

    src = rn(1, 2, 4, 6)
    function("interpolate_nearest_size", "interpolate", src, size=[5, 9])
    function("interpolate_nearest_down", "interpolate", src, size=[3, 4])
    function("interpolate_nearest_scale", "interpolate", src, scale_factor=1.5)
    function("interpolate_nearest_scale_pair", "interpolate", src, scale_factor=[2, 0.75])
    function("interpolate_bilinear", "interpolate", src, size=[7, 9], mode="bilinear", align_corners=False)
    function("interpolate_bilinear_align", "interpolate", src, size=[7, 9], mode="bilinear", align_corners=True)
    function("interpolate_bilinear_scale", "interpolate", src, scale_factor=1.7, mode="bilinear", align_corners=False)
    function("interpolate_bilinear_scale_align", "interpolate", src, scale_factor=1.7, mode="bilinear", align_corners=True)
    function("interpolate_nearest_scale_down", "interpolate", src, scale_factor=0.6)
    big = rn(1, 2, 12, 10)
    function("interpolate_bilinear_antialias_down", "interpolate", big, size=[5, 3], mode="bilinear", align_corners=False, antialias=True)
    function("interpolate_bilinear_down_no_aa", "interpolate", big, size=[5, 3], mode="bilinear", align_corners=False)
    function("interpolate_bicubic", "interpolate", src, size=[6, 11], mode="bicubic", align_corners=False)
    function("interpolate_bicubic_align", "interpolate", src, size=[6, 11], mode="bicubic", align_corners=True)
    function("interpolate_bicubic_antialias_down", "interpolate", big, size=[4, 4], mode="bicubic", align_corners=False, antialias=True)
    function("interpolate_bicubic_scale", "interpolate", src, scale_factor=0.5, mode="bicubic", align_corners=False)

    function("pad_constant", "pad", rn(2, 3, 3), [1, 2, 0, 1], value=-1.5)
    function("pad_reflect", "pad", rn(1, 2, 4, 4), [2, 1, 1, 2], mode="reflect")
    function("pad_replicate", "pad", rn(1, 2, 3, 4), [1, 1, 2, 0], mode="replicate")

    d = rn(3, 4)
    function("dropout_p0_train", "dropout", d, 0.0, True)
    function("dropout_eval", "dropout", d, 0.5, False)
    s = rn(2, 3, 4) * 3
    method("softmax_last", "softmax", s, -1)
    method("softmax_dim0", "softmax", s, 0)
    method("softmax_dtype", "softmax", s, 1, dtype=torch.float64)
    method("log_softmax", "log_softmax", s, -1)
    method("log_softmax_dim1", "log_softmax", s, 1)

    emb = rn(6, 3)
    function("embedding", "embedding", torch.tensor([[0, 5, 2], [2, 2, 1]]), emb)
    function("embedding_padding_idx", "embedding", torch.tensor([1, 0, 3]), emb, padding_idx=0)
    function("one_hot", "one_hot", torch.tensor([0, 3, 1]), 5)
    function("one_hot_inferred", "one_hot", torch.tensor([[2, 0], [1, 2]]))

    function("cosine_similarity", "cosine_similarity", rn(3, 5), rn(3, 5))
    function("cosine_similarity_last_broadcast", "cosine_similarity", rn(2, 3, 4), rn(4), -1)
    function("normalize_default", "normalize", rn(3, 4))
    function("normalize_p1_dim0", "normalize", rn(3, 4), p=1, dim=0)
    function("normalize_inf_last", "normalize", rn(3, 4), p=float("inf"), dim=-1)
    function("normalize_eps", "normalize", torch.tensor([[0.0, 0.0], [3e-13, 4e-13], [3.0, 4.0]]), eps=1e-12)
    function("pairwise_distance", "pairwise_distance", rn(4, 3), rn(4, 3))
    function("pairwise_distance_p1_keepdim", "pairwise_distance", rn(4, 3), rn(3), 1.0, 1e-6, True)

    logits = rn(3, 5)
    # Same stream as F.gumbel_softmax: empty_like(logits).exponential_().log(), then softmax.
    function("gumbel_softmax_soft", "gumbel_softmax", logits, seed=21)
    function("gumbel_softmax_soft_tau", "gumbel_softmax", logits, tau=0.5, dim=0, seed=22)
    function("gumbel_softmax_hard", "gumbel_softmax", logits, hard=True, seed=23)
    function("gumbel_softmax_hard_dim0", "gumbel_softmax", logits, tau=2.0, hard=True, dim=0, seed=24)


def loss_cases():
    group("losses")
    x = rn(4, 5)
    t = torch.tensor([1, 0, 4, 2])
    cw = ru(5) + 0.5
    function("cross_entropy", "cross_entropy", x, t)
    function("cross_entropy_weight", "cross_entropy", x, t, weight=cw)
    function("cross_entropy_ignore_index", "cross_entropy", x, torch.tensor([1, -100, 4, 2]))
    function("cross_entropy_ignore_custom_sum", "cross_entropy", x, t, ignore_index=4, reduction="sum")
    function("cross_entropy_label_smoothing", "cross_entropy", x, t, label_smoothing=0.1)
    function("cross_entropy_weight_smoothing_ignore", "cross_entropy", x, torch.tensor([1, 0, -100, 2]), weight=cw, label_smoothing=0.2)
    function("cross_entropy_none", "cross_entropy", x, t, reduction="none")
    function("cross_entropy_probs", "cross_entropy", x, torch.softmax(rn(4, 5), 1))
    function("cross_entropy_probs_smoothing_none", "cross_entropy", x, torch.softmax(rn(4, 5), 1), label_smoothing=0.3, reduction="none")
    function("cross_entropy_probs_weight", "cross_entropy", x, torch.softmax(rn(4, 5), 1), weight=cw)
    function("cross_entropy_all_ignored", "cross_entropy", x, torch.full((4,), -100))
    function("cross_entropy_spatial", "cross_entropy", rn(2, 3, 2, 2), ri(0, 3, 2, 2, 2))
    lp = torch.log_softmax(x, 1)
    function("nll_loss", "nll_loss", lp, t)
    function("nll_loss_weight_ignore", "nll_loss", lp, torch.tensor([1, 3, -100, 2]), weight=cw)
    function("nll_loss_none", "nll_loss", lp, t, reduction="none")

    z, y = rn(3, 4), ru(3, 4)
    function("bce_with_logits", "binary_cross_entropy_with_logits", z, y)
    function("bce_with_logits_pos_weight", "binary_cross_entropy_with_logits", z, y, pos_weight=ru(4) * 3)
    function("bce_with_logits_weight_sum", "binary_cross_entropy_with_logits", z, y, weight=ru(3, 1), reduction="sum")
    function("bce_with_logits_none", "binary_cross_entropy_with_logits", z, rb(3, 4).float(), pos_weight=ru(4) * 3, reduction="none")

    a, b = rn(3, 4), rn(3, 4)
    for name in ("l1_loss", "mse_loss", "smooth_l1_loss"):
        for reduction in ("none", "mean", "sum"):
            function(f"{name}_{reduction}", name, a, b, reduction=reduction)
    function("smooth_l1_loss_beta", "smooth_l1_loss", a, b, beta=0.5)

    inp = torch.log_softmax(rn(3, 4), 1)
    tgt = torch.softmax(rn(3, 4), 1)
    for reduction in ("mean", "batchmean", "sum", "none"):
        function(f"kl_div_{reduction}", "kl_div", inp, tgt, reduction=reduction)
    function("kl_div_log_target_batchmean", "kl_div", inp, tgt.log(), reduction="batchmean", log_target=True)
    function("kl_div_log_target_none", "kl_div", inp, tgt.log(), reduction="none", log_target=True)


# ---- attention ----------------------------------------------------------------------------

def mha_reference(q, k, v, heads, w, key_padding_mask=None, attn_mask=None, need_weights=True, average_attn_weights=True, batch_first=False):
    """F.multi_head_attention_forward the way nn.MultiheadAttention calls it (eval, no dropout)."""
    if batch_first:
        q, k, v = (t.transpose(0, 1) for t in (q, k, v))
    out, weights = F.multi_head_attention_forward(
        q, k, v, q.shape[-1], heads,
        w["inProjWeight"], w["inProjBias"], None, None, False, 0.0,
        w["outProjWeight"], w["outProjBias"],
        training=False, key_padding_mask=key_padding_mask, need_weights=need_weights,
        attn_mask=attn_mask, average_attn_weights=average_attn_weights,
    )
    return out.transpose(0, 1) if batch_first else out, weights


def attention_cases():
    group("attention")
    q, k, v = rn(2, 2, 3, 4), rn(2, 2, 5, 4), rn(2, 2, 5, 4)
    function("sdpa", "scaled_dot_product_attention", q, k, v)
    function("sdpa_causal", "scaled_dot_product_attention", q, k, v, is_causal=True)
    function("sdpa_causal_square", "scaled_dot_product_attention", q, rn(2, 2, 3, 4), rn(2, 2, 3, 4), is_causal=True)
    function("sdpa_float_mask", "scaled_dot_product_attention", q, k, v, attn_mask=rn(3, 5))
    bool_mask = rb(2, 1, 3, 5, p=0.6)
    bool_mask[..., 0] = True  # every query attends to something: no all -inf rows
    function("sdpa_bool_mask", "scaled_dot_product_attention", q, k, v, attn_mask=bool_mask)
    function("sdpa_3d", "scaled_dot_product_attention", rn(2, 3, 4), rn(2, 5, 4), rn(2, 5, 6))
    function("sdpa_dropout_seeded", "scaled_dot_product_attention", q, k, v, dropout_p=0.5, seed=31)
    function("sdpa_scale", "scaled_dot_product_attention", q, k, v, scale=0.3)

    E, H, L, S, N = 6, 2, 3, 4, 2
    w = {"inProjWeight": rn(3 * E, E) * 0.5, "inProjBias": rn(3 * E) * 0.1, "outProjWeight": rn(E, E) * 0.5, "outProjBias": rn(E) * 0.1}
    q, k, v = rn(L, N, E), rn(S, N, E), rn(S, N, E)
    kpm = torch.tensor([[False, False, True, False], [False, False, False, True]])
    am = torch.tensor([[False, True, False, False], [False, False, True, True], [True, False, False, False]])

    def mha(cid, q, k, v, **kw):
        case(cid, "function", "multiHeadAttention", [q, k, v, H, w], {camel(n): x for n, x in kw.items()},
             lambda: mha_reference(q, k, v, H, w, **kw))

    mha("mha", q, k, v)
    mha("mha_self", q, q, q)
    mha("mha_key_padding_mask", q, k, v, key_padding_mask=kpm)
    mha("mha_bool_attn_mask", q, k, v, attn_mask=am)
    mha("mha_both_masks_per_head", q, k, v, key_padding_mask=kpm, attn_mask=am, average_attn_weights=False)
    mha("mha_float_mask_3d", q, k, v, attn_mask=rn(N * H, L, S))
    mha("mha_no_weights", q, k, v, need_weights=False)
    mha("mha_no_weights_masked", q, k, v, need_weights=False, attn_mask=am, key_padding_mask=kpm)
    mha("mha_float_key_padding_mask", q, k, v, key_padding_mask=rn(N, S))
    mha("mha_bool_mask_3d", q, k, v, attn_mask=rb(N * H, L, S, p=0.3) & ~torch.eye(L, S, dtype=torch.bool))
    bq, bk = q.transpose(0, 1).contiguous(), k.transpose(0, 1).contiguous()
    mha("mha_batch_first", bq, bk, bk, batch_first=True, key_padding_mask=kpm)
    mha("mha_batch_first_no_average", bq, bk, bk, batch_first=True, average_attn_weights=False)


def main():
    assert sys.byteorder == "little", "fixtures store raw little-endian bytes"
    torch.set_num_threads(1)
    # kl_div's 'mean' is tested on purpose, deprecation notice and all.
    warnings.filterwarnings("ignore", message="reduction: 'mean' divides")
    for make in (creation_cases, random_cases, view_cases, pointwise_cases, reduction_cases, linalg_cases, nn_cases, loss_cases, attention_cases):
        make()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for old in OUT_DIR.glob("*.json"):
        old.unlink()
    total = 0
    for name, cases in groups.items():
        # One case per line: reviewable diffs when a fixture changes.
        text = '{"torch": %s, "cases": [\n%s\n]}\n' % (json.dumps(torch.__version__), ",\n".join(json.dumps(c) for c in cases))
        (OUT_DIR / f"{name}.json").write_text(text)
        total += len(cases)
        print(f"{name}: {len(cases)} cases, {len(text) // 1024} KiB")
    print(f"{total} cases in {OUT_DIR.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
