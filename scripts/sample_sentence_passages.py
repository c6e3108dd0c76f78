"""Pick the passages of the hand-labelled sentence set (test/fixtures/data/sentences-gold.json).

Seeded sample of findings/impression texts from ../shared/data/iu-reports/reports.csv: 105 drawn
uniformly, plus 50 drawn from the "hard" ones (numbered lists, decimals, abbreviation-like tokens,
a full stop without a following space). Without arguments it prints one passage per block for
the annotator. With `--labels FILE` (the annotator's file: `#<n>` then one sentence per line, typed
by hand, never produced by a splitter) it writes test/fixtures/data/sentences-gold.json, after
checking that each passage's sentences, in order, spell out exactly its text (catches typing slips).
"""
import json
import csv
import random
import re
import sys
from pathlib import Path

CSV = Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'iu-reports' / 'reports.csv'
HARD = re.compile(r'(\b\d\.\s)|(\d\.\d)|(\b(Dr|vs|approx|e\.g|i\.e|cm|mm|No|St|Mr|Ms|prox)\.)|([a-z]\.[A-Z])', re.I)

passages = []
with CSV.open(newline='', encoding='utf-8') as f:
    for row in csv.DictReader(f):
        for field in ('findings', 'impression'):
            if row[field].strip():
                passages.append((row['report_id'], field, row[field]))

rng = random.Random(20240606)
uniform = rng.sample(passages, 105)
taken = {(p[0], p[1]) for p in uniform}
hard_pool = [p for p in passages if HARD.search(p[2]) and (p[0], p[1]) not in taken]
hard = rng.sample(hard_pool, 50)
chosen = [(rid, field, text, 'uniform' if i < len(uniform) else 'hard')
          for i, (rid, field, text) in enumerate(uniform + hard)]

GUIDELINE = [
    'A sentence ends at a full stop, question mark or exclamation mark that ends a clause or a '
    'verbless finding ("COPD.", "Chest.", "KUB." are sentences: section-like fragments count).',
    'A full stop inside a number (2.5 cm, 1.0 cm) or after an abbreviation does not end a sentence.',
    'A numbered list marker ("1.", "2.") starts a sentence and belongs to it; a list item is a sentence '
    'even without final punctuation (it ends where the next marker starts); an item with several '
    'full stops holds several sentences, the marker staying with the first.',
    'A full stop with no space after it ("limits.The") still ends the sentence.',
    'Stray punctuation that starts no new clause ("abnormality. .", "effusion..") stays with the '
    'sentence before it.',
    'De-identification placeholders (XXXX) are ordinary words.',
    'Text after the last boundary is a sentence even without final punctuation.',
]


def load_labels(path):
    labels, cur = {}, None
    for line in Path(path).read_text(encoding='utf-8').splitlines():
        if line.startswith('#'):
            cur = int(line[1:])
            labels[cur] = []
        elif line.strip():
            labels[cur].append(line.strip())
    return labels


def check(text, sentences, n):
    pos = 0
    for s in sentences:
        at = text.find(s, pos)
        if at < 0 or text[pos:at].strip():
            raise SystemExit(f'passage #{n}: sentence not found in order: {s!r}')
        pos = at + len(s)
    if text[pos:].strip():
        raise SystemExit(f'passage #{n}: unlabelled tail {text[pos:]!r}')


if len(sys.argv) == 3 and sys.argv[1] == '--labels':
    labels = load_labels(sys.argv[2])
    out = []
    for n, (rid, field, text, pool) in enumerate(chosen):
        check(text, labels[n], n)
        out.append({'report_id': rid, 'field': field, 'pool': pool, 'text': text, 'sentences': labels[n]})
    dest = Path(__file__).resolve().parents[1] / 'test' / 'fixtures' / 'data' / 'sentences-gold.json'
    doc = {
        'how_made': 'Passages sampled by scripts/sample_sentence_passages.py (seed 20240606: 105 uniform over '
                    'all non-empty findings/impression texts of ../shared/data/iu-reports/reports.csv, 50 from '
                    'the "hard" ones). Sentences typed by a human annotator reading each passage, before any '
                    'splitter existed; the script only checks that they spell out the passage text.',
        'guideline': GUIDELINE,
        'passages': out,
    }
    dest.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    print(f'wrote {len(out)} passages, {sum(len(p["sentences"]) for p in out)} sentences to {dest}')
else:
    for n, (rid, field, text, pool) in enumerate(chosen):
        print(f'#{n} {rid} {field} {pool}\n{text}\n')
    print(len(passages), len(hard_pool), file=sys.stderr)
