"""Fixtures for test/io (run by `npm run fixtures`): safetensors files written by Python's
`safetensors` package, the values they hold as JSON, and a small Lightning-style .ckpt for
scripts/convert-weights.py. Small on purpose (a few KB).

Usage: node scripts/python.mjs scripts/gen_fixtures_io.py
"""

import json
import os

import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "io")


def values(t):
    """Exact values as JSON: floats (float16/bfloat16 widen exactly to float64), int64 as strings."""
    if t.dtype == torch.int64:
        return [str(v) for v in t.flatten().tolist()]
    if t.dtype == torch.bool:
        return [bool(v) for v in t.flatten().tolist()]
    if t.dtype.is_floating_point:
        return t.double().flatten().tolist()
    return t.flatten().tolist()


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    tensors = {
        "f64": torch.randn(2, 3, generator=g, dtype=torch.float64),
        "f32": torch.randn(3, 4, generator=g),
        "f16": torch.randn(5, generator=g).half(),
        "bf16": torch.randn(2, 2, generator=g).bfloat16(),
        "i64": torch.tensor([0, -1, 2**53 + 1, -(2**62)], dtype=torch.int64),
        "i32": torch.tensor([[1, -2], [2**31 - 1, -(2**31)]], dtype=torch.int32),
        "i16": torch.tensor([-32768, 7, 32767], dtype=torch.int16),
        "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 1, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 3),
        "nested.layer.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3),
    }
    metadata = {"format": "pt", "note": "written by scripts/gen_fixtures_io.py"}
    save_file(tensors, os.path.join(OUT, "all_dtypes.safetensors"), metadata=metadata)
    expected = {
        "metadata": metadata,
        "tensors": {
            k: {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape), "values": values(t)}
            for k, t in tensors.items()
        },
    }
    with open(os.path.join(OUT, "all_dtypes.json"), "w") as f:
        json.dump(expected, f, indent=1)

    # A Lightning-style checkpoint: weights under 'state_dict' with a 'model.' prefix, plus
    # non-tensor entries the converter must ignore.
    ckpt_state = {
        "model.encoder.weight": torch.randn(4, 3, generator=g),
        "model.encoder.bias": torch.randn(4, generator=g),
        "model.head.weight": torch.randn(2, 4, generator=g).half(),
        "model.steps": torch.tensor(7, dtype=torch.int64),
    }
    torch.save(
        {"state_dict": ckpt_state, "epoch": 3, "global_step": 70, "optimizer_states": []},
        os.path.join(OUT, "lightning.ckpt"),
    )
    with open(os.path.join(OUT, "lightning.json"), "w") as f:
        json.dump(
            {k: {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape), "values": values(t)} for k, t in ckpt_state.items()},
            f,
            indent=1,
        )


if __name__ == "__main__":
    main()
