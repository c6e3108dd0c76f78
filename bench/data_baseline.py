"""The Python side of the `data` bench suite (bench/data.ts runs it in a fresh process and sends
the same inputs it gives prior-ts). Each mode prints one JSON line.

`tokenize SENTENCES_JSON`: PRIOR's `_tokenizer` on every report (a JSON list of sentence lists,
impression then findings, split once by bench/data.ts): the joined text with max_length=256,
padding='max_length', truncation=False, then each sentence alone for sentence_index, with
transformers' BertTokenizerFast (what PRIOR's AutoTokenizer returns) over the same vocabulary.
Prints {seconds, reports, before, after} (after.peak = peak RSS).

`loader DATASET_JSON --workers N --batch B`: PRIOR's pre-training Dataset as the original writes
it (random image, PIL Resize 224 bilinear, rotation of up to 5 degrees with nearest and fill 0, a
horizontal flip with p=0.5, ToTensor, Normalize, and the `_tokenizer` above) in a
torch.utils.data.DataLoader with N workers and default collation. torchvision is not installed
here, so the transforms are written with PIL and numpy as torchvision applies them to PIL
images. Prints {seconds, images, first_batch_seconds, cpu_seconds, cpu_images}: the time after the first
batch (worker start-up excluded) and the images in it, and the CPU time of this process and its
workers over the whole epoch.

Usage: python bench/data_baseline.py tokenize FILE | loader FILE --workers 2 --batch 32
"""

import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
from PIL import Image

try:  # transformers >= 5: `BertTokenizer` is the Rust-backed one
    from transformers import BertTokenizer as Fast
except ImportError:  # transformers 4.x
    from transformers import BertTokenizerFast as Fast

sys.path.insert(0, os.path.dirname(__file__))
from baseline import memory_mb  # noqa: E402

VOCAB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets", "vocab", "bert-base-uncased.txt")
MAX_LENGTH = 256
MEAN, STD = 0.4755, 0.3011


def prior_tokenizer(tokenizer, sentences):
    random.shuffle(sentences)
    text = "".join(sentences)
    tokens = tokenizer(text, max_length=MAX_LENGTH, padding="max_length", truncation=False, return_tensors="pt")
    input_ids = tokens["input_ids"][0]
    attention_mask = tokens["attention_mask"][0]
    sentence_index = torch.full_like(input_ids, -1)
    pos = 1
    for j, s in enumerate(sentences):
        n = len(tokenizer(s)["input_ids"]) - 2
        sentence_index[pos:pos + n] = j + 1
        pos += n
    return input_ids[:MAX_LENGTH], attention_mask[:MAX_LENGTH], sentence_index[:MAX_LENGTH]


def tokenize(path):
    with open(path, encoding="utf-8") as f:
        reports = json.load(f)
    tokenizer = Fast(VOCAB, do_lower_case=True)
    random.seed(0)
    before = memory_mb()
    t0 = time.perf_counter()
    for sentences in reports:
        prior_tokenizer(tokenizer, list(sentences))
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "reports": len(reports), "before": before, "after": memory_mb()}))


class PretrainDataset(torch.utils.data.Dataset):
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        root = os.path.dirname(os.path.abspath(path))
        self.items = [([os.path.join(root, p) for p in r["image_path"]],
                       r["text_info"]["impression"][1] + r["text_info"]["findings"][1]) for r in data.values()]
        self.tokenizer = Fast(VOCAB, do_lower_case=True)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        paths, sentences = self.items[index]
        img = Image.open(random.choice(paths))
        img = img.resize((224, 224), Image.BILINEAR)
        img = img.rotate(random.uniform(-5, 5), resample=Image.NEAREST, fillcolor=0)
        if random.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        x = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).float().div(255).unsqueeze(0)
        x = (x - MEAN) / STD
        ids, mask, index_ = prior_tokenizer(self.tokenizer, list(sentences))
        return {"image": x, "input_ids": ids, "attention_mask": mask, "sentence_index": index_}


def loader(path, workers, batch):
    torch.manual_seed(0)
    loader_ = torch.utils.data.DataLoader(PretrainDataset(path), batch_size=batch, shuffle=True, num_workers=workers,
                                          drop_last=False)
    cpu0 = os.times()
    t0 = time.perf_counter()
    it = iter(loader_)
    next(it)
    t1 = time.perf_counter()
    images = 0
    for b in it:
        images += b["image"].shape[0]
    seconds = time.perf_counter() - t1
    del it  # shuts the workers down and reaps them, so their CPU time is counted below
    cpu1 = os.times()
    cpu_seconds = sum(getattr(cpu1, k) - getattr(cpu0, k) for k in ("user", "system", "children_user", "children_system"))
    print(json.dumps({"seconds": seconds, "images": images, "first_batch_seconds": t1 - t0, "cpu_seconds": cpu_seconds,
                      "cpu_images": len(loader_.dataset)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["tokenize", "loader"])
    parser.add_argument("file")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.mode == "tokenize":
        tokenize(args.file)
    else:
        loader(args.file, args.workers, args.batch)


if __name__ == "__main__":
    main()
