"""Golden section splits for test/data/mimic.test.ts (run by `npm run fixtures`; standard library only).

Reference: the MIMIC-CXR section parser as PRIOR's builder uses it, re-stated here from spec 3.1
step 3 in Python (the original is Python, so `re`'s `\\s`, `str.strip` and `str.lower` keep their
meaning): header regex `\\n ([A-Z ()/,-]+):\\s`, a preamble before the first header, the next header
looked for only after the first newline following the current one, one "full report" section when
there is no header, names lower-cased, stripped and normalised (table, then the first contained
main section, then the findings-like phrases), whitespace-only impression/findings removed, neither
left -> None, otherwise {impression, findings} with the last section of each name winning.

Inputs:
  * test/fixtures/data/mimic-sections-hand.json: hand-written MIMIC-style reports with expected
    outputs worked out by hand; this script checks its own implementation against them first.
  * ~200 reports of ../shared/data/iu-reports/reports.csv rendered in MIMIC's layout, with the
    header spellings, typos, layouts and whitespace varied by a seeded generator.

Writes test/fixtures/data/mimic-sections.json: [{"id", "text", "expected": {impression, findings} | null}].

Usage: node scripts/python.mjs scripts/gen_fixtures_mimic_sections.py
"""

import csv
import json
import os
import random
import re
import textwrap

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
REPORTS = os.path.join(ROOT, "..", "shared", "data", "iu-reports", "reports.csv")
HAND = os.path.join(ROOT, "test", "fixtures", "data", "mimic-sections-hand.json")
OUT = os.path.join(ROOT, "test", "fixtures", "data", "mimic-sections.json")
COUNT = 200

HEADER = re.compile(r"\n ([A-Z ()/,-]+):\s", re.DOTALL)

# Spec 3.1 step 3: the names that normalise to impression or findings.
TABLE = {
    **{n: "impression" for n in [
        "impression", "conclusion", "findings and impression", "findings/impression",
        "findings/ impression", "impresson", "imprression", "imoression", "impressoin", "imprssion",
        "impresion", "imperssion", "mpression", "impession", "ndication"]},
    **{n: "findings" for n in [
        "findings", "chest, two views", "finding", "findins", "findindgs", "findgings", "findngs",
        "findnings", "finidngs", "reference findings"]},
}
MAIN = ["impression", "findings", "history", "comparison", "addendum"]
FINDINGS_LIKE = re.compile("(" + "|".join([
    "chest", "portable", "pa and lateral", "lateral and pa", "ap and lateral", "lateral and ap",
    "frontal and", "two views", "frontal view", "pa view", "ap view", "one view", "lateral view",
    "bone window", "frontal upright", "frontal semi-upright", "ribs", "pa and lat"]) + ")")


def split_sections(text):
    m = HEADER.search(text, 0)
    if m is None:
        return [("full report", text)]
    out = [("preamble", text[:m.start(1)])]
    while m is not None:
        name = m.group(1).lower()
        start = m.end()
        skip = text[start:].find("\n")
        if skip == -1:
            skip = 0
        m = HEADER.search(text, start + skip)
        out.append((name, text[start:len(text) if m is None else m.start()]))
    return out


def normalise(name):
    name = name.lower().strip()
    if name in TABLE:
        return TABLE[name]
    for main in MAIN:
        if main in name:
            return main
    if FINDINGS_LIKE.search(name):
        return "findings"
    return name


def extract(text):
    sections = [(normalise(n), t) for n, t in split_sections(text)]
    sections = [(n, t) for n, t in sections if not (n in ("impression", "findings") and t.strip() == "")]
    names = [n for n, _ in sections]
    if "impression" not in names and "findings" not in names:
        return None
    by_name = {n: t for n, t in sections}  # the last of each name wins
    return {"impression": by_name.get("impression", ""), "findings": by_name.get("findings", "")}


def wrap(text):
    """A paragraph as MIMIC stores it: lines of ~76 characters, each starting with a space."""
    return "\n ".join(textwrap.wrap(text, width=76, break_long_words=False, break_on_hyphens=False)) or ""


FINDINGS_HEADERS = ["FINDINGS"] * 8 + [
    "FINDING", "FINDNGS", "FINIDNGS", "PA AND LATERAL VIEWS OF THE CHEST", "CHEST, TWO VIEWS",
    "PORTABLE AP CHEST", "REFERENCE FINDINGS", "HISTORY/FINDINGS", "Findings", " FINDINGS",
    "FINDINGS ", "LINES/TUBES"]
IMPRESSION_HEADERS = ["IMPRESSION"] * 8 + [
    "IMPRESSON", "IMPESSION", "CONCLUSION", "IMPRESSION AND RECOMMENDATIONS", "NDICATION",
    "FINDINGS AND IMPRESSION", "FINDINGS/IMPRESSION", "MPRESSION", "Impression", "RECOMMENDATION(S)",
    "ADDENDUM"]
# What follows a header's colon: mostly spaces or a line break; sometimes other whitespace that
# Python's \s accepts (and JavaScript's differs on), or none at all (then it is no header).
AFTER_COLON = ["  ", "  ", " ", " \n \n ", "\n ", "\t", "\xa0", "\x1c", "\x85", "\ufeff", ""]


def section(rng, header, body):
    after = rng.choice(AFTER_COLON)
    indent = "" if rng.random() < 0.04 else " "
    return f"\n{indent}{header}:{after}{wrap(body)}\n \n"


def synthesise(rng, row):
    findings, impression = row["findings"].strip(), row["impression"].strip()
    text = "                                 FINAL REPORT\n EXAMINATION:  CHEST (PA AND LAT)\n \n"
    text += f" INDICATION:  {wrap(row['indication'].strip() or '___')}\n \n"
    if rng.random() < 0.5:
        text += " TECHNIQUE:  Chest PA and lateral\n \n"
    text += f" COMPARISON:  {wrap(row['comparison'].strip() or 'None.')}\n"
    parts = []
    if findings or rng.random() < 0.3:
        parts.append(section(rng, rng.choice(FINDINGS_HEADERS), findings))
    if impression or rng.random() < 0.3:
        parts.append(section(rng, rng.choice(IMPRESSION_HEADERS), impression))
    if rng.random() < 0.15:
        parts.reverse()
    if rng.random() < 0.15:  # a duplicated section: empty, or a short second text
        extra = rng.choice(["", "Interval change.", "No change from prior."])
        parts.insert(rng.randrange(len(parts) + 1), section(rng, rng.choice(["FINDINGS", "IMPRESSION"]), extra))
    if rng.random() < 0.1:
        parts.append(section(rng, "NOTIFICATION", "The findings were discussed with Dr. ___ by telephone."))
    text += "".join(parts)
    if rng.random() < 0.1:  # a report with no header at all
        text = f"{findings} {impression}".strip()
    return text


def main():
    with open(HAND, encoding="utf-8") as f:
        hand = json.load(f)
    for case in hand:
        got = extract(case["text"])
        assert got == case["expected"], f"hand case {case['id']}: {got!r} != {case['expected']!r}"

    with open(REPORTS, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rng = random.Random(20231001)
    picked = sorted(rng.sample(range(len(rows)), COUNT))
    cases = [{"id": case["id"], "text": case["text"], "expected": extract(case["text"])} for case in hand]
    for i in picked:
        text = synthesise(rng, rows[i])
        cases.append({"id": rows[i]["report_id"], "text": text, "expected": extract(text)})

    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(cases, f, indent=0, ensure_ascii=False)
        f.write("\n")
    kinds = {"none": 0, "both": 0, "impression only": 0, "findings only": 0}
    for c in cases:
        e = c["expected"]
        kinds["none" if e is None else "both" if e["impression"] and e["findings"] else "impression only" if e["impression"] else "findings only"] += 1
    print(f"wrote {OUT}: {len(cases)} reports ({os.path.getsize(OUT)} bytes), {kinds}")


if __name__ == "__main__":
    main()
