"""Researcher: one search query -> `Evidence` with verbatim quotes from the sources found.

It searches (`SearchProvider`), reads each hit (a web page through the guarded
`WebFetcher`, a corpus file from disk), keeps the text it read in the `SourceStore`, and
quotes the sentences that best answer the query (`codehelm.agents.quotes`). Quotes are cut
from the text by code, never written by a model, so every quote occurs in its source.
A source that cannot be read (refused, too large, not text, gone) is skipped with the
reason recorded as an `ErrorReport`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from codehelm.agents.quotes import best_quotes
from codehelm.errors import CodehelmError
from codehelm.messages import ErrorReport, Evidence
from codehelm.state import SolveState
from codehelm.tools.extract import extract_main_text
from codehelm.tools.search.base import DocumentStore, SearchHit, SearchProvider
from codehelm.tools.sources import SourceStore
from codehelm.tools.web import WebFetcher

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
        async with self._slots, self.search() as provider, self.fetcher() as fetcher:
            found = await provider.search(query, k=self.hits)
            for hit in found:
                try:
                    text = await self._read(hit, provider, fetcher)
                except CodehelmError as exc:
                    messages.append(
                        ErrorReport(error=f"skipped {hit.url}", detail=str(exc), **stamp)
                    )
                    continue
                digest = await self.sources.put(text)
                quotes = await asyncio.to_thread(  # a long page takes a while: not on the loop
                    best_quotes, text, query, k=self.quotes_per_source, near=hit.offsets
                )
                for quote in quotes:
                    messages.append(
                        Evidence(source=hit.url, quote=quote, content_hash=digest, **stamp)
                    )
        evidence = sum(isinstance(m, Evidence) for m in messages)
        return {"messages": messages, "found": {query: evidence}}

    @staticmethod
    async def _read(hit: SearchHit, provider: SearchProvider, fetcher: WebFetcher) -> str:
        """The text of a hit: the corpus's own (as indexed), a fetched page's, or a file's."""
        if isinstance(provider, DocumentStore):
            text = await provider.document_text(hit.url)
            if text is not None:
                return text
        if hit.url.startswith(("http://", "https://")):
            return (await fetcher.fetch(hit.url)).text
        path = Path(hit.url.removeprefix("file://"))
        data = await asyncio.to_thread(path.read_bytes)
        return await asyncio.to_thread(extract_main_text, data, source=str(path))
