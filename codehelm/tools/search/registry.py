"""Search providers by name: `create_search_provider(settings)` makes the one `--search` names.

Built in: `corpus` (`CorpusSearch`, a local folder), `searxng` (`SearxngSearch`, a SearXNG
instance), `ddgs` (`DdgsSearch`, DuckDuckGo) and `tavily` (`TavilySearch`, needs
TAVILY_API_KEY). A provider is a class with a `from_settings(settings)` classmethod; add
one with `SEARCH_PROVIDERS.register("name", "package.module:Class")`.
"""

from __future__ import annotations

from typing import Protocol

from codehelm.config import Settings
from codehelm.registry import Registry
from codehelm.tools.search.base import SearchProvider

SEARCH_PROVIDERS = Registry(
    "search provider",
    {
        "corpus": "codehelm.tools.search.corpus:CorpusSearch",
        "searxng": "codehelm.tools.search.searxng:SearxngSearch",
        "ddgs": "codehelm.tools.search.ddgs:DdgsSearch",
        "tavily": "codehelm.tools.search.tavily:TavilySearch",
    },
)


class SearchBackend(Protocol):
    """What a registered provider class provides besides the `SearchProvider` protocol."""

    @classmethod
    def from_settings(cls, settings: Settings) -> SearchProvider: ...


def create_search_provider(settings: Settings) -> SearchProvider:
    """A new search provider of the kind `settings.search` names, configured by `settings`."""
    backend: type[SearchBackend] = SEARCH_PROVIDERS.load(settings.search)
    return backend.from_settings(settings)
