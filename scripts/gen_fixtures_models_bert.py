"""Golden fixtures for src/models/bert (test/models/bert.test.ts), from Hugging Face transformers.

Two random tiny models, saved as HF model directories (config.json + model.safetensors):
  encoder/  a BertModel with pooler, keys as BertModel.state_dict() has them;
  decoder/  is_decoder + add_cross_attention, no pooler, keys saved with the `bert.` prefix of
            BertForMaskedLM / BertLMHeadModel checkpoints plus one `cls.*` head key, so the
            loader's prefix handling is exercised.
cases.safetensors holds each case's inputs, outputs and gradients under `<case>.<name>`;
its metadata maps `cases` to a JSON list of {id, model} in order.
The loss whose gradients are recorded is sum(last_hidden_state * R) (+ sum(pooler_output * P)),
with R and P stored as `<case>.R` / `<case>.P`.

Needs transformers (`.venv/bin/pip install transformers`; made with 5.18), unlike the tests.
"""
import json
import os

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertModel

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "models", "bert")

# bert-tiny-shaped but smaller, to keep the committed fixtures a few hundred KB.
TINY = dict(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=64, max_position_embeddings=16, type_vocab_size=2,
            hidden_act="gelu", layer_norm_eps=1e-12, pad_token_id=0)


def build(seed, **extra):
    torch.manual_seed(seed)
    config = BertConfig(**TINY, **extra)
    config._attn_implementation = "eager"  # the reference math path: softmax(qk^T/sqrt(d) + mask) v
    model = BertModel(config, add_pooling_layer=not extra.get("is_decoder", False)).eval()
    # HF's init leaves biases at 0 and LayerNorms at (1, 0): randomise everything so a wrong
    # key or a skipped bias shows.
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.2)
    return config, model


def save_model_dir(name, config, model, prefix=""):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    config_dict = config.to_diff_dict()
    config_dict.pop("_attn_implementation_autoset", None)
    config_dict.pop("transformers_version", None)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config_dict, f, indent=2, sort_keys=True)
    tensors = {prefix + k: v.contiguous() for k, v in model.state_dict().items()}
    if prefix:
        tensors["cls.predictions.bias"] = torch.zeros(config.vocab_size)
    save_file(tensors, os.path.join(d, "model.safetensors"))


def run_case(store, cases, cid, model_name, model, param_grads, **inputs):
    """Forward + backward of one case; records inputs, outputs and gradients."""
    model.zero_grad()
    embeds = inputs.pop("inputs_embeds", None)
    if embeds is not None:
        embeds = embeds.clone().requires_grad_(True)
        inputs["inputs_embeds"] = embeds
    enc = inputs.get("encoder_hidden_states")
    if enc is not None:
        enc = enc.clone().requires_grad_(True)
        inputs["encoder_hidden_states"] = enc
    out = model(**inputs)
    last = out.last_hidden_state
    R = torch.randn_like(last)
    loss = (last * R).sum()
    store[f"{cid}.R"] = R
    store[f"{cid}.last_hidden_state"] = last.detach()
    if out.pooler_output is not None:
        P = torch.randn_like(out.pooler_output)
        loss = loss + (out.pooler_output * P).sum()
        store[f"{cid}.P"] = P
        store[f"{cid}.pooler_output"] = out.pooler_output.detach()
    loss.backward()
    for k, v in inputs.items():
        store[f"{cid}.{k}"] = v.detach()
    if embeds is not None:
        store[f"{cid}.grad.inputs_embeds"] = embeds.grad
    if enc is not None:
        store[f"{cid}.grad.encoder_hidden_states"] = enc.grad
    if param_grads:
        for name, p in model.named_parameters():
            if p.grad is not None:
                store[f"{cid}.grad.param.{name}"] = p.grad
    cases.append({"id": cid, "model": model_name})


def main():
    store, cases = {}, []
    enc_config, encoder = build(0)
    dec_config, decoder = build(1, is_decoder=True, add_cross_attention=True)
    save_model_dir("encoder", enc_config, encoder)
    save_model_dir("decoder", dec_config, decoder, prefix="bert.")

    torch.manual_seed(2)
    B, L = 2, 7
    ids = torch.randint(1, TINY["vocab_size"], (B, L))
    pad_mask = torch.ones(B, L, dtype=torch.long)
    pad_mask[1, 4:] = 0
    ids[1, 4:] = 0
    types = torch.zeros(B, L, dtype=torch.long)
    types[:, 3:] = 1
    run_case(store, cases, "enc_ids", "encoder", encoder, True, input_ids=ids)
    run_case(store, cases, "enc_mask_types", "encoder", encoder, True,
             input_ids=ids, attention_mask=pad_mask, token_type_ids=types)
    run_case(store, cases, "enc_embeds", "encoder", encoder, False,
             inputs_embeds=torch.randn(B, 5, TINY["hidden_size"]), attention_mask=pad_mask[:, :5])

    S = 6
    image = torch.randn(B, S, TINY["hidden_size"])
    enc_mask = torch.ones(B, S, dtype=torch.long)
    enc_mask[0, 4:] = 0
    # PRIOR's sentence decoder call: inputs_embeds + encoder_hidden_states, no masks.
    run_case(store, cases, "dec_embeds", "decoder", decoder, True,
             inputs_embeds=torch.randn(B, 5, TINY["hidden_size"]), encoder_hidden_states=image)
    run_case(store, cases, "dec_masks", "decoder", decoder, False,
             input_ids=ids, attention_mask=pad_mask, token_type_ids=types,
             encoder_hidden_states=image, encoder_attention_mask=enc_mask)

    store = {k: v.detach().clone() for k, v in store.items()}
    save_file(store, os.path.join(OUT, "cases.safetensors"), metadata={"cases": json.dumps(cases)})


if __name__ == "__main__":
    main()
