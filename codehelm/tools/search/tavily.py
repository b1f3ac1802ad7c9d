"""Search through Tavily's REST API: `POST {base_url}/search` with a bearer key."""

from __future__ import annotations

import httpx

from codehelm.config import Settings
from codehelm.errors import MissingAPIKeyError
from codehelm.tools.sandbox.base import ClosesOnExit
from codehelm.tools.search.base import SearchError, SearchHit, hits_from_records, json_results

TAVILY_URL = "https://api.tavily.com"
MAX_RESULTS = 20  # Tavily's ceiling for max_results


class TavilySearch(ClosesOnExit):
    """Hits from Tavily, a search API for LLM agents (needs TAVILY_API_KEY).

    `base_url` points it elsewhere, such as a Tavily-compatible proxy or a test server.
    """

    name = "tavily"

    @classmethod
    def from_settings(cls, settings: Settings) -> TavilySearch:
        return cls(settings.tavily_api_key)

    def __init__(
        self, api_key: str | None, *, base_url: str = TAVILY_URL, timeout: float = 30.0
    ) -> None:
        if not api_key:
            raise MissingAPIKeyError(
                "tavily search needs TAVILY_API_KEY set in the environment,"
                " or use --search corpus, searxng or ddgs"
            )
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client = httpx.AsyncClient(
            timeout=timeout, headers={"Authorization": f"Bearer {api_key}"}
        )

    async def search(self, query: str, *, k: int = 5) -> list[SearchHit]:
        where = f"tavily at {self.base_url}"
        try:
            response = await self._client.post(
                f"{self.base_url}/search",
                json={"query": query, "max_results": max(1, min(k, MAX_RESULTS))},
            )
        except httpx.TimeoutException as exc:
            raise SearchError(f"{where} did not answer within {self.timeout:g}s") from exc
        except httpx.HTTPError as exc:
            raise SearchError(
                f"cannot reach {where} ({exc or type(exc).__name__}): check the network"
            ) from exc
        _check_status(response, where)
        return hits_from_records(json_results(response.content, where)["results"], self.name, k)

    async def close(self) -> None:
        await self._client.aclose()


def _check_status(response: httpx.Response, where: str) -> None:
    status = response.status_code
    if status == 200:
        return
    detail = _detail(response)
    if status == 401:
        raise MissingAPIKeyError(f"{where} rejected TAVILY_API_KEY (401{detail}): check the key")
    if status == 429:
        raise SearchError(f"{where} rate-limited this key (429{detail}): wait and retry")
    if status in (432, 433):
        raise SearchError(
            f"{where}: the key's plan or spending limit is reached ({status}{detail})"
        )
    raise SearchError(f"{where} answered {status} {response.reason_phrase}{detail}")


def _detail(response: httpx.Response) -> str:
    """Tavily explains errors as `{"detail": {"error": "..."}}`: ": <that text>" or ""."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return ""
    error = detail.get("error") if isinstance(detail, dict) else detail
    return f": {' '.join(error.split())[:200]}" if isinstance(error, str) and error else ""
