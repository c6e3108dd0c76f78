"""Golden fixtures for src/models/prior/prior.ts, replayed by test/models/prior/prior.test.ts.

Run with `npm run fixtures` (or node scripts/python.mjs scripts/gen_fixtures_prior_model.py).
Writes test/fixtures/models/prior-keys-{tiny,paper}.json: the reference PRIOR's state_dict keys
(scripts/prior_reference/model.py, transformers' BertModel for the text encoder and the sentence
decoder) in order, with shapes, and the parameter count (BN running stats and buffers excluded).
The paper model is built on the meta device (no memory, no init).
"""
import json
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "prior_reference"))
from model import build  # noqa: E402

ROOT = HERE.parent
OUT = ROOT / "test" / "fixtures" / "models"


def keys_fixture(preset):
    torch.manual_seed(0)
    model = build(preset, device="meta")
    return {
        "preset": preset,
        "keys": [[k, list(t.shape)] for k, t in model.state_dict().items()],
        "parameters": sum(p.numel() for p in model.parameters()),
        "note": "transformers >= 4.31 keeps embeddings.position_ids out of the state dict (non-persistent); "
                "the released 4.17 checkpoint has it under text_encoder.encoder. and sentence_decoder.",
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for preset in ("tiny", "paper"):
        f = OUT / f"prior-keys-{preset}.json"
        data = keys_fixture(preset)
        f.write_text(json.dumps(data, indent=0) + "\n")
        print(f"{f.relative_to(ROOT)}: {len(data['keys'])} keys, {data['parameters']:,} parameters")


if __name__ == "__main__":
    main()
