"""Choosing quotes: the sentences of a source that best answer a query, cut from it by code.

A sentence scores the query words it holds, each weighted by how rare it is in the source
(on a page about Python, "python" says nothing) and doubled for code names and numbers
(`math.lcm`, `3.11`), which carry the question. Where the search pointed at a passage of
the source, sentences are taken from around it. The best sentence is extended into the
ones after it while the quote stays short, because documentation often names a thing in
one line and says when it came in the next ("Return the least common multiple... New in
version 3.9."). Quotes are the source's words with white space collapsed: "verbatim" here
means equal up to white space, and the citation verifier checks exactly that.
"""

from __future__ import annotations

import math
import re
from collections import Counter

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*[A-Za-z0-9_]|[A-Za-z]|\d+(?:\.\d+)*")
# A sentence ends at . ! or ? before white space, at a blank line, or at the end of the text;
# a single line break (hard-wrapped text) does not end it.
_SENTENCE = re.compile(r"\S.*?(?:[.!?](?=\s)|(?=\n[ \t]*\n)|\Z)", re.DOTALL)
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "did",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
    ]
)
MAX_QUOTE = 400  # characters: a quote is a sentence or three, not a page
NEAR = 600  # characters around the passage a search hit pointed at


def terms(text: str) -> set[str]:
    """The words of `text` that say something (lower case, no stop words)."""
    return {w.lower().rstrip(".") for w in _WORD.findall(text)} - STOPWORDS


def is_code_or_number(term: str) -> bool:
    return any(c in term for c in "._") or any(c.isdigit() for c in term)


def squeeze(text: str) -> str:
    """`text` with every run of white space made one space."""
    return " ".join(text.split())


def weights(query: str, sentences: list[str]) -> dict[str, float]:
    """The query's words, weighted by rarity among `sentences` and doubled for code names
    and numbers."""
    wanted = terms(query)
    seen = Counter(t for s in sentences for t in terms(s) & wanted)
    n = len(sentences)
    return {
        t: math.log((n + 1) / (seen[t] + 0.5)) * (2.0 if is_code_or_number(t) else 1.0)
        for t in wanted
    }


def score(text: str, weighted: dict[str, float]) -> float:
    return sum(weighted.get(t, 0.0) for t in terms(text))


def best_quotes(
    text: str, query: str, *, k: int = 2, near: tuple[int, int] | None = None
) -> list[str]:
    """Up to `k` quotes of `text` for `query`, best first; `near` is the (start, end) of
    the passage a search matched, if known."""
    spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text)]
    weighted = weights(query, [text[a:b] for a, b in spans])
    scored = [(score(text[a:b], weighted), i) for i, (a, b) in enumerate(spans)]
    if near is not None:  # the passage the search found, unless nothing there scores
        low, high = near[0] - NEAR, near[1] + NEAR
        close = [(s, i) for s, i in scored if spans[i][1] > low and spans[i][0] < high]
        scored = close if any(s > 0 for s, _ in close) else scored
    ranked = sorted((item for item in scored if item[0] > 0), key=lambda item: (-item[0], item[1]))
    quotes: list[str] = []
    used: set[int] = set()
    for _, first in ranked:
        if len(quotes) == k:
            break
        if first in used:
            continue
        last = first
        while last + 1 < len(spans) and spans[last + 1][1] - spans[first][0] <= MAX_QUOTE:
            last += 1
        used.update(range(first, last + 1))
        quotes.append(_clip(squeeze(text[spans[first][0] : spans[last][1]])))
    return quotes


def _clip(quote: str) -> str:
    """A quote longer than `MAX_QUOTE` cut at its last whole word within it."""
    if len(quote) <= MAX_QUOTE:
        return quote
    return quote[:MAX_QUOTE].rsplit(" ", 1)[0]
