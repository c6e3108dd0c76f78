"""PRIOR's whole model written from the spec (prior-spec.md §1, 2, 4.4, 6, 7.3, 12.2), with the
original's attribute names (so its state_dict keys are the released checkpoint's) and its
per-sample loops. The reference src/models/prior/prior.ts is checked against: parameter names
and shapes (both presets) and, for the tiny preset, the stage losses.

Built on heads.py (the heads, SPB and losses) and on scripts/gen_fixtures_models_resnet.py's
restated torchvision ResNet / CLIP AttentionPool2d (torchvision is not installable here; key
names are torchvision's). The text encoder and the sentence decoder are transformers' BertModel,
exactly as the original builds them.

The configuration is the TS preset's (src/models/prior/config.ts) as a dict with the same keys.
"""
import math
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers import BertConfig, BertModel

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from heads import (  # noqa: E402
    SPB, LocalCrossAttention, SentenceAttentionPool, SentenceGather, global_alignment_loss,
    local_alignment_loss, predictor, spg_loss)
from gen_fixtures_models_resnet import AttentionPool2d, resnet  # noqa: E402

# The presets of src/models/prior/config.ts (keep in sync; the TS test compares the results).
BERT_TINY = dict(vocab_size=30522, hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512)
CLINICAL_BERT = dict(vocab_size=28996, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
COMMON = dict(inChannels=1, imagePoolHeads=8, sentencePoolHeads=8, temperature=0.01, localTemperature=0.01,
              spbTemperature=0.9, imageDropout=0.5, maxSentences=16, lambdaProto=10, stage3GlobalWeight=10)
PRESETS = {
    "paper": dict(COMMON, embedDim=768, imageDepth=50, imageSize=224, text=CLINICAL_BERT, textMaxLength=256,
                  predictorHidden=384, prototypes=512, queries=16, decoderLayers=8),
    "tiny": dict(COMMON, embedDim=128, imageDepth=18, imageSize=64, text=BERT_TINY, textMaxLength=64,
                 predictorHidden=64, prototypes=64, queries=8, decoderLayers=2, maxSentences=8),
}


class ImageEncoder(nn.Module):
    """§1: `encoder` (torchvision ResNet, 1-channel conv1, fc = Identity) and `atten_pool`."""

    def __init__(self, depth, image_size, heads, in_channels=1):
        super().__init__()
        self.encoder = resnet(depth, in_channels=in_channels)
        self.encoder.fc = nn.Identity()
        width = 512 * (4 if depth == 50 else 1)
        self.atten_pool = AttentionPool2d(image_size // 32, width, heads)
        self.width = width

    def forward(self, x):
        f = self.encoder.features(x)
        b, c, h, w = f.shape
        return self.atten_pool(f), f.reshape(b, h * w, c)  # §1.3: plain reshape (B1)


class TextEncoder(nn.Module):
    """§2: `encoder` is transformers' BertModel (with pooler)."""

    def __init__(self, config):
        super().__init__()
        self.encoder = BertModel(config)

    def forward(self, input_ids, attention_mask):
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


class Conv2dReLU(nn.Sequential):
    def __init__(self, i, o):
        super().__init__(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))


class DecoderBlock(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.conv1 = Conv2dReLU(i, o)
        self.conv2 = Conv2dReLU(o, o)

    def forward(self, x):
        return self.conv2(self.conv1(F.interpolate(x, scale_factor=2, mode="nearest")))


class ImageDecoder(nn.Module):
    """§6.1: 5 blocks 2D→D→D/2→D/4→D/8→D/16, head conv → 1 channel; Dropout2d on the image map."""

    def __init__(self, dim, grid, dropout=0.5):
        super().__init__()
        chans = [2 * dim] + [dim // 2 ** i for i in range(5)]
        self.blocks = nn.ModuleList([DecoderBlock(chans[i], chans[i + 1]) for i in range(5)])
        self.output_head = nn.Sequential(nn.Conv2d(chans[-1], 1, 3, padding=1))
        self.dropout = nn.Dropout2d(dropout)
        self.grid = grid

    def forward(self, image_tokens, text_tokens):
        b, n, d = image_tokens.shape
        image_map = self.dropout(image_tokens.reshape(b, d, self.grid, self.grid))  # B2: plain reshape
        x = torch.cat([image_map, text_tokens.reshape(b, d, self.grid, self.grid)], 1)
        for block in self.blocks:
            x = block(x)
        return self.output_head(x)


class Prior(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["embedDim"]
        self.cfg = cfg
        self.image_encoder = ImageEncoder(cfg["imageDepth"], cfg["imageSize"], cfg["imagePoolHeads"], cfg["inChannels"])
        text_config = BertConfig(**cfg["text"])
        self.text_encoder = TextEncoder(text_config)
        w, wt = self.image_encoder.width, text_config.hidden_size
        self.global_text_attention = SentenceAttentionPool(16, d, cfg["sentencePoolHeads"])
        self.global_image_projection = nn.Linear(w, d)
        self.local_image_projection = nn.Linear(w, d)
        self.global_text_projection = nn.Linear(wt, d)
        self.local_text_projection = nn.Linear(wt, d)
        self.predictor = predictor(d, cfg["predictorHidden"])
        decoder_config = BertConfig(**dict(cfg["text"], num_hidden_layers=cfg["decoderLayers"]),
                                    is_decoder=True, add_cross_attention=True)
        self.sentence_decoder = BertModel(decoder_config, add_pooling_layer=False)
        self.prototype_queries = nn.Parameter(torch.randn(1, cfg["queries"], d))
        self.image_decoder = ImageDecoder(d, cfg["imageSize"] // 32, cfg["imageDropout"])
        self.local_cross_attention = LocalCrossAttention(d)
        self.logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / cfg["temperature"]))
        self.local_logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / cfg["localTemperature"]))
        self.sentence_bank = SPB(d, cfg["prototypes"], cfg["spbTemperature"])
        self.gather = SentenceGather()
        # §4.4 init of the projections and the predictor's first layer.
        for lin, fan_in in ((self.global_image_projection, w), (self.local_image_projection, w),
                            (self.global_text_projection, wt), (self.local_text_projection, wt), (self.predictor[0], d)):
            nn.init.normal_(lin.weight, std=fan_in ** -0.5)

    # ---- the common start of every stage (§7.3) ----
    def encode(self, batch):
        g, l = self.image_encoder(batch["image"])
        hidden = self.text_encoder(batch["input_ids"], batch["attention_mask"])
        local_text = self.local_text_projection(hidden)
        return dict(global_image=self.global_image_projection(g), local_image=self.local_image_projection(l),
                    sentences=self.gather(local_text, batch["sentence_index"]))

    def pool(self, per_sample):
        return torch.cat([self.global_text_attention(s[None]) for s in per_sample])

    def spb(self, per_sample, noise):
        """SPB on the concatenated rows, split back per sample; noise=False replaces the Gumbel noise by zeros."""
        lens = [s.shape[0] for s in per_sample]
        x = torch.cat(per_sample)
        gumbels = None if noise else x.new_zeros(x.shape[0], self.sentence_bank.embed.weight.shape[0])
        p, proto_loss, idx = self.sentence_bank(x, gumbels)
        return list(p.split(lens)), proto_loss, list(idx.split(lens))

    def stage1(self, batch):
        e = self.encode(batch)
        g = global_alignment_loss(e["global_image"], self.pool(e["sentences"]), self.logit_scale)
        li, lt, _ = local_alignment_loss(self.predictor, self.local_cross_attention, e["local_image"], e["sentences"],
                                         self.local_logit_scale)
        return {"stage1_global_alignment_loss": g, "stage1_local_image_loss": li, "stage1_local_text_loss": lt}

    def stage2(self, batch, noise=True):
        e = self.encode(batch)
        protos, proto_loss, _ = self.spb(e["sentences"], noise)
        g = global_alignment_loss(e["global_image"], self.pool(protos), self.logit_scale)
        li, lt, _ = local_alignment_loss(self.predictor, self.local_cross_attention, e["local_image"], protos,
                                         self.local_logit_scale)
        return {"stage2_global_alignment_loss": g, "stage2_local_image_loss": li, "stage2_local_text_loss": lt,
                "stage2_proto_loss_": proto_loss}

    def stage3(self, batch, noise=True, pairing="faithful"):
        e = self.encode(batch)
        q = self.cfg["queries"]
        truncated = [s[: self.cfg["maxSentences"]] for s in e["sentences"]]
        protos, proto_loss, _ = self.spb(truncated, noise)
        global_text = self.pool(protos)
        g = global_alignment_loss(e["global_image"], global_text, self.logit_scale)
        li, lt, c2 = local_alignment_loss(self.predictor, self.local_cross_attention, e["local_image"], protos,
                                          self.local_logit_scale)
        rec = (self.image_decoder(e["local_image"], c2) - batch["image"]).abs().mean()
        b = e["local_image"].shape[0]
        generated = self.sentence_decoder(inputs_embeds=self.prototype_queries.repeat(b, 1, 1),
                                          encoder_hidden_states=e["local_image"]).last_hidden_state
        lens = [p.shape[0] for p in protos]
        targets = torch.stack([F.pad(p, (0, 0, 0, q - p.shape[0])) for p in protos])
        spg, matched, _ = spg_loss(generated, targets, lens, self.cfg["lambdaProto"], pairing)
        roi = [m[:n] for m, n in zip(matched, lens)]
        kl = self.sentence_bank.cal_loss(torch.cat(roi))  # against the truncated-sentence call's logits (B5)
        gen_protos, _, _ = self.spb(roi, noise)
        gpa = global_alignment_loss(self.pool(gen_protos), global_text, self.logit_scale)
        return {"stage3_global_alignment_loss": g, "stage3_local_image_loss": li, "stage3_local_text_loss": lt,
                "stage3_rec_image_loss": rec, "stage3_spg_loss": spg, "stage3_kl_loss": kl, "stage3_gpa_loss": gpa,
                "stage3_proto_loss_": proto_loss}


def total_loss(stage, terms, cfg):
    """§7.3's weighted sums."""
    p = f"stage{stage}_"
    if stage == 1:
        return terms[p + "global_alignment_loss"] + terms[p + "local_image_loss"] + terms[p + "local_text_loss"]
    if stage == 2:
        return (terms[p + "global_alignment_loss"] + terms[p + "local_image_loss"] + terms[p + "local_text_loss"]
                + cfg["lambdaProto"] * terms[p + "proto_loss_"])
    return (cfg["stage3GlobalWeight"] * terms[p + "global_alignment_loss"] + terms[p + "local_image_loss"]
            + terms[p + "local_text_loss"] + terms[p + "rec_image_loss"] + terms[p + "spg_loss"] + terms[p + "kl_loss"]
            + terms[p + "gpa_loss"] + cfg["lambdaProto"] * terms[p + "proto_loss_"])


def build(preset, device=None):
    if device is None:
        return Prior(PRESETS[preset])
    with torch.device(device):
        return Prior(PRESETS[preset])


# ---- zero-shot (spec §9.3, §9.4), faithful, one image at a time as the original ----------------

def encode_prompts(model, input_ids, attention_mask, noise=True):
    """u_c (tokens [:, 1:-1] with mask 1, [SEP] kept: B18), q_c = SPB(u_c), g_c = pool({q_c})."""
    hidden = model.text_encoder(input_ids, attention_mask)[:, 1:-1]
    mask = attention_mask[:, 1:-1]
    local = model.local_text_projection(hidden)
    u = torch.stack([local[c][mask[c] == 1].mean(0) for c in range(local.shape[0])])
    gumbels = None if noise else u.new_zeros(u.shape[0], model.sentence_bank.embed.weight.shape[0])
    q, _, _ = model.sentence_bank(u, gumbels)
    g = torch.cat([model.global_text_attention(q[c][None, None]) for c in range(q.shape[0])])
    return u, q, g


def zero_shot_one(model, image, q, g):
    """One image [1, C_in, H, W] → probabilities [C]: softmax(raw logit_scale · cos) + 0.5 softmax(local)."""
    gi, li = model.image_encoder(image)
    v = model.global_image_projection(gi)[0]
    local = model.local_image_projection(li)[0]
    logits = model.logit_scale * (F.normalize(v, dim=-1) @ F.normalize(g, dim=-1).t())  # B19: raw scale
    _, a2, _, a1 = model.local_cross_attention(local, q)  # a2 [N, C], a1 [C, N]
    local_score = 0.5 * (a2.mean(0) + a1.mean(1))
    return F.softmax(logits, -1) + 0.5 * F.softmax(local_score, -1)
