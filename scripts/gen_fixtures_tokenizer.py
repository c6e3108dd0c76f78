"""Golden ids for test/data/tokenizer.test.ts (run by `npm run fixtures`; needs `transformers`
and `tokenizers` in the venv: `.venv/bin/pip install transformers tokenizers`).

Reference: Hugging Face's pure-Python BERT tokenizer (BasicTokenizer + WordpieceTokenizer; in
transformers >= 5 it is `BertTokenizerLegacy`, before that `BertTokenizer`). Every output is also
computed with the Rust-backed fast tokenizer (PRIOR's `AutoTokenizer` returns a
`BertTokenizerFast`) and the two must agree, so the goldens hold for both.

Writes test/fixtures/tokenizer/:
  * golden.json.gz: for every row of ../shared/data/iu-reports/reports.csv the ids of the findings
    and impression texts (special tokens, no padding), and PRIOR's call (spec 2.1) on
    impression + findings joined with no separator: max_length=256, padding='max_length',
    truncation=False, then cut to 256 by hand; plus the unit-test cases below.
  * tiny-cased/tokenizer.json: a small cased vocabulary saved by the fast tokenizer, to test
    loading from tokenizer.json.

Usage: node scripts/python.mjs scripts/gen_fixtures_tokenizer.py
"""

import csv
import gzip
import hashlib
import json
import os
import tempfile

import transformers

try:  # transformers >= 5: `BertTokenizer` is the Rust-backed one
    from transformers import BertTokenizer as Fast
    from transformers import BertTokenizerLegacy as Slow
except ImportError:  # transformers 4.x
    from transformers import BertTokenizer as Slow
    from transformers import BertTokenizerFast as Fast

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
VOCAB = os.path.join(ROOT, "assets", "vocab", "bert-base-uncased.txt")
REPORTS = os.path.join(ROOT, "..", "shared", "data", "iu-reports", "reports.csv")
OUT = os.path.join(ROOT, "test", "fixtures", "tokenizer")
PRIOR_MAX_LENGTH = 256

# Unit-test cases: (name, text or list of texts, tokenizer options, call options).
LONG = " ".join(["the heart size is normal."] * 60)
CASES = [
    ("accents", "Héllo Wörld, café naïve Ångström résumé Ñandú", {}, {}),
    ("accents_no_lowercase", "Héllo Wörld, café naïve Ångström", {"do_lower_case": False}, {}),
    ("accents_kept", "Héllo café naïve", {"strip_accents": False}, {}),
    ("punctuation", "Hello, world! (a-b) [x]... $5 & 'q' \"dq\" a/b ~^` 5.2cm; T7-T8 x:y", {}, {}),
    ("cjk", "中文字符 テスト 한국어 mixed中文text", {}, {}),
    ("control_chars", "a\u0000b c\ufffdd e\u0007f g\th\r\ni\u00a0j k\u200bl", {}, {}),
    ("long_words", "a" * 100 + " " + "a" * 101 + " " + "supercalifragilistic" * 6, {}, {}),
    ("unknown_chars", "snow \u2603 man \U0001F600 ok", {}, {}),
    ("xxxx_deid", "XXXX XXXX-year-old with XXXX. No pneumothorax.", {}, {}),
    ("empty", "", {}, {}),
    ("truncate", "The lungs are clear bilaterally without focal consolidation.", {},
     {"max_length": 8, "truncation": True, "padding": "max_length"}),
    ("pad", "Heart size normal.", {}, {"max_length": 12, "padding": "max_length"}),
    ("prior_long", LONG, {},
     {"max_length": PRIOR_MAX_LENGTH, "padding": "max_length", "truncation": False}),
    ("batch_longest", ["No acute disease.", "The heart is normal in size. Lungs are clear.", "Ok"], {},
     {"padding": "longest"}),
    ("batch_truncate", ["No acute disease.", "The heart is normal in size. Lungs are clear."], {},
     {"padding": "max_length", "truncation": True, "max_length": 6}),
]


def encode_both(slow, fast, text, **call):
    """Encodes with both tokenizers; fails loudly if they disagree."""
    outs = []
    for tok in (slow, fast):
        enc = tok(text, return_token_type_ids=False, **call)
        outs.append({"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]})
    assert outs[0] == outs[1], f"slow and fast tokenizers disagree on {text!r}: {outs}"
    return outs[0]


def ids_of(slow, fast, text):
    return encode_both(slow, fast, text)["input_ids"] if text else None


def prior_call(slow, fast, text):
    """PRIOR's `_tokenizer` call (spec 2.1): no truncation, then cut to 256 by hand (drops [SEP])."""
    enc = encode_both(slow, fast, text, max_length=PRIOR_MAX_LENGTH, padding="max_length", truncation=False)
    return {k: v[:PRIOR_MAX_LENGTH] for k, v in enc.items()}


def make_pair(**opts):
    return Slow(VOCAB, **opts), Fast(vocab=VOCAB, **opts)


def tiny_tokenizer_json(path):
    """A 60-token cased vocabulary, saved by the fast tokenizer as tokenizer.json."""
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "The", "the", "heart", "is", "normal",
             "Normal", "size", "lungs", "are", "clear", ".", ",", "!", "no", "No", "acute",
             "disease", "##s", "##ed", "##ing", "pneum", "##o", "##thorax", "H", "##é", "e",
             "##llo", "café", "caf", "##e", "cafe"]
    with tempfile.TemporaryDirectory() as tmp:
        vocab = os.path.join(tmp, "vocab.txt")
        with open(vocab, "w", encoding="utf-8") as f:
            f.write("\n".join(words) + "\n")
        fast = Fast(vocab=vocab, do_lower_case=False)
        slow = Slow(vocab, do_lower_case=False)
        fast.backend_tokenizer.save(path)
    text = "The heart size is Normal, lungs are clear. No pneumothorax! Héllo café hearts the"
    return {"text": text, **encode_both(slow, fast, text)}


def main():
    os.makedirs(os.path.join(OUT, "tiny-cased"), exist_ok=True)
    with open(VOCAB, "rb") as f:
        vocab_sha = hashlib.sha256(f.read()).hexdigest()
    slow, fast = make_pair()

    reports = []
    with open(REPORTS, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            findings, impression = row["findings"], row["impression"]
            reports.append({
                "id": row["report_id"],
                "findings": ids_of(slow, fast, findings),
                "impression": ids_of(slow, fast, impression),
                # spec 3.2: impression sentences, then findings sentences, joined with no separator
                "prior": prior_call(slow, fast, impression + findings),
            })

    cases = []
    for name, text, opts, call in CASES:
        s, fa = make_pair(**opts) if opts else (slow, fast)
        cases.append({"name": name, "text": text, "options": opts, "call": call,
                      **encode_both(s, fa, text, **call)})

    tiny = tiny_tokenizer_json(os.path.join(OUT, "tiny-cased", "tokenizer.json"))
    golden = {"transformers": transformers.__version__, "vocab_sha256": vocab_sha,
              "reports": reports, "cases": cases, "tiny_cased": tiny}
    data = json.dumps(golden, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    with open(os.path.join(OUT, "golden.json.gz"), "wb") as raw:
        # mtime=0: the same inputs give the same bytes
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
            f.write(data)
    print(f"{len(reports)} reports, {len(cases)} cases -> {OUT}")


if __name__ == "__main__":
    main()
