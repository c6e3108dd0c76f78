"""Golden fixtures for PRIOR's heads, prototype bank and losses (test/models/prior/*.test.ts).

The reference modules (scripts/prior_reference/heads.py, the original's per-sample loops) run on
a ragged batch: T_b = 1, 3, 7 sentences, with an empty sentence id inside samples 1 and 2. The
TypeScript port batches these loops with masks; each golden here is the per-sample definition.

test/fixtures/models/prior-heads.safetensors holds the weights (under the original's key names:
global_text_attention.*, local_cross_attention.*, predictor.*, sentence_bank.embed.weight,
logit_scale, local_logit_scale), the inputs, the outputs (per-sample lists zero-padded to the
batch's longest) and the gradients of a scalar combination (sum(out * R) with stored R) w.r.t.
the inputs. prior-heads.json holds the sizes, counts, assignments and SPB temperature schedules.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from prior_reference.heads import (SPB, LocalCrossAttention, SentenceAttentionPool, SentenceGather,  # noqa: E402
                                   global_alignment_loss, local_alignment_loss, predictor, spg_loss)

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "models")
B, L, D, N, HEADS, K, Q, HIDDEN = 3, 24, 32, 6, 4, 16, 4, 16
LAMBDA = 10.0

store = {}
meta = dict(B=B, L=L, D=D, N=N, heads=HEADS, K=K, Q=Q, hidden=HIDDEN, lambda_proto=LAMBDA)


def put(name, t):
    store[name] = t.detach().contiguous().clone()


def pad(rows, width):
    """A list of [T_b, ...] tensors zero-padded to [B, width, ...]."""
    out = rows[0].new_zeros(len(rows), width, *rows[0].shape[1:])
    for b, r in enumerate(rows):
        out[b, : r.shape[0]] = r
    return out


torch.manual_seed(2023)

# Sentence ids: sample 0 has one sentence; sample 1 ids 1,2,4 (3 empty); sample 2 ids 1..8 with 5
# empty. -1 marks [CLS], [SEP] and [PAD].
sentence_index = torch.full((B, L), -1, dtype=torch.int64)
layout = [[1, 1, 1], [1, 1, 2, 4, 4, 4, 4], [1, 2, 2, 3, 4, 4, 6, 6, 6, 7, 8, 8, 8, 8]]
for b, ids in enumerate(layout):
    sentence_index[b, 1 : 1 + len(ids)] = torch.tensor(ids)
put("sentence_index", sentence_index)

# ---- gather -----------------------------------------------------------------------------------
tokens = torch.randn(B, L, D, requires_grad=True)
gathered = SentenceGather()(tokens, sentence_index)
counts = [g.shape[0] for g in gathered]
T = max(counts)
meta["counts"] = counts
r_gather = torch.randn(B, T, D)
(pad(gathered, T) * r_gather).sum().backward()
put("tokens", tokens)
put("gather.sentences", pad(gathered, T))
put("gather.R", r_gather)
put("gather.tokens_grad", tokens.grad)
sentences_padded = pad(gathered, T).detach()

# ---- sentence attention pool -------------------------------------------------------------------
pool = SentenceAttentionPool(16, D, HEADS)
for k, v in pool.state_dict().items():
    put(f"global_text_attention.{k}", v)
sent = sentences_padded.clone().requires_grad_(True)
pooled = torch.cat([pool(sent[b, : counts[b]].unsqueeze(0)) for b in range(B)])
r_pool = torch.randn(B, D)
(pooled * r_pool).sum().backward()
put("pool.output", pooled)
put("pool.R", r_pool)
put("pool.sentences_grad", sent.grad)

# ---- local cross attention ------------------------------------------------------------------
attention = LocalCrossAttention(D)
for k, v in attention.state_dict().items():
    put(f"local_cross_attention.{k}", v)
image = torch.randn(B, N, D)
put("image", image)
img = image.clone().requires_grad_(True)
sent = sentences_padded.clone().requires_grad_(True)
c2s, a2s, c1s, a1s = [], [], [], []
for b in range(B):
    c2, a2, c1, a1 = attention(img[b], sent[b, : counts[b]])
    c2s.append(c2), a2s.append(a2), c1s.append(c1), a1s.append(a1)
outs = {"image_context": torch.stack(c2s), "image_attention": torch.stack([F.pad(a, (0, T - a.shape[1])) for a in a2s]),
        "sentence_context": pad(c1s, T), "sentence_attention": pad(a1s, T)}
total = 0
for name, o in outs.items():
    r = torch.randn(o.shape)
    put(f"local.{name}", o)
    put(f"local.{name}.R", r)
    total = total + (o * r).sum()
total.backward()
put("local.image_grad", img.grad)
put("local.sentences_grad", sent.grad)

# ---- local losses (§7.2) ---------------------------------------------------------------------
pred = predictor(D, HIDDEN)
for k, v in pred.state_dict().items():
    put(f"predictor.{k}", v)
local_logit_scale = torch.tensor(math.log(1 / 0.07), requires_grad=True)
put("local_logit_scale", local_logit_scale)
for which in ("image", "text"):
    img = image.clone().requires_grad_(True)
    sent = sentences_padded.clone().requires_grad_(True)
    rows = [sent[b, : counts[b]] for b in range(B)]
    loss_img, loss_txt, _ = local_alignment_loss(pred, attention, img, rows, local_logit_scale)
    loss = loss_img if which == "image" else loss_txt
    grads = torch.autograd.grad(loss, [img, sent, local_logit_scale], allow_unused=True)
    put(f"loss.local_{which}", loss)
    put(f"loss.local_{which}.image_grad", grads[0])
    put(f"loss.local_{which}.sentences_grad", grads[1])
    if which == "text":
        put("loss.local_text.scale_grad", grads[2])
        # Per-sample values: sample 0 (one sentence) must be exactly 0.
        _, per0, _ = local_alignment_loss(pred, attention, img[:1], rows[:1], local_logit_scale)
        meta["local_text_single_sentence"] = float(per0)

# ---- global alignment loss (§7.1) ------------------------------------------------------------
logit_scale = torch.tensor(math.log(1 / 0.07), requires_grad=True)
put("logit_scale", logit_scale)
ga = torch.randn(B, D, requires_grad=True)
gt = torch.randn(B, D, requires_grad=True)
loss = global_alignment_loss(ga, gt, logit_scale)
loss.backward()
put("global.a", ga)
put("global.t", gt)
put("loss.global", loss)
put("loss.global.a_grad", ga.grad)
put("loss.global.t_grad", gt.grad)
put("loss.global.scale_grad", logit_scale.grad)

# ---- SPB (§5) --------------------------------------------------------------------------------
spb = SPB(D, K, temp=0.9)
put("sentence_bank.embed.weight", spb.embed.weight)
rows = torch.cat([sentences_padded[b, : counts[b]] for b in range(B)])  # [sum T_b, D]
x = rows.clone().requires_grad_(True)
gumbels = -torch.empty(x.shape[0], K).exponential_().log()
put("spb.x", x)
put("spb.gumbels", gumbels)
p, proto_loss, ind = spb(x, gumbels)
r_spb = torch.randn(p.shape)
(p * r_spb).sum().add(proto_loss * 3).backward()
put("spb.prototypes", p)
put("spb.logits", spb.gt_dist)
put("spb.proto_loss", proto_loss)
put("spb.indices", ind)
put("spb.R", r_spb)
put("spb.x_grad", x.grad)
put("spb.embed_grad", spb.embed.weight.grad)
# Seeded noise: the same torch stream as F.gumbel_softmax draws.
with torch.no_grad():
    torch.manual_seed(77)
    p_seeded, _, ind_seeded = spb(rows)
put("spb.seeded_prototypes", p_seeded)
meta["spb_seed"] = 77
# KL against the cached (not detached) target logits of the previous call.
spb.zero_grad()
x = rows.clone().requires_grad_(True)
z = torch.randn(rows.shape, requires_grad=True)
put("spb.z", z)
spb(x, gumbels)
kl = spb.cal_loss(z)
kl.backward()
put("spb.kl", kl)
put("spb.kl.z_grad", z.grad)
put("spb.kl.x_grad", x.grad)
put("spb.kl.embed_grad", spb.embed.weight.grad)
schedule = []
for strategy in ("fixed", "linear", "exp"):
    for step, total in ((0, 130), (13, 130), (65, 130), (130, 130)):
        spb.set_temp(step, total, strategy)
        schedule.append(dict(strategy=strategy, step=step, total=total, temperature=spb.curr_temp))
meta["spb_schedule"] = schedule

# ---- SPG (§6.4) ------------------------------------------------------------------------------
lengths = [min(c, Q) for c in counts]
meta["spg_lengths"] = lengths
targets = pad([rows_b[:Q] for rows_b in [sentences_padded[b, : counts[b]] for b in range(B)]], Q)
generated = torch.randn(B, Q, D) * 0.5
put("spg.generated", generated)
put("spg.targets", targets)
for pairing in ("faithful", "intended"):
    g = generated.clone().requires_grad_(True)
    tg = targets.clone().requires_grad_(True)
    loss, matched, cols = spg_loss(g, tg, lengths, LAMBDA, pairing)
    loss.backward()
    put(f"spg.{pairing}.loss", loss)
    put(f"spg.{pairing}.matched", torch.stack(matched))
    put(f"spg.{pairing}.generated_grad", g.grad)
    put(f"spg.{pairing}.targets_grad", tg.grad)
    meta[f"spg_{pairing}_cols"] = [c.tolist() for c in cols]

os.makedirs(OUT, exist_ok=True)
save_file(store, os.path.join(OUT, "prior-heads.safetensors"))
with open(os.path.join(OUT, "prior-heads.json"), "w") as f:
    json.dump(meta, f, indent=1)
    f.write("\n")
size = os.path.getsize(os.path.join(OUT, "prior-heads.safetensors"))
print(f"prior-heads: {len(store)} tensors, {size} bytes; counts {counts}")
