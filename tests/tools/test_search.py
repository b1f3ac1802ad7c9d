"""Web search providers against real local servers (SearXNG, Tavily) and an injected
DuckDuckGo client; the registry that picks one from the settings."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

from codehelm.config import Settings
from codehelm.errors import ConfigError, MissingAPIKeyError
from codehelm.tools.search import (
    SEARCH_PROVIDERS,
    CorpusSearch,
    DdgsSearch,
    SearchError,
    SearchHit,
    SearchProvider,
    SearxngSearch,
    TavilySearch,
    create_search_provider,
)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    delay: float = 0.0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class JsonServer:
    """An HTTP server on 127.0.0.1 that answers every request with `reply` and keeps
    what it was asked in `requests`."""

    reply: Reply = field(default_factory=Reply)
    requests: list[Request] = field(default_factory=list)
    url: str = ""

    def answer(self, payload: object, status: int = 200) -> None:
        self.reply = Reply(status=status, body=json.dumps(payload).encode())


@pytest.fixture
def server() -> Iterator[JsonServer]:
    state = JsonServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            state.requests.append(
                Request(
                    self.command,
                    split.path,
                    parse_qs(split.query),
                    dict(self.headers),
                    self.rfile.read(length),
                )
            )
            reply = state.reply
            time.sleep(reply.delay)
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = _serve

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """The address of a port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


SEARXNG_RESULTS = {
    "query": "event loop",
    "number_of_results": 3,
    "results": [
        {
            "url": "https://docs.python.org/3/library/asyncio-eventloop.html",
            "title": "Event Loop",
            "content": "The event loop is the core of every asyncio application.",
            "engine": "duckduckgo",
            "score": 4.5,
        },
        {"title": "no address, skipped", "content": "..."},
        {"url": "https://example.org/loops", "content": "Loops in general.", "score": "high"},
        {"url": "https://example.org/third", "title": "Third", "score": 1},
    ],
    "unresponsive_engines": [],
}


# SearXNG


async def test_searxng_asks_for_json_and_normalises_its_results(server: JsonServer) -> None:
    server.answer(SEARXNG_RESULTS)
    async with SearxngSearch(server.url + "/") as searx:
        hits = await searx.search("event loop", k=2)
    [request] = server.requests
    assert (request.method, request.path) == ("GET", "/search")
    assert request.query == {"q": ["event loop"], "format": ["json"]}
    assert hits == [
        SearchHit(
            title="Event Loop",
            url="https://docs.python.org/3/library/asyncio-eventloop.html",
            snippet="The event loop is the core of every asyncio application.",
            score=4.5,
            provider="searxng",
            rank=1,
        ),
        SearchHit(
            title="https://example.org/loops",
            url="https://example.org/loops",
            snippet="Loops in general.",
            score=None,
            provider="searxng",
            rank=2,
        ),
    ]


async def test_searxng_returns_every_usable_result_up_to_k(server: JsonServer) -> None:
    server.answer(SEARXNG_RESULTS)
    async with SearxngSearch(server.url) as searx:
        hits = await searx.search("event loop", k=10)
    assert [h.rank for h in hits] == [1, 2, 3]
    assert hits[2].score == 1.0 and hits[2].snippet == ""


async def test_searxng_with_json_disabled_says_how_to_enable_it(server: JsonServer) -> None:
    server.reply = Reply(status=403, body=b"<html>403 Forbidden</html>", content_type="text/html")
    async with SearxngSearch(server.url) as searx:
        with pytest.raises(SearchError, match=r"format=json \(403\).*search: formats:.*settings"):
            await searx.search("anything")


async def test_searxng_server_error_is_a_search_error(server: JsonServer) -> None:
    server.reply = Reply(status=500, body=b"boom", content_type="text/plain")
    async with SearxngSearch(server.url) as searx:
        with pytest.raises(SearchError, match=r"answered 500 Internal Server Error"):
            await searx.search("anything")


async def test_searxng_limiter_is_explained(server: JsonServer) -> None:
    server.reply = Reply(status=429, body=b"Too Many Requests", content_type="text/plain")
    async with SearxngSearch(server.url) as searx:
        with pytest.raises(SearchError, match=r"429.*limiter"):
            await searx.search("anything")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"results": [', "not JSON"),
        (b'{"answers": []}', "without a 'results' list"),
        (b"[1, 2]", "without a 'results' list"),
    ],
)
async def test_searxng_malformed_answers_are_search_errors(
    server: JsonServer, body: bytes, message: str
) -> None:
    server.reply = Reply(body=body)
    async with SearxngSearch(server.url) as searx:
        with pytest.raises(SearchError, match=message):
            await searx.search("anything")


async def test_searxng_whose_engines_all_failed_says_which(server: JsonServer) -> None:
    server.answer(
        {"results": [], "unresponsive_engines": [["google", "timeout"], ["bing", "CAPTCHA"]]}
    )
    async with SearxngSearch(server.url) as searx:
        with pytest.raises(SearchError, match=r"google \(timeout\), bing \(CAPTCHA\)"):
            await searx.search("anything")


async def test_searxng_with_no_results_finds_nothing(server: JsonServer) -> None:
    server.answer({"results": [], "unresponsive_engines": []})
    async with SearxngSearch(server.url) as searx:
        assert await searx.search("zzqx") == []


async def test_searxng_unreachable_names_the_setting(closed_port_url: str) -> None:
    async with SearxngSearch(closed_port_url) as searx:
        with pytest.raises(SearchError, match=r"cannot reach searxng.*--searxng-url"):
            await searx.search("anything")


async def test_searxng_that_hangs_times_out(server: JsonServer) -> None:
    server.reply = Reply(body=json.dumps(SEARXNG_RESULTS).encode(), delay=1.0)
    async with SearxngSearch(server.url, timeout=0.2) as searx:
        with pytest.raises(SearchError, match=r"did not answer within 0.2s"):
            await searx.search("anything")


def test_searxng_needs_an_http_url() -> None:
    with pytest.raises(ConfigError, match="--searxng-url / CODEHELM_SEARXNG_URL"):
        SearxngSearch("localhost:8888")


# Tavily


TAVILY_RESULTS = {
    "query": "who wrote asyncio",
    "answer": None,
    "results": [
        {
            "title": "PEP 3156",
            "url": "https://peps.python.org/pep-3156/",
            "content": "Asynchronous IO Support Rebooted: the asyncio Module.",
            "score": 0.91,
            "raw_content": None,
        },
        {"title": "Guido", "url": "https://example.org/guido", "content": "BDFL", "score": 0.5},
    ],
    "response_time": 1.2,
}


async def test_tavily_sends_the_key_and_query_and_normalises(server: JsonServer) -> None:
    server.answer(TAVILY_RESULTS)
    async with TavilySearch("tvly-test-key", base_url=server.url) as tavily:
        hits = await tavily.search("who wrote asyncio", k=1)
    [request] = server.requests
    assert (request.method, request.path) == ("POST", "/search")
    assert request.headers["Authorization"] == "Bearer tvly-test-key"
    assert json.loads(request.body) == {"query": "who wrote asyncio", "max_results": 1}
    assert hits == [
        SearchHit(
            title="PEP 3156",
            url="https://peps.python.org/pep-3156/",
            snippet="Asynchronous IO Support Rebooted: the asyncio Module.",
            score=0.91,
            provider="tavily",
            rank=1,
        )
    ]


async def test_tavily_asks_for_at_most_its_ceiling(server: JsonServer) -> None:
    server.answer(TAVILY_RESULTS)
    async with TavilySearch("tvly-test-key", base_url=server.url) as tavily:
        hits = await tavily.search("asyncio", k=50)
    assert json.loads(server.requests[0].body)["max_results"] == 20
    assert [h.rank for h in hits] == [1, 2]


async def test_tavily_rejecting_the_key_names_it(server: JsonServer) -> None:
    server.answer({"detail": {"error": "Unauthorized: missing or invalid API key."}}, status=401)
    async with TavilySearch("tvly-wrong", base_url=server.url) as tavily:
        with pytest.raises(MissingAPIKeyError, match=r"rejected TAVILY_API_KEY.*invalid API key"):
            await tavily.search("anything")


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (429, r"rate-limited this key \(429"),
        (432, r"plan or spending limit is reached \(432"),
        (500, r"answered 500 Internal Server Error: try later"),
    ],
)
async def test_tavily_refusals_are_search_errors(
    server: JsonServer, status: int, message: str
) -> None:
    server.answer({"detail": {"error": "try later"}}, status=status)
    async with TavilySearch("tvly-test-key", base_url=server.url) as tavily:
        with pytest.raises(SearchError, match=message):
            await tavily.search("anything")


async def test_tavily_malformed_answer_is_a_search_error(server: JsonServer) -> None:
    server.reply = Reply(body=b"<html>gateway</html>", content_type="text/html")
    async with TavilySearch("tvly-test-key", base_url=server.url) as tavily:
        with pytest.raises(SearchError, match="not JSON"):
            await tavily.search("anything")


async def test_tavily_unreachable_is_a_search_error(closed_port_url: str) -> None:
    async with TavilySearch("tvly-test-key", base_url=closed_port_url) as tavily:
        with pytest.raises(SearchError, match="cannot reach tavily"):
            await tavily.search("anything")


def test_tavily_without_a_key_says_which_variable() -> None:
    with pytest.raises(MissingAPIKeyError, match="tavily search needs TAVILY_API_KEY"):
        TavilySearch(None)


# DuckDuckGo (ddgs), with a client standing in for ddgs.DDGS


class FakeDDGS:
    """Answers `text()` like `ddgs.DDGS` does: a list of dicts, or one of its exceptions."""

    def __init__(self, answer: list[dict[str, Any]] | Exception) -> None:
        self.answer = answer
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls.append((query, kwargs))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


async def test_ddgs_normalises_its_result_dicts() -> None:
    client = FakeDDGS(
        [
            {
                "title": "asyncio",
                "href": "https://docs.python.org/3/library/asyncio.html",
                "body": "asyncio is a library to write concurrent code.",
            },
            {"title": "no link"},
            {"href": "https://example.org/untitled", "body": ""},
        ]
    )
    async with DdgsSearch(client, region="uk-en") as ddg:
        hits = await ddg.search("asyncio", k=3)
    assert client.calls == [
        ("asyncio", {"region": "uk-en", "safesearch": "moderate", "max_results": 3})
    ]
    assert hits == [
        SearchHit(
            title="asyncio",
            url="https://docs.python.org/3/library/asyncio.html",
            snippet="asyncio is a library to write concurrent code.",
            score=None,
            provider="ddgs",
            rank=1,
        ),
        SearchHit(
            title="https://example.org/untitled",
            url="https://example.org/untitled",
            provider="ddgs",
            rank=2,
        ),
    ]


async def test_ddgs_no_results_is_an_empty_list() -> None:
    async with DdgsSearch(FakeDDGS(DDGSException("No results found."))) as ddg:
        assert await ddg.search("zzqx") == []


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (RatelimitException("202 Ratelimit"), "rate-limited this machine"),
        (TimeoutException("timed out"), "did not answer in time"),
        (DDGSException("ConnectError: dns failure"), r"search failed \(ConnectError: dns"),
        (ConnectionResetError("reset by peer"), "cannot reach duckduckgo"),
    ],
)
async def test_ddgs_failures_are_search_errors(error: Exception, message: str) -> None:
    async with DdgsSearch(FakeDDGS(error)) as ddg:
        with pytest.raises(SearchError, match=message):
            await ddg.search("asyncio")


def test_ddgs_uses_the_ddgs_package_by_default() -> None:
    from ddgs.ddgs import DDGS  # `ddgs.DDGS` is a proxy class that makes these

    assert isinstance(DdgsSearch().client, DDGS)


# The registry


def settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(home=tmp_path / "home", **values)


async def test_the_registry_makes_each_provider_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAVILY_API_KEY", "tvly-from-env")
    made = [
        create_search_provider(settings(tmp_path, search="corpus", corpus=tmp_path)),
        create_search_provider(settings(tmp_path, search="searxng", searxng_url="http://x:8")),
        create_search_provider(settings(tmp_path, search="ddgs")),
        create_search_provider(settings(tmp_path, search="tavily")),
    ]
    assert [type(p) for p in made] == [CorpusSearch, SearxngSearch, DdgsSearch, TavilySearch]
    assert [p.name for p in made] == ["corpus", "searxng", "ddgs", "tavily"]
    assert all(isinstance(p, SearchProvider) for p in made)
    assert isinstance(made[0], CorpusSearch)
    assert made[0].cache.is_relative_to(tmp_path / "home" / "cache")
    for provider in made:
        await provider.close()


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ({"search": "bing"}, ConfigError, "unknown search provider 'bing'; known: corpus, ddgs"),
        ({"search": "corpus"}, ConfigError, "--corpus / CODEHELM_CORPUS"),
        ({"search": "searxng"}, ConfigError, "--searxng-url / CODEHELM_SEARXNG_URL"),
        ({"search": "tavily"}, MissingAPIKeyError, "tavily search needs TAVILY_API_KEY"),
    ],
)
def test_the_registry_explains_unusable_settings(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    values: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    monkeypatch.delenv("TAVILY_API_KEY", raising=False)
    monkeypatch.delenv("CODEHELM_CORPUS", raising=False)
    monkeypatch.delenv("CODEHELM_SEARXNG_URL", raising=False)
    with pytest.raises(error, match=message):
        create_search_provider(settings(tmp_path, **values))


async def test_a_registered_provider_is_made_by_name(tmp_path: Path) -> None:
    class Canned:
        name = "canned"

        @classmethod
        def from_settings(cls, settings: Settings) -> TavilySearch:
            return TavilySearch("tvly-canned", base_url="http://127.0.0.1:9")

    SEARCH_PROVIDERS.register("canned", Canned)
    try:
        provider = create_search_provider(settings(tmp_path, search="canned"))
    finally:
        SEARCH_PROVIDERS.unregister("canned")
    assert isinstance(provider, TavilySearch)
    await provider.close()


def test_the_search_protocol_loads_no_backend() -> None:
    code = (
        "import sys\nfrom codehelm.tools.search import SearchHit, SearchProvider\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(done.stdout.split())
    assert "codehelm.tools.search.base" in loaded
    heavy = {"httpx", "bm25s", "ddgs", "Stemmer", "trafilatura", "codehelm.tools.search.corpus"}
    assert heavy & loaded == set()
