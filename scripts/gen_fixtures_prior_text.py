"""Golden text items for test/data/prior-text.test.ts (run by `npm run fixtures`).

Reproduces the ORIGINAL PRIOR `MimicCxrDataset._tokenizer` (spec 3.2 step 2) with transformers'
fast BERT tokenizer over the committed vocabulary, for fixed, already-shuffled sentence lists
drawn from the real IU reports (../shared/data/iu-reports/reports.csv). The shuffle itself is not
part of the golden (our Rng is not Python's `random`): the test feeds the same order.

Each case is computed for both joins: '' (the original, bug B15) and ' ' (the intended variant).

Writes test/fixtures/data/prior-text.json: {cases: [{name, sentences, join, input_ids,
attention_mask, sentence_index}]}, each array of length 256.

Usage: node scripts/python.mjs scripts/gen_fixtures_prior_text.py
"""

import csv
import json
import os
import random
import re

try:  # transformers >= 5: `BertTokenizer` is the Rust-backed one
    from transformers import BertTokenizer as Fast
except ImportError:  # transformers 4.x
    from transformers import BertTokenizerFast as Fast

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
VOCAB = os.path.join(ROOT, "assets", "vocab", "bert-base-uncased.txt")
REPORTS = os.path.join(ROOT, "..", "shared", "data", "iu-reports", "reports.csv")
OUT = os.path.join(ROOT, "test", "fixtures", "data", "prior-text.json")
MAX_LENGTH = 256


def prior_tokenizer(tokenizer, sentences, join):
    """The original `_tokenizer` after its `random.shuffle` (the order is given), in numpy-free Python."""
    text = join.join(sentences)
    tokens = tokenizer(text, max_length=MAX_LENGTH, padding="max_length", truncation=False)
    input_ids = list(tokens["input_ids"])
    attention_mask = list(tokens["attention_mask"])
    # torch.full_like(input_ids, -1), then slice assignment (slices clip at the array end)
    sentence_index = [-1] * len(input_ids)
    pos = 1
    for j, sentence in enumerate(sentences):
        n = len(tokenizer(sentence)["input_ids"]) - 2
        for k in range(pos, min(pos + n, len(sentence_index))):
            sentence_index[k] = j + 1
        pos += n
    # truncated to 256 by hand: a long text loses its [SEP]
    return input_ids[:MAX_LENGTH], attention_mask[:MAX_LENGTH], sentence_index[:MAX_LENGTH]


def split_sentences(text):
    """A plain split after . ! ? (the fixture needs real sentences, not our splitter's)."""
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]


def read_reports():
    with open(REPORTS, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        sentences = split_sentences(row["impression"]) + split_sentences(row["findings"])
        if sentences:
            out.append((row["report_id"], sentences))
    return out


def main():
    tokenizer = Fast(VOCAB, do_lower_case=True)
    reports = read_reports()
    rng = random.Random(114514)
    cases = []

    def add(name, sentences):
        for join, tag in (("", "none"), (" ", "space")):
            ids, mask, index = prior_tokenizer(tokenizer, sentences, join)
            cases.append({"name": name, "join": tag, "sentences": sentences, "input_ids": ids,
                          "attention_mask": mask, "sentence_index": index})

    # ordinary reports, shuffled once with a fixed seed
    for report_id, sentences in rng.sample(reports, 8):
        s = list(sentences)
        rng.shuffle(s)
        add(f"{report_id}_shuffled", s)
    # sentences without final punctuation (B15): real report sentences ending in a word
    unpunctuated = [(rid, s) for rid, s in reports if any(not re.search(r"[.!?]$", x) for x in s[:-1])]
    for report_id, sentences in unpunctuated[:4]:
        add(f"{report_id}_unpunctuated", list(sentences))
    # a report over 256 tokens: the longest IU report, then the cut drops [SEP]
    long_id, long_sentences = max(reports, key=lambda r: len(tokenizer("".join(r[1]))["input_ids"]))
    assert len(tokenizer("".join(long_sentences))["input_ids"]) > MAX_LENGTH, "no IU report over 256 tokens"
    add(f"{long_id}_long", list(long_sentences))
    # a long report built from real sentences whose last sentence straddles position 256
    pool = [s for _, ss in reports[:200] for s in ss]
    add("many_sentences_long", pool[:60])
    # a single-sentence report
    single_id, single = next((rid, s) for rid, s in reports if len(s) == 1)
    add(f"{single_id}_single", list(single))
    # spec 14's invariant, both orders, and the B15 variant without the final stop
    add("spec14_no_effusion_heart", ["No effusion.", "Heart is normal."])
    add("spec14_heart_no_effusion", ["Heart is normal.", "No effusion."])
    add("spec14_unpunctuated", ["No effusion", "Heart is normal."])
    # an empty sentence in the list (the original counts it: its index is used by no token)
    add("empty_sentence_inside", ["No effusion.", "", "Heart is normal."])

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"vocab": "assets/vocab/bert-base-uncased.txt", "max_length": MAX_LENGTH, "cases": cases}, f,
                  separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
