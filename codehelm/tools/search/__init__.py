"""Search providers, where research finds sources: a local corpus, SearXNG, DuckDuckGo, Tavily.

Names are imported on first use, so `import codehelm.tools.search` (or its `base`) loads
no backend, HTTP client or index.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codehelm.tools.search.base import SearchError, SearchHit, SearchProvider
    from codehelm.tools.search.corpus import CorpusSearch
    from codehelm.tools.search.ddgs import DdgsSearch
    from codehelm.tools.search.registry import SEARCH_PROVIDERS, create_search_provider
    from codehelm.tools.search.searxng import SearxngSearch
    from codehelm.tools.search.tavily import TavilySearch

_EXPORTS = {
    "SearchError": "base",
    "SearchHit": "base",
    "SearchProvider": "base",
    "CorpusSearch": "corpus",
    "DdgsSearch": "ddgs",
    "SEARCH_PROVIDERS": "registry",
    "create_search_provider": "registry",
    "SearxngSearch": "searxng",
    "TavilySearch": "tavily",
}

__all__ = [
    "SEARCH_PROVIDERS",
    "CorpusSearch",
    "DdgsSearch",
    "SearchError",
    "SearchHit",
    "SearchProvider",
    "SearxngSearch",
    "TavilySearch",
    "create_search_provider",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
