"""PRIOR's heads, prototype bank and losses written from the spec (prior-spec.md §3.3, 4, 5,
6.4, 6.5, 7.1, 7.2), with the original's per-sample Python loops and its parameter names.

The reference the TypeScript port (src/models/prior) is checked against: the port batches
these loops with masks, the goldens come from here. Also imported by the whole-model
reference (model.py).
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment


class SentenceGather(nn.Module):
    """§3.3, pool='avg': per sample, the mean token of each sentence id 1..max, empty ids skipped."""

    def forward(self, x, sentence_index):
        out = []
        for b in range(x.shape[0]):
            rows = []
            m = int(sentence_index[b].max())
            for i in range(1, m + 1):
                sel = sentence_index[b] == i
                if sel.sum() == 0:
                    continue
                rows.append(x[b][sel].mean(0))
            out.append(torch.stack(rows) if rows else x.new_zeros(0, x.shape[-1]))
        return out


class SentenceAttentionPool(nn.Module):
    """§4.1: [mean; S_1..S_T] through multi-head attention, output token 0. No positional embedding."""

    def __init__(self, spacial_dim, embed_dim, num_heads, output_dim=None):
        super().__init__()
        # CLIP's AttentionPool2d registration order (k before q).
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.c_proj = nn.Linear(embed_dim, output_dim or embed_dim)
        self.num_heads = num_heads

    def forward(self, x):  # x [1, T, C], one sample as the original passes it
        x = x.permute(1, 0, 2)  # [T, 1, C]
        x = torch.cat([x.mean(dim=0, keepdim=True), x], dim=0)
        x, _ = F.multi_head_attention_forward(
            query=x, key=x, value=x, embed_dim_to_check=x.shape[-1], num_heads=self.num_heads,
            q_proj_weight=self.q_proj.weight, k_proj_weight=self.k_proj.weight,
            v_proj_weight=self.v_proj.weight, in_proj_weight=None,
            in_proj_bias=torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]),
            bias_k=None, bias_v=None, add_zero_attn=False, dropout_p=0,
            out_proj_weight=self.c_proj.weight, out_proj_bias=self.c_proj.bias,
            use_separate_proj_weight=True, training=self.training, need_weights=False)
        return x[0]  # [1, C_out]


class LocalCrossAttention(nn.Module):
    """§4.2: single-head sigmoid cross-attention, applied per sample; returns (C2, A2, C1, A1)."""

    def __init__(self, embed_dim):
        super().__init__()
        self.query1 = nn.Linear(embed_dim, embed_dim)
        self.key1 = nn.Linear(embed_dim, embed_dim)
        self.value1 = nn.Linear(embed_dim, embed_dim)
        self.query2 = nn.Linear(embed_dim, embed_dim)
        self.key2 = nn.Linear(embed_dim, embed_dim)
        self.value2 = nn.Linear(embed_dim, embed_dim)
        self.embed_dim = embed_dim

    def forward(self, image, sentences):  # [N, D], [T, D]
        q1, k1, v1 = self.query1(image), self.key1(image), self.value1(image)
        q2, k2, v2 = self.query2(sentences), self.key2(sentences), self.value2(sentences)
        a1 = torch.sigmoid(q2 @ k1.t() / math.sqrt(self.embed_dim))  # [T, N]
        c1 = a1 @ v1
        a2 = torch.sigmoid(q1 @ k2.t() / math.sqrt(self.embed_dim))  # [N, T]
        c2 = a2 @ v2
        return c2, a2, c1, a1


def predictor(dim, hidden):
    """§4.3: the SimSiam head, keys 0 and 2."""
    return nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))


class SPB(nn.Module):
    """§5: dot-product logits, Gumbel-softmax mixture of the codebook, L1 proto loss, cached gt_dist."""

    def __init__(self, dim, n_embed, temp=0.9):
        super().__init__()
        self.embed = nn.Embedding(n_embed, dim)
        self.temp = temp
        self.curr_temp = temp
        self.gt_dist = None

    def forward(self, x, gumbels=None):
        logits = x @ self.embed.weight.t()
        self.gt_dist = logits
        if gumbels is None:
            y = F.gumbel_softmax(logits, tau=self.curr_temp, hard=False)
        else:
            y = F.softmax((logits + gumbels) / self.curr_temp, dim=-1)
        p = y @ self.embed.weight
        embed_ind = y.argmax(-1)
        proto_loss = (p - x).abs().mean()
        return p, proto_loss, embed_ind

    def cal_loss(self, z):
        logits_z = z @ self.embed.weight.t()
        t = self.gt_dist
        kl = (F.softmax(t, -1) * (F.log_softmax(t, -1) - F.log_softmax(logits_z, -1))).sum() / z.shape[0]
        return kl

    def set_temp(self, step, total, strategy):
        if strategy == "fixed":
            self.curr_temp = self.temp
        elif strategy == "linear":
            self.curr_temp = self.temp - (self.temp - self.temp * 0.1) * step / total
        elif strategy == "exp":
            self.curr_temp = self.temp * 0.1 ** (step / total)


def global_alignment_loss(a, t, logit_scale):
    """§7.1 on one process (W = 1, rank 0)."""
    a = F.normalize(a, dim=-1)
    t = F.normalize(t, dim=-1)
    s = logit_scale.exp()
    labels = torch.arange(a.shape[0])
    return (F.cross_entropy(s * a @ t.t(), labels) + F.cross_entropy(s * t @ a.t(), labels)) / 2


def local_alignment_loss(pred, local_attention, image, sentences, local_logit_scale):
    """§7.2, per sample: image [B, N, D], sentences a list of [T_b, D]. Returns (img, txt, C2 [B,N,D])."""
    img_losses, txt_losses, c2s = [], [], []
    for b in range(image.shape[0]):
        i_b, s_b = image[b], sentences[b]
        c2, _, c1, _ = local_attention(i_b, s_b)
        c2s.append(c2)
        img = -0.5 * (F.cosine_similarity(pred(i_b), c2.detach(), dim=-1).mean()
                      + F.cosine_similarity(pred(c2), i_b.detach(), dim=-1).mean())
        img_losses.append(img)
        a = F.normalize(s_b, dim=-1)
        c = F.normalize(c1, dim=-1)
        s = local_logit_scale.exp()
        labels = torch.arange(s_b.shape[0])
        txt = 0.5 * (F.cross_entropy(s * c @ a.t(), labels) + F.cross_entropy(s * a @ c.t(), labels))
        txt_losses.append(txt)
    n = image.shape[0]
    return sum(img_losses) / n, sum(txt_losses) / n, torch.stack(c2s)


def spg_loss(generated, targets, lengths, lambda_proto, pairing="faithful"):
    """§6.4 per sample: Hungarian on the detached L1 cdist; faithful G[col] or intended G[argsort(col)].

    Returns (loss, [R_b], [col_b]) with R_b the full matched [Q, D] rows (roi_b = R_b[:len_b]).
    """
    total = 0
    matched, cols = [], []
    for b in range(generated.shape[0]):
        g, p = generated[b], targets[b]
        cost = torch.cdist(g, p, p=1).detach().cpu().numpy()
        _, col = linear_sum_assignment(cost)
        idx = col if pairing == "faithful" else np.argsort(col)
        r = g[torch.as_tensor(idx)]
        total = total + (r - p).abs().mean()
        matched.append(r)
        cols.append(col)
    return total / generated.shape[0] * lambda_proto, matched, cols
