"""Converts PyTorch weights to safetensors and back, keeping key names.

  .pt / .bin / Lightning .ckpt -> .safetensors: the file holds a state_dict, or a dict with
  one under 'state_dict' (Lightning) or 'model'; non-tensor entries are skipped (and listed).
  --strip-prefix removes a prefix from the keys that have it (e.g. 'model.' from Lightning).
  .safetensors -> .pt: a plain state_dict for torch.load.

Usage:
  python scripts/convert-weights.py in.ckpt out.safetensors [--strip-prefix model.]
  python scripts/convert-weights.py in.safetensors out.pt
"""

import argparse
import sys

import torch
from safetensors.torch import load_file, save_file


def state_dict_of(obj, path):
    """The tensor mapping inside a loaded checkpoint object."""
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                return obj[key]
        if any(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
    raise SystemExit(f"{path}: no state_dict found (expected tensors at the top level, or under 'state_dict' or 'model')")


def to_safetensors(src, dst, prefix):
    # weights_only: never run pickled code from a downloaded checkpoint.
    obj = torch.load(src, map_location="cpu", weights_only=True)
    tensors, skipped = {}, []
    for key, value in state_dict_of(obj, src).items():
        if not isinstance(value, torch.Tensor):
            skipped.append(key)
            continue
        name = key[len(prefix):] if prefix and key.startswith(prefix) else key
        if name in tensors:
            raise SystemExit(f"{src}: stripping '{prefix}' makes two keys '{name}'")
        # safetensors needs contiguous, unshared storage; clone() gives each its own.
        tensors[name] = value.detach().contiguous().clone()
    if skipped:
        print(f"skipped non-tensor entries: {', '.join(skipped)}", file=sys.stderr)
    save_file(tensors, dst, metadata={"format": "pt", "source": src})
    print(f"{len(tensors)} tensors -> {dst}")


def to_pt(src, dst):
    tensors = load_file(src)
    torch.save(tensors, dst)
    print(f"{len(tensors)} tensors -> {dst}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--strip-prefix", default="", help="remove this prefix from keys that have it")
    args = parser.parse_args()
    if args.src.endswith(".safetensors"):
        if args.strip_prefix:
            raise SystemExit("--strip-prefix applies to .pt/.bin/.ckpt inputs only")
        to_pt(args.src, args.dst)
    else:
        to_safetensors(args.src, args.dst, args.strip_prefix)


if __name__ == "__main__":
    main()
