"""The `SearchProvider` protocol, the `SearchHit` it returns, `SearchError`, and helpers that
turn a web search API's JSON into hits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from codehelm.errors import CodehelmError


class SearchError(CodehelmError):
    """A search backend could not be reached or gave an unusable answer."""


class SearchHit(BaseModel):
    """One result, best first by `rank` (1 is the best).

    `url` is a web address for web providers; for the local corpus it is the file's
    absolute path (not a `file://` URL), and `offsets` are the start and end character
    offsets of the matching passage (`snippet`) in the text extracted from that file.
    `score` is the provider's own relevance score (None if it gives none): compare
    scores within one provider's hits only.
    """

    model_config = ConfigDict(frozen=True)

    title: str
    url: str
    snippet: str = ""
    score: float | None = None
    provider: str
    rank: int = Field(ge=1)
    offsets: tuple[int, int] | None = None


@runtime_checkable
class SearchProvider(Protocol):
    """Finds up to `k` hits for a query; `close()` (or `async with`) releases connections."""

    name: str

    async def search(self, query: str, *, k: int = 5) -> list[SearchHit]: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class DocumentStore(Protocol):
    """A provider that holds the text of the documents it finds (a local corpus): the text a
    hit's `offsets` point into, so a reader need not extract the document again."""

    async def document_text(self, url: str) -> str | None:
        """The text of the document at `url` (a hit's), or None if it holds none."""
        ...


def json_results(content: bytes, where: str) -> dict[str, Any]:
    """The JSON object in a search API's answer, checked to hold a `results` list."""
    try:
        body = json.loads(content)
    except ValueError as exc:
        raise SearchError(f"{where} answered with something that is not JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise SearchError(f"{where} answered JSON without a 'results' list")
    return body


def hits_from_records(
    records: Sequence[object],
    provider: str,
    k: int,
    *,
    url_key: str = "url",
    snippet_key: str = "content",
) -> list[SearchHit]:
    """The first `k` usable hits among a provider's JSON result records.

    Records that are not objects or have no URL are skipped; a missing title becomes the
    URL, and a score that is not a number becomes None.
    """
    hits: list[SearchHit] = []
    for record in records:
        if len(hits) >= k:
            break
        if not isinstance(record, dict) or not record.get(url_key):
            continue
        url = str(record[url_key])
        hits.append(
            SearchHit(
                title=str(record.get("title") or url),
                url=url,
                snippet=str(record.get(snippet_key) or ""),
                score=_number(record.get("score")),
                provider=provider,
                rank=len(hits) + 1,
            )
        )
    return hits


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
