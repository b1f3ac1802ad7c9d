"""Researcher: one search query -> `Evidence` with verbatim quotes from the sources found.

It searches (`SearchProvider`), reads each hit (a web page through the guarded
`WebFetcher`, a corpus file from disk), keeps the text it read in the `SourceStore`, and
quotes the sentences that share the most words with the query. Quotes are cut from the
text by code, never written by a model, so every quote occurs verbatim in its source.
A source that cannot be read (refused, too large, not text, gone) is skipped with the
reason recorded as an `ErrorReport`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from codehelm.errors import CodehelmError
from codehelm.messages import ErrorReport, Evidence
from codehelm.state import SolveState
from codehelm.tools.extract import extract_main_text
from codehelm.tools.search.base import SearchHit, SearchProvider
from codehelm.tools.sources import SourceStore
from codehelm.tools.web import WebFetcher

# A sentence ends at . ! or ? before white space (so "asyncio.TaskGroup" and "3.11" stay
# whole) or at the end of its line.
_SENTENCE = re.compile(r"\S[^\n]*?(?:[.!?](?=\s)|$)", re.MULTILINE)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*|\d+(?:\.\d+)*")
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
        "do",
        "does",
        "for",
        "from",
        "how",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "the",
        "this",
        "to",
        "was",
        "what",
        "when",
        "which",
        "who",
        "why",
        "will",
        "with",
    ]
)
MAX_QUOTE = 400  # characters: a quote is a sentence, not a page


def terms(text: str) -> set[str]:
    """The words of `text` that say something (lower case, no stop words)."""
    return {w.lower().rstrip(".") for w in _WORD.findall(text)} - STOPWORDS


def best_quotes(text: str, query: str, *, k: int = 2) -> list[tuple[int, str]]:
    """Up to `k` sentences of `text` sharing the most words with `query`, as (offset,
    sentence), each a verbatim slice of `text` (a long sentence is cut to its start)."""
    wanted = terms(query)
    scored: list[tuple[int, int, str]] = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group()
        overlap = len(terms(sentence) & wanted)
        if overlap and len(sentence) >= 20:
            scored.append((overlap, match.start(), sentence[:MAX_QUOTE]))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [(start, sentence) for _, start, sentence in scored[:k]]


SearchOpener = Callable[[], AbstractAsyncContextManager[SearchProvider]]
FetcherOpener = Callable[[], AbstractAsyncContextManager[WebFetcher]]


class Researcher:
    """A node for `Send("researcher", state)` with `state.question` set to the query."""

    name = "researcher"

    def __init__(
        self,
        search: SearchOpener,
        fetcher: FetcherOpener,
        sources: SourceStore,
        *,
        hits: int = 4,
        quotes_per_source: int = 2,
        concurrency: int = 3,
    ) -> None:
        self.search, self.fetcher, self.sources = search, fetcher, sources
        self.hits, self.quotes_per_source = hits, quotes_per_source
        self._slots = asyncio.Semaphore(concurrency)  # researchers at work at once

    async def __call__(self, state: SolveState) -> dict[str, Any]:
        query: str = getattr(state, "question", "") or state.task.prompt
        stamp = {"run_id": state.task.run_id, "sender": self.name}
        messages: list[Evidence | ErrorReport] = []
        async with self._slots:
            async with self.search() as provider:
                found = await provider.search(query, k=self.hits)
            async with self.fetcher() as fetcher:
                for hit in found:
                    try:
                        text = await self._read(hit, fetcher)
                    except CodehelmError as exc:
                        messages.append(
                            ErrorReport(error=f"skipped {hit.url}", detail=str(exc), **stamp)
                        )
                        continue
                    digest = await self.sources.put(text)
                    for _, quote in best_quotes(text, query, k=self.quotes_per_source):
                        messages.append(
                            Evidence(source=hit.url, quote=quote, content_hash=digest, **stamp)
                        )
        evidence = sum(isinstance(m, Evidence) for m in messages)
        return {"messages": messages, "found": {query: evidence}}

    @staticmethod
    async def _read(hit: SearchHit, fetcher: WebFetcher) -> str:
        if hit.url.startswith(("http://", "https://")):
            return (await fetcher.fetch(hit.url)).text
        path = Path(hit.url.removeprefix("file://"))
        data = await asyncio.to_thread(path.read_bytes)
        return await asyncio.to_thread(extract_main_text, data, source=str(path))
