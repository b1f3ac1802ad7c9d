"""Search through a SearXNG instance's JSON API: `GET {base}/search?q=...&format=json`."""

from __future__ import annotations

import httpx

from codehelm.config import Settings
from codehelm.errors import ConfigError
from codehelm.tools.sandbox.base import ClosesOnExit
from codehelm.tools.search.base import SearchError, SearchHit, hits_from_records, json_results

SETTING = "--searxng-url / CODEHELM_SEARXNG_URL"


class SearxngSearch(ClosesOnExit):
    """Hits from a SearXNG instance (a self-hosted metasearch engine) whose settings.yml
    lists `json` under `search: formats:`."""

    name = "searxng"

    @classmethod
    def from_settings(cls, settings: Settings) -> SearxngSearch:
        if not settings.searxng_url:
            raise ConfigError(
                f"search=searxng needs the instance's address: set {SETTING}"
                " (e.g. http://127.0.0.1:8888)"
            )
        return cls(settings.searxng_url)

    def __init__(self, base_url: str, *, timeout: float = 15.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{SETTING} must be an http(s) URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client = httpx.AsyncClient(timeout=timeout)

    async def search(self, query: str, *, k: int = 5) -> list[SearchHit]:
        where = f"searxng at {self.base_url}"
        try:
            response = await self._client.get(
                f"{self.base_url}/search", params={"q": query, "format": "json"}
            )
        except httpx.TimeoutException as exc:
            raise SearchError(f"{where} did not answer within {self.timeout:g}s") from exc
        except httpx.HTTPError as exc:
            raise SearchError(
                f"cannot reach {where} ({exc or type(exc).__name__}): is it running?"
                f" check {SETTING}"
            ) from exc
        _check_status(response, where)
        body = json_results(response.content, where)
        hits = hits_from_records(body["results"], self.name, k)
        if not hits and body.get("unresponsive_engines"):
            failed = _engine_failures(body["unresponsive_engines"])
            raise SearchError(f"{where} found nothing because its engines failed: {failed}")
        return hits

    async def close(self) -> None:
        await self._client.aclose()


def _check_status(response: httpx.Response, where: str) -> None:
    status = response.status_code
    if status == 403:
        raise SearchError(
            f"{where} refused format=json (403): add `- json` under `search: formats:`"
            " in its settings.yml and restart it"
        )
    if status == 429:
        raise SearchError(
            f"{where} rate-limited this client (429): set `server: limiter: false` in its"
            " settings.yml for a private instance, or wait and retry"
        )
    if status != 200:
        raise SearchError(f"{where} answered {status} {response.reason_phrase}: see its log")


def _engine_failures(engines: object) -> str:
    """SearXNG lists failed engines as `[name, reason]` pairs: "name (reason), ..."."""
    if not isinstance(engines, list):
        return str(engines)
    return ", ".join(
        f"{e[0]} ({e[1]})" if isinstance(e, list) and len(e) == 2 else str(e) for e in engines
    )
