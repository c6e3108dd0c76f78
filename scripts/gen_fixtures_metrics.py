#!/usr/bin/env python3
"""Golden fixtures for src/eval/metrics, replayed by test/eval/metrics.test.ts.

References: scikit-learn (classification, ROC/AUROC), pycocotools (box IoU, COCO AP), numpy
written from the definitions where no library owns the metric (Precision/Recall@K with the
stable tie order, Dice with both-empty = 1, torchvision's box_iou formula).
Install the two libraries from the local index if missing:
  .venv/bin/pip install --index-url file:///opt/pypi/simple ... scikit-learn pycocotools

Writes test/fixtures/eval/metrics.json.
Run: node scripts/python.mjs scripts/gen_fixtures_metrics.py
"""
import contextlib
import io
import json
import os
import warnings

import numpy as np
import sklearn
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from pycocotools import mask as mask_utils
from sklearn.metrics import (accuracy_score, classification_report, cohen_kappa_score, confusion_matrix,
                             precision_recall_fscore_support, roc_auc_score, roc_curve)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "eval", "metrics.json")
warnings.simplefilter("ignore")
rng = np.random.default_rng(8)


def fl(xs):
    """JSON-safe floats: NaN/inf as strings."""
    out = []
    for x in np.asarray(xs, dtype=np.float64).flatten():
        out.append("nan" if np.isnan(x) else "inf" if x == np.inf else "-inf" if x == -np.inf else float(x))
    return out


def fnum(x):
    return fl([x])[0]


# ---- classification ---------------------------------------------------------------------------
classification = []


def add_cls(name, y_true, y_pred, n_classes, target_names=None, digits=(5,)):
    y_true = [int(v) for v in y_true]
    y_pred = [int(v) for v in y_pred]
    labels = list(range(n_classes))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    avg = {}
    for a in ("macro", "weighted"):
        ap, ar, af, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=a, zero_division=0)
        avg[a] = {"precision": fnum(ap), "recall": fnum(ar), "f1": fnum(af)}
    kappa = cohen_kappa_score(y_true, y_pred, labels=labels)
    reports = {str(d): classification_report(y_true, y_pred, labels=labels, target_names=target_names,
                                             digits=d, zero_division=0) for d in digits}
    classification.append({
        "name": name, "nClasses": n_classes, "yTrue": y_true, "yPred": y_pred, "targetNames": target_names,
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "accuracy": fnum(accuracy_score(y_true, y_pred)),
        "precision": fl(p), "recall": fl(r), "f1": fl(f), "support": [int(v) for v in s],
        "macro": avg["macro"], "weighted": avg["weighted"], "kappa": fnum(kappa), "reports": reports,
    })


# Class 3 never occurs at all; class 2 is predicted but never true.
add_cls("empty-class", [0, 0, 1, 1, 1, 0, 1, 0], [0, 1, 1, 2, 1, 0, 0, 2], 4, digits=(2, 5))
add_cls("random-5x200", rng.integers(0, 5, 200), rng.integers(0, 5, 200), 5,
        target_names=["Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Pleural Effusion"], digits=(2, 5))
yt = rng.integers(0, 3, 300)
yp = np.where(rng.random(300) < 0.7, yt, rng.integers(0, 3, 300))
add_cls("mostly-right-3x300", yt, yp, 3, target_names=["normal", "covid", "pneumonia"])
add_cls("all-one-true-class", [1] * 10, [1, 1, 0, 1, 2, 1, 1, 1, 0, 1], 3)
add_cls("all-same-single-class", [2] * 6, [2] * 6, 3)  # kappa undefined -> nan
add_cls("perfect", [0, 1, 2, 0, 1, 2], [0, 1, 2, 0, 1, 2], 3)
# precision of class 1 = 1/64 = 0.015625: a float that sits exactly on a 5-digit rounding tie.
add_cls("rounding-tie", [1] + [0] * 63 + [1], [1] * 64 + [0], 2, digits=(2, 4, 5))

# ---- ROC / AUROC ------------------------------------------------------------------------------
roc = []
for name, y, s in [
    ("ties", [0, 0, 1, 1, 1, 0, 1, 0, 1, 1], [0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.8, 0.1, 0.1, 0.9]),
    ("random-quantised", rng.integers(0, 2, 60), np.round(rng.random(60) * 8) / 8),
    ("random-continuous", rng.integers(0, 2, 40), rng.random(40)),
    ("all-tied", [0, 1, 1, 0], [0.5, 0.5, 0.5, 0.5]),
    ("perfect", [0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]),
]:
    y = [int(v) for v in y]
    s = [float(v) for v in s]
    case = {"name": name, "yTrue": y, "yScore": s, "auc": fnum(roc_auc_score(y, s))}
    for drop in (True, False):
        fpr, tpr, thr = roc_curve(y, s, drop_intermediate=drop)
        case["drop" if drop else "full"] = {"fpr": fl(fpr), "tpr": fl(tpr), "thresholds": fl(thr)}
    roc.append(case)
# One label only: sklearn refuses AUROC; the curve has NaN rates.
fpr, tpr, thr = roc_curve([1, 1, 1], [0.2, 0.3, 0.3], drop_intermediate=False)
roc_one_class = {"yTrue": [1, 1, 1], "yScore": [0.2, 0.3, 0.3], "fpr": fl(fpr), "tpr": fl(tpr), "thresholds": fl(thr)}


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


auroc = []
for name, n, c, absent in [("ovr-all-present", 80, 4, None), ("ovr-class-absent", 60, 4, 2)]:
    y = rng.integers(0, c, n)
    if absent is not None:
        y[y == absent] = (absent + 1) % c
    probs = np.round(softmax(rng.normal(size=(n, c)) + 1.5 * np.eye(c)[y]), 3)  # rounding makes ties
    per = [roc_auc_score((y == k).astype(int), probs[:, k]) if len(np.unique(y == k)) == 2 else np.nan for k in range(c)]
    case = {"name": name, "kind": "ovr", "nClasses": c, "yTrue": y.tolist(), "scores": fl(probs),
            "perClass": fl(per), "macro": fnum(np.nanmean(per))}
    if absent is None:
        p = probs / probs.sum(axis=1, keepdims=True)
        case["sklearnOvrMacro"] = fnum(roc_auc_score(y, p, multi_class="ovr", average="macro"))
        case["scoresNormalised"] = fl(p)
    auroc.append(case)
t = rng.integers(0, 2, (50, 5))
t[:, 3] = 0  # a finding nobody has: undefined
s = np.round(rng.random((50, 5)) * 10) / 10
per = [roc_auc_score(t[:, k], s[:, k]) if len(np.unique(t[:, k])) == 2 else np.nan for k in range(5)]
auroc.append({"name": "multilabel-constant-column", "kind": "multilabel", "nClasses": 5, "targets": t.flatten().tolist(),
              "scores": fl(s), "perClass": fl(per), "macro": fnum(np.nanmean(per)),
              "sklearnMacroWithoutColumn3": fnum(roc_auc_score(np.delete(t, 3, 1), np.delete(s, 3, 1), average="macro"))})

# ---- retrieval (numpy, from the definitions) ---------------------------------------------------
def retrieval_ref(scores, relevant, ks):
    order = np.argsort(-scores, axis=1, kind="stable")  # descending, ties by candidate index
    prec = {k: [] for k in ks}
    rec = {k: [] for k in ks}
    for q in range(scores.shape[0]):
        rel = np.zeros(scores.shape[1], dtype=bool)
        rel[list(relevant[q])] = True
        hits = np.cumsum(rel[order[q]])
        for k in ks:
            h = hits[min(k, scores.shape[1]) - 1]
            prec[k].append(h / k)
            if rel.sum() > 0:
                rec[k].append(h / rel.sum())
    return ({str(k): float(np.mean(prec[k])) for k in ks},
            {str(k): (float(np.mean(rec[k])) if rec[k] else "nan") for k in ks})


retrieval = []
# CheXpert 5x200 shape in miniature: 5 classes x 8 texts, 30 images; quantised scores make ties.
cand_class = np.repeat(np.arange(5), 8)
query_class = rng.integers(0, 5, 30)
sc = np.round(rng.normal(size=(30, 40)) + 0.8 * (query_class[:, None] == cand_class[None, :]), 1)
rel = [np.flatnonzero(cand_class == query_class[q]).tolist() for q in range(30)]
p, r = retrieval_ref(sc, rel, [1, 5, 10])
retrieval.append({"name": "class-5x8", "kind": "class", "scores": fl(sc), "nQueries": 30, "nCandidates": 40,
                  "queryClass": query_class.tolist(), "candidateClass": cand_class.tolist(), "relevant": rel,
                  "precision": p, "recall": r})
# Instance retrieval with duplicated report texts (two images share "no acute findings").
texts = [f"report {i}" for i in range(12)]
texts[7] = texts[3] = "no acute findings"
query_text = texts[:10]
sc = np.round(rng.normal(size=(10, 12)), 1)
for q in range(10):
    sc[q, q] += 1.0
rel = [[j for j in range(12) if texts[j] == query_text[q]] for q in range(10)]
p, r = retrieval_ref(sc, rel, [1, 5, 10, 20])
retrieval.append({"name": "instance-dup", "kind": "instance", "scores": fl(sc), "nQueries": 10, "nCandidates": 12,
                  "queryText": query_text, "candidateText": texts, "relevant": rel, "ks": [1, 5, 10, 20],
                  "precision": p, "recall": r})
# All scores tied: the ranking is candidate order.
sc = np.zeros((3, 6))
rel = [[5], [0, 1], []]
p, r = retrieval_ref(sc, rel, [1, 5])
retrieval.append({"name": "all-tied", "kind": "lists", "scores": fl(sc), "nQueries": 3, "nCandidates": 6, "relevant": rel,
                  "ks": [1, 5], "precision": p, "recall": r})

# ---- segmentation (numpy, from the definition) -------------------------------------------------
def dice_ref(p, t):
    s = p.sum() + t.sum()
    return 1.0 if s == 0 else float(2 * np.logical_and(p, t).sum() / s)


segmentation = []
probs = [np.round(rng.random((16, 16)), 2) for _ in range(3)] + [np.zeros((16, 16)), np.full((16, 16), 0.5), np.full((16, 16), 0.9)]
targets = [(rng.random((16, 16)) < 0.4).astype(np.uint8) for _ in range(3)] + [np.zeros((16, 16), np.uint8)] * 2 + [np.zeros((16, 16), np.uint8)]
for thr in (0.5, 0.3):
    per = [dice_ref(pr > thr, tg > 0) for pr, tg in zip(probs, targets)]
    segmentation.append({"threshold": thr, "probs": [fl(x) for x in probs], "targets": [x.flatten().tolist() for x in targets],
                         "perImage": per, "mean": float(np.mean(per))})

# ---- detection: IoU (pycocotools / torchvision formula) and COCO AP (pycocotools) --------------
boxes_a = np.round(rng.random((6, 4)) * [50, 50, 40, 40], 1) + [0, 0, 1, 1]
boxes_b = np.round(rng.random((5, 4)) * [50, 50, 40, 40], 1) + [0, 0, 1, 1]
boxes_a[0] = [0, 0, 10, 5]
boxes_b[0] = [0, 0, 10, 10]  # IoU exactly 0.5
iou_xywh = mask_utils.iou(boxes_a.tolist(), boxes_b.tolist(), [0] * 5)
xa = np.concatenate([boxes_a[:, :2], boxes_a[:, :2] + boxes_a[:, 2:]], 1)
xb = np.concatenate([boxes_b[:, :2], boxes_b[:, :2] + boxes_b[:, 2:]], 1)
area_a = (xa[:, 2] - xa[:, 0]) * (xa[:, 3] - xa[:, 1])
area_b = (xb[:, 2] - xb[:, 0]) * (xb[:, 3] - xb[:, 1])
lt = np.maximum(xa[:, None, :2], xb[None, :, :2])
rb = np.minimum(xa[:, None, 2:], xb[None, :, 2:])
wh = np.clip(rb - lt, 0, None)
inter = wh[..., 0] * wh[..., 1]
iou_xyxy = inter / (area_a[:, None] + area_b[None, :] - inter)
iou_case = {"xywhA": boxes_a.tolist(), "xywhB": boxes_b.tolist(), "xyxyA": xa.tolist(), "xyxyB": xb.tolist(),
            "iouXywh": fl(iou_xywh), "iouXyxy": fl(iou_xyxy)}


def coco_ap(images, n_classes, thresholds):
    """images: [{gt: [(box, label)], dt: [(box, label, score)]}] with xywh boxes. AP per (threshold, class)."""
    gt = {"images": [{"id": i + 1} for i in range(len(images))], "categories": [{"id": c + 1} for c in range(n_classes)],
          "annotations": []}
    dts = []
    for i, im in enumerate(images):
        for box, label in im["gt"]:
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": i + 1, "category_id": label + 1,
                                      "bbox": list(box), "area": box[2] * box[3], "iscrowd": 0})
        for box, label, score in im["dt"]:
            dts.append({"image_id": i + 1, "category_id": label + 1, "bbox": list(box), "score": score})
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = gt
        coco.createIndex()
        res = coco.loadRes(dts) if dts else COCO()
        ev = COCOeval(coco, res, "bbox")
        ev.params.iouThrs = np.array(thresholds)
        ev.params.areaRng = [[0, 1e10]]
        ev.params.areaRngLbl = ["all"]
        ev.evaluate()
        ev.accumulate()
    prec = ev.eval["precision"][:, :, :, 0, -1]  # [T, R, K] at maxDets 100
    out = []
    for t in range(len(thresholds)):
        row = []
        for k in range(n_classes):
            q = prec[t, :, k]
            row.append(float(np.mean(q)) if (q > -1).all() else "nan")
        out.append(row)
    return out


def random_images(n_images, n_classes, quantise):
    images = []
    for _ in range(n_images):
        gts, dts = [], []
        for _ in range(rng.integers(0, 4)):
            x, y = rng.random(2) * 80
            w, h = rng.random(2) * 30 + 10
            box = [round(float(x), 1), round(float(y), 1), round(float(w), 1), round(float(h), 1)]
            label = int(rng.integers(0, n_classes))
            gts.append((box, label))
            # Noisy detections around each ground truth box, sometimes with the wrong label.
            for _ in range(rng.integers(0, 3)):
                jit = rng.normal(size=4) * 2
                b = [round(float(v), 1) for v in np.array(box) + jit]
                b[2], b[3] = max(b[2], 1.0), max(b[3], 1.0)
                lab = label if rng.random() < 0.8 else int(rng.integers(0, n_classes))
                dts.append((b, lab, float(np.round(rng.random(), quantise))))
        for _ in range(rng.integers(0, 3)):  # false positives
            x, y = rng.random(2) * 80
            dts.append(([round(float(x), 1), round(float(y), 1), 10.0, 12.0], int(rng.integers(0, n_classes)),
                        float(np.round(rng.random(), quantise))))
        images.append({"gt": gts, "dt": dts})
    return images


rsna = [round(0.40 + 0.05 * i, 2) for i in range(8)]
detection = []
for name, images, n_classes, thresholds in [
    ("random-3class", random_images(20, 3, 3), 3, rsna + [0.5]),
    ("tied-scores", random_images(10, 2, 1), 2, rsna),
    # Class 1 has detections but no ground truth (excluded), class 2 ground truth but no detections (AP 0);
    # the detection of image 0 overlaps its ground truth at exactly IoU 0.5.
    ("edge", [{"gt": [([0, 0, 10, 10], 0), ([50, 50, 10, 10], 2)], "dt": [([0, 0, 10, 5], 0, 0.9), ([5, 5, 5, 5], 1, 0.8)]},
              {"gt": [([20, 20, 10, 10], 0)], "dt": [([20, 20, 10, 10], 0, 0.9), ([21, 20, 10, 10], 0, 0.9)]},
              {"gt": [], "dt": []}], 3, [0.45, 0.5, 0.55]),
]:
    detection.append({"name": name, "nClasses": n_classes, "iouThresholds": thresholds, "images": images,
                      "ap": coco_ap(images, n_classes, thresholds)})

os.makedirs(os.path.dirname(OUT), exist_ok=True)
payload = {"sklearn": sklearn.__version__, "classification": classification, "roc": roc, "rocOneClass": roc_one_class,
           "auroc": auroc, "retrieval": retrieval, "segmentation": segmentation, "iou": iou_case, "detection": detection,
           "rsnaThresholds": rsna}
with open(OUT, "w") as f:
    json.dump(payload, f, separators=(",", ":"))
print(f"wrote {OUT}: {os.path.getsize(OUT)} bytes")
