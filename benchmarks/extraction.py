"""Main-text extraction quality on the fixture web's HTML pages, against hand-written gold text.

The pages (``tests/tools/web_fixtures.py``) wrap an article in navigation, a cookie banner,
advertisements, a newsletter box, related links, sidebars, comments and a footer. The gold
files in ``benchmarks/extraction_gold/`` hold the article only (title, headings, paragraphs,
list items, table cells, code; no byline), written by hand from the pages.

Score: token F1 between the extracted text and the gold text, over bags of lower-cased
word tokens. Compared: `extract_main_text` (trafilatura, tuned for recall, with the
whole-page fallback) and a naive baseline that drops <script>/<style>, strips every tag
with a regex, unescapes entities and collapses whitespace.

    python benchmarks/extraction.py

Runs in about a second.
"""

from __future__ import annotations

import html
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.tools.web_fixtures

from codehelm.tools.extract import extract_main_text  # noqa: E402
from tests.tools.web_fixtures import PAGES  # noqa: E402

GOLD = Path(__file__).with_name("extraction_gold")


def naive_text(page: bytes) -> str:
    """Every piece of text in the page: what a reader gets without main-content extraction."""
    text = page.decode("utf-8", errors="replace")
    text = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", text, flags=re.S | re.I)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def tokens(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.lower()))


def token_f1(predicted: str, gold: str) -> float:
    pred, ref = tokens(predicted), tokens(gold)
    overlap = sum((pred & ref).values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / sum(pred.values()), overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def main() -> None:
    rows = []
    for page in PAGES:
        gold_file = GOLD / f"{page.slug}.txt"
        if not page.content_type.startswith("text/html") or not gold_file.exists():
            continue
        gold = gold_file.read_text(encoding="utf-8")
        extracted = extract_main_text(page.body, content_type=page.content_type, source=page.path)
        rows.append((page.slug, token_f1(extracted, gold), token_f1(naive_text(page.body), gold)))
    print(f"{'page':<14}{'extract_main_text':>19}{'naive':>8}{'ratio':>8}")
    for slug, ours, naive in rows:
        print(f"{slug:<14}{ours:>19.3f}{naive:>8.3f}{ours / naive:>8.2f}")
    mean_ours = statistics.mean(row[1] for row in rows)
    mean_naive = statistics.mean(row[2] for row in rows)
    print(f"{'mean':<14}{mean_ours:>19.3f}{mean_naive:>8.3f}{mean_ours / mean_naive:>8.2f}")


if __name__ == "__main__":
    main()
