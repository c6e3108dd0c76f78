"""Golden fixtures for src/models/prior/prior.ts, replayed by test/models/prior/prior.test.ts.

Run with `npm run fixtures` (or node scripts/python.mjs scripts/gen_fixtures_prior_model.py).
Writes test/fixtures/models/prior-keys-{tiny,paper}.json: the reference PRIOR's state_dict keys
(scripts/prior_reference/model.py, transformers' BertModel for the text encoder and the sentence
decoder) in order, with shapes, and the parameter count (BN running stats and buffers excluded).
The paper model is built on the meta device (no memory, no init).

And test/fixtures/models/prior-stages.json: the tiny model's stage 1/2/3 loss terms and selected
gradients on a ragged batch (B = 3: one report over the sentence cap (8 at tiny), a one-sentence report,
one with an empty sentence id), in eval mode with the SPB noise replaced by zeros, plus faithful
zero-shot probabilities scored one image at a time. Weights are not stored: both sides fill
every state entry from one seeded stream in state dict order (the key order is the same, as
prior-keys-tiny.json checks), like scripts/gen_fixtures_models_resnet.py.
"""
import json
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "prior_reference"))
from model import build, encode_prompts, total_loss, zero_shot_one, PRESETS  # noqa: E402
import gen_fixtures_models_resnet as resnet_fixtures  # noqa: E402  (model.py puts scripts/ on the path)


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


WEIGHT_SEED = 7
IMAGE_SEED = 11
LENGTH = 64
# Sentence lengths in word pieces per report, as the loader tokenises them (0 = a sentence whose
# tokens vanished, so its id is skipped): 18 sentences (> the cap), 1 sentence, 4 with id 3 empty.
SENTENCES = [[3] * 18, [5], [4, 6, 0, 3]]
# Gradients recorded per stage (sum and sum of |.|); None when the parameter got none.
GRAD_KEYS = [
    "logit_scale", "local_logit_scale", "prototype_queries", "image_encoder.encoder.conv1.weight",
    "image_encoder.atten_pool.positional_embedding", "text_encoder.encoder.embeddings.word_embeddings.weight",
    "text_encoder.encoder.pooler.dense.weight", "global_text_attention.c_proj.weight",
    "global_image_projection.weight", "local_image_projection.weight", "global_text_projection.weight",
    "local_text_projection.weight", "predictor.0.weight", "predictor.2.weight",
    "sentence_decoder.embeddings.word_embeddings.weight", "sentence_decoder.encoder.layer.0.crossattention.self.key.weight",
    "image_decoder.blocks.0.conv1.0.weight", "image_decoder.output_head.0.weight",
    "local_cross_attention.query2.weight", "local_cross_attention.value1.weight", "sentence_bank.embed.weight",
]


def fill_seeded(module, seed):
    """The ResNet fixtures' fill; the logit scales keep their initial ln(1/0.01) (test/models/prior/prior.test.ts: fillSeeded)."""
    resnet_fixtures.fill_seeded(module, seed, keep_scalars=True)


def make_batch():
    """input_ids / attention_mask / sentence_index as the loader builds them ([CLS] s1 s2 ... [SEP] [PAD]...)."""
    ids, masks, index = [], [], []
    for b, lengths in enumerate(SENTENCES):
        row_ids, row_idx = [101], [-1]
        for j, n in enumerate(lengths):
            row_ids += [1000 + 37 * b + 5 * j + k for k in range(n)]
            row_idx += [j + 1] * n
        row_ids.append(102)
        row_idx.append(-1)
        used = len(row_ids)
        assert used <= LENGTH
        ids.append(row_ids + [0] * (LENGTH - used))
        masks.append([1] * used + [0] * (LENGTH - used))
        index.append(row_idx + [-1] * (LENGTH - used))
    torch.manual_seed(IMAGE_SEED)
    image = torch.randn(len(SENTENCES), 1, 64, 64)
    return dict(image=image, input_ids=torch.tensor(ids), attention_mask=torch.tensor(masks),
                sentence_index=torch.tensor(index))


def stage_fixture():
    cfg = PRESETS["tiny"]
    model = build("tiny")
    fill_seeded(model, WEIGHT_SEED)
    model.eval()
    batch = make_batch()
    params = dict(model.named_parameters())
    stages = {}
    for stage in (1, 2, 3):
        model.zero_grad(set_to_none=True)
        terms = model.stage1(batch) if stage == 1 else model.stage2(batch, noise=False) if stage == 2 else model.stage3(batch, noise=False)
        loss = total_loss(stage, terms, cfg)
        loss.backward()
        grads = {}
        for k in GRAD_KEYS:
            g = params[k].grad
            grads[k] = None if g is None else [g.double().sum().item(), g.double().abs().sum().item()]
        no_grad = [k for k, p in params.items() if p.grad is None]
        stages[str(stage)] = dict(terms={k: v.item() for k, v in terms.items()}, loss=loss.item(), grads=grads, noGrad=no_grad)
    # Stage 3 with the intended SPG pairing (G[argsort(col)], B3).
    model.zero_grad(set_to_none=True)
    terms = model.stage3(batch, noise=False, pairing="intended")
    stages["3-intended"] = dict(terms={k: v.item() for k, v in terms.items()}, loss=total_loss(3, terms, cfg).item(),
                                grads={}, noGrad=[])
    # Zero-shot: 5 prompts of different lengths, faithful slicing, no SPB noise; 3 images one at a time.
    prompt_ids, prompt_mask = [], []
    for c, n in enumerate([2, 3, 4, 2, 5]):
        row = [101] + [3000 + 11 * c + k for k in range(n)] + [102]
        prompt_ids.append(row + [0] * (LENGTH - len(row)))
        prompt_mask.append([1] * len(row) + [0] * (LENGTH - len(row)))
    prompt_ids, prompt_mask = torch.tensor(prompt_ids), torch.tensor(prompt_mask)
    with torch.no_grad():
        u, q, g = encode_prompts(model, prompt_ids, prompt_mask, noise=False)
        probs = torch.stack([zero_shot_one(model, batch["image"][i: i + 1], q, g) for i in range(batch["image"].shape[0])])
    return dict(
        weightSeed=WEIGHT_SEED, imageSeed=IMAGE_SEED, imageShape=list(batch["image"].shape),
        inputIds=batch["input_ids"].tolist(), attentionMask=batch["attention_mask"].tolist(),
        sentenceIndex=batch["sentence_index"].tolist(), stages=stages,
        zeroShot=dict(inputIds=prompt_ids.tolist(), attentionMask=prompt_mask.tolist(),
                      sentences=u.tolist(), prototypes=q.tolist(), global_=g.tolist(), probabilities=probs.tolist()),
    )


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for preset in ("tiny", "paper"):
        f = OUT / f"prior-keys-{preset}.json"
        data = keys_fixture(preset)
        f.write_text(json.dumps(data, indent=0) + "\n")
        print(f"{f.relative_to(ROOT)}: {len(data['keys'])} keys, {data['parameters']:,} parameters")
    f = OUT / "prior-stages.json"
    f.write_text(json.dumps(stage_fixture()) + "\n")
    print(f"{f.relative_to(ROOT)}: {f.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
