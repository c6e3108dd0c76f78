#!/usr/bin/env python3
"""Golden fixtures for src/models/prior/matching.ts, made with scipy.optimize.linear_sum_assignment.

Writes test/fixtures/models/matching.json.gz: cost matrices and scipy's (row_ind, col_ind) for
each, with and without maximize. The point is tie-breaking (spec §6.4: PRIOR's cost has identical
zero-padded columns), so most cases are tie-heavy: small integer costs, duplicated columns and
rows, constant matrices, and the PRIOR case itself (torch.cdist p=1 in float32 between 16
generated rows and a 16-row target whose last k rows are zero, k = 0..15).

Encodings, so the file stays small and both sides see the same float64 values:
  "q": integers, cost = q / scale (scale a power of two, so the division is exact); null = +inf
  "f32": base64 of little-endian float32 (the PRIOR cdist costs; scipy widens them to float64)

Run: node scripts/python.mjs scripts/gen_fixtures_matching.py
"""
import base64
import gzip
import json
import os

import numpy as np
import scipy
import torch
from scipy.optimize import linear_sum_assignment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "models", "matching.json.gz")

rng = np.random.default_rng(20231001)
cases = []


def solve(cost, maximize):
    r, c = linear_sum_assignment(cost, maximize=maximize)
    return r.astype(int).tolist(), c.astype(int).tolist()


def add_q(name, q, scale=1, maximize_too=False):
    """q: integer array (float array with +inf allowed); cost = q / scale."""
    q = np.asarray(q, dtype=np.float64)
    cost = q / scale
    data = [None if np.isinf(x) else int(x) for x in q.flatten()]
    for maximize in ([False, True] if maximize_too else [False]):
        if maximize and np.isinf(cost).any():
            continue
        r, c = solve(cost, maximize)
        cases.append({"name": name, "shape": list(q.shape), "maximize": maximize, "enc": "q", "scale": scale,
                      "data": data, "rowInd": r, "colInd": c})


def add_f32(name, cost32, maximize_too=False):
    cost32 = np.ascontiguousarray(cost32, dtype="<f4")
    data = base64.b64encode(cost32.tobytes()).decode("ascii")
    for maximize in ([False, True] if maximize_too else [False]):
        r, c = solve(cost32, maximize)  # scipy converts to float64 itself
        cases.append({"name": name, "shape": list(cost32.shape), "maximize": maximize, "enc": "f32",
                      "data": data, "rowInd": r, "colInd": c})


SCALE = 1 << 20
# Random 16x16 costs in [0, 1024) at 2^-10 resolution (ties very unlikely).
for s in range(60):
    add_q(f"random16-{s}", rng.integers(0, SCALE, size=(16, 16)), scale=1024, maximize_too=s < 20)
# Tie-heavy: integer costs 0..3 and 0..1.
for s in range(60):
    add_q(f"int0to3-16-{s}", rng.integers(0, 4, size=(16, 16)), maximize_too=s < 20)
for s in range(20):
    add_q(f"int0to1-16-{s}", rng.integers(0, 2, size=(16, 16)), maximize_too=s < 10)
# Identical columns: a random matrix whose last k columns are one repeated column.
for k in range(1, 16):
    q = rng.integers(0, SCALE, size=(16, 16))
    q[:, 16 - k:] = q[:, [16 - k]]
    add_q(f"dupcols-{k}", q, scale=1024, maximize_too=True)
    q = rng.integers(0, 4, size=(16, 16))
    q[:, 16 - k:] = q[:, [16 - k]]
    add_q(f"dupcols-int-{k}", q)
# Identical rows.
for k in range(2, 16, 3):
    q = rng.integers(0, 8, size=(16, 16))
    q[16 - k:] = q[16 - k]
    add_q(f"duprows-int-{k}", q, maximize_too=True)
# Constant matrices (scipy #11602: identity).
for n in (1, 2, 5, 16):
    add_q(f"const-{n}", np.full((n, n), 7), maximize_too=True)
add_q("zeros-16", np.zeros((16, 16)), maximize_too=True)
# Rectangular, wide and tall, random and tie-heavy.
for s in range(12):
    add_q(f"random5x9-{s}", rng.integers(0, SCALE, size=(5, 9)), scale=1024, maximize_too=s < 4)
    add_q(f"random9x5-{s}", rng.integers(0, SCALE, size=(9, 5)), scale=1024, maximize_too=s < 4)
    add_q(f"int5x9-{s}", rng.integers(0, 3, size=(5, 9)), maximize_too=s < 4)
    add_q(f"int9x5-{s}", rng.integers(0, 3, size=(9, 5)), maximize_too=s < 4)
add_q("const-3x7", np.full((3, 7), 2), maximize_too=True)
add_q("const-7x3", np.full((7, 3), 2), maximize_too=True)
for shape in [(1, 1), (1, 6), (6, 1), (2, 3), (3, 2)]:
    add_q(f"small-{shape[0]}x{shape[1]}", rng.integers(0, 5, size=shape), maximize_too=True)
# Empty problems.
for shape in [(0, 0), (0, 5), (5, 0)]:
    add_q(f"empty-{shape[0]}x{shape[1]}", np.zeros(shape), maximize_too=True)
# Negative costs (scipy no longer shifts by the minimum; dual values start at zero).
for s in range(5):
    add_q(f"negative16-{s}", rng.integers(-SCALE, SCALE, size=(16, 16)), scale=1024, maximize_too=True)
    add_q(f"negint16-{s}", rng.integers(-3, 1, size=(16, 16)), maximize_too=True)
# Forbidden pairs (+inf) that leave a feasible problem.
for s in range(5):
    q = rng.integers(0, 4, size=(16, 16)).astype(np.float64)
    q[rng.random((16, 16)) < 0.3] = np.inf
    np.fill_diagonal(q, rng.integers(0, 4, size=16))
    add_q(f"forbidden16-{s}", q)
q = rng.integers(0, 4, size=(4, 6)).astype(np.float64)
q[:, :2] = np.inf
add_q("forbidden4x6", q)

# The PRIOR case (spec §6.4): cost = cdist(G_b, P_b, p=1) in float32, P_b zero-padded after T_b
# sentences. Also with duplicated prototypes (two sentences that hit the same SPB prototype).
torch.manual_seed(0)
for s in range(2):
    for k in range(16):
        g = torch.randn(16, 768)
        p = torch.randn(16, 768)
        p[16 - k:] = 0
        add_f32(f"prior-zero{k}-{s}", torch.cdist(g, p, p=1).numpy(), maximize_too=(s == 0 and k % 5 == 0))
for k in (3, 8, 15):
    g = torch.randn(16, 768) * 0.02
    bank = torch.randn(512, 768)
    idx = torch.randint(0, 4, (16,))  # few distinct prototypes: many duplicated target rows
    p = bank[idx]
    p[16 - k:] = 0
    add_f32(f"prior-dupproto-zero{k}", torch.cdist(g, p, p=1).numpy())
# An untrained generator whose rows all collapse to one vector: every entry of a column ties.
g = torch.randn(1, 768).expand(16, 768).contiguous()
p = torch.randn(16, 768)
p[10:] = 0
add_f32("prior-collapsed-zero6", torch.cdist(g, p, p=1).numpy(), maximize_too=True)

# Errors scipy raises (messages are matched loosely on the TS side).
errors = []
for name, cost, maximize in [
    ("nan", np.array([[1.0, np.nan], [0.0, 2.0]]), False),
    ("neginf", np.array([[1.0, 2.0], [-np.inf, 2.0]]), False),
    ("posinf-maximize", np.array([[1.0, np.inf], [0.0, 2.0]]), True),
    ("infeasible", np.array([[np.inf, np.inf], [0.0, 2.0]]), False),
    ("infeasible-tall", np.array([[np.inf], [np.inf], [np.inf]]), False),
]:
    try:
        linear_sum_assignment(cost, maximize=maximize)
        raise SystemExit(f"scipy accepted the error case {name}")
    except ValueError as e:
        errors.append({"name": name, "shape": list(cost.shape), "maximize": maximize,
                       "data": [None if np.isnan(x) else ("inf" if x == np.inf else "-inf" if x == -np.inf else x)
                                for x in cost.flatten()],
                       "message": str(e)})

os.makedirs(os.path.dirname(OUT), exist_ok=True)
payload = {"scipy": scipy.__version__, "cases": cases, "errors": errors}
# mtime=0: the same inputs give the same bytes, so regenerating leaves git clean.
with open(OUT, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
    f.write(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
print(f"wrote {OUT}: {len(cases)} cases, {len(errors)} error cases, {os.path.getsize(OUT)} bytes")
