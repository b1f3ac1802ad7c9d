"""Search DuckDuckGo (and the other engines the `ddgs` package scrapes), no key needed."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from codehelm.config import Settings
from codehelm.tools.sandbox.base import ClosesOnExit
from codehelm.tools.search.base import SearchError, SearchHit, hits_from_records

NO_RESULTS = "No results found."  # what ddgs raises, rather than return [], when nothing matched


class TextSearchClient(Protocol):
    """The part of `ddgs.DDGS` this provider uses."""

    def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]: ...


class DdgsSearch(ClosesOnExit):
    """Hits from `ddgs.DDGS().text(...)`, run in a worker thread (its API is synchronous).

    `client` replaces the `ddgs.DDGS` instance, e.g. one with a proxy.
    """

    name = "ddgs"

    @classmethod
    def from_settings(cls, settings: Settings) -> DdgsSearch:
        return cls()

    def __init__(
        self,
        client: TextSearchClient | None = None,
        *,
        region: str = "us-en",
        safesearch: str = "moderate",
        timeout: int = 10,
    ) -> None:
        if client is None:
            from ddgs import DDGS

            client = DDGS(timeout=timeout)
        self.client = client
        self.region = region
        self.safesearch = safesearch

    async def search(self, query: str, *, k: int = 5) -> list[SearchHit]:
        from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

        try:
            records = await asyncio.to_thread(
                self.client.text,
                query,
                region=self.region,
                safesearch=self.safesearch,
                max_results=k,
            )
        except RatelimitException as exc:
            raise SearchError(
                "duckduckgo rate-limited this machine: wait a minute, or use --search searxng"
                " or tavily"
            ) from exc
        except TimeoutException as exc:
            raise SearchError(f"duckduckgo did not answer in time ({exc}): retry later") from exc
        except DDGSException as exc:
            if str(exc) == NO_RESULTS:
                return []
            raise SearchError(f"duckduckgo search failed ({exc}): check the network") from exc
        except OSError as exc:
            raise SearchError(f"cannot reach duckduckgo ({exc}): check the network") from exc
        if not isinstance(records, list):
            raise SearchError(f"ddgs returned {type(records).__name__}, not a list of results")
        return hits_from_records(records, self.name, k, url_key="href", snippet_key="body")

    async def close(self) -> None:
        """Nothing to release: `ddgs.DDGS` has nothing to close."""
