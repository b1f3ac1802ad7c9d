"""The web fetcher against a real fixture web on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codehelm.errors import BadInputError, CodehelmError
from codehelm.tools.web import FetchFailed, FetchRefused, WebFetcher
from tests.tools.web_fixtures import HUGE_BYTES, FixtureWeb, serve_fixture_web, wait_for_huge

ALLOW = ["127.0.0.1"]


@pytest.fixture(scope="module")
def web_server() -> Iterator[FixtureWeb]:
    with serve_fixture_web() as web:
        yield web


@pytest.fixture
def web(web_server: FixtureWeb) -> FixtureWeb:
    web_server.reset()
    return web_server


async def test_fetches_the_article_of_an_allowed_page(web: FixtureWeb) -> None:
    page = web.page("pathlib")
    async with WebFetcher(allow_hosts=ALLOW) as fetcher:
        result = await fetcher.fetch(web.url(page.path))
    assert result.url == result.requested_url == web.url(page.path)
    assert (result.status, result.content_type) == (200, page.content_type)
    assert result.content_hash == hashlib.sha256(page.body).hexdigest()
    assert "The pathlib module, added in Python 3.4" in result.text
    assert "cookies" not in result.text and "CloudRocket" not in result.text
    assert not result.from_cache
    assert "codehelm" in web.headers[page.path]["User-Agent"]


async def test_fetches_the_text_of_a_pdf(web: FixtureWeb) -> None:
    async with WebFetcher(allow_hosts=ALLOW) as fetcher:
        result = await fetcher.fetch(web.url("/docs/zipfile.pdf"))
    assert "The namelist method returns the names" in result.text


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1:{port}", "127.0.0.1 is a loopback address"),
        ("10.0.0.1", "10.0.0.1 is a private address"),
        ("192.168.1.20", "a private address"),
        ("169.254.169.254", "169.254.169.254 is a link-local address"),
        ("0.0.0.0:{port}", "an unspecified address"),
        ("[::1]:{port}", "::1 is a loopback address"),
        ("[::ffff:127.0.0.1]:{port}", "a loopback address"),
        ("[fe80::1]", "a link-local address"),
        ("[fd00::1]", "a private address"),
        ("2130706433:{port}", "2130706433 (127.0.0.1) is a loopback address"),
        ("0x7f.1:{port}", "0x7f.1 (127.0.0.1) is a loopback address"),
        ("localhost:{port}", "localhost is a local or metadata host name"),
        ("LOCALHOST.:{port}", "a local or metadata host name"),
        ("api.localhost:{port}", "a local or metadata host name"),
        ("metadata.google.internal", "a local or metadata host name"),
    ],
)
async def test_refuses_local_private_and_metadata_hosts(
    web: FixtureWeb, host: str, reason: str
) -> None:
    url = f"http://{host.format(port=web.base_url.rsplit(':', 1)[1])}/articles/pathlib.html"
    async with WebFetcher(connect_timeout=2.0) as fetcher:
        with pytest.raises(FetchRefused) as caught:
            await fetcher.fetch(url)
    assert str(caught.value) == f"refused {url}: {caught.value.reason}"
    assert reason in caught.value.reason
    assert isinstance(caught.value, BadInputError)
    assert sum(web.requests.values()) == 0


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/file.txt", "gopher://example.com/", "/relative/path"],
)
async def test_refuses_other_schemes(url: str) -> None:
    async with WebFetcher() as fetcher:
        with pytest.raises(FetchRefused, match="only http and https URLs are fetched"):
            await fetcher.fetch(url)


async def test_allow_hosts_accepts_networks(web: FixtureWeb) -> None:
    async with WebFetcher(allow_hosts=["127.0.0.0/8"]) as fetcher:
        page = await fetcher.fetch(web.url("/articles/itertools.html"))
    assert "groupby" in page.text


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/redirect/private", "http://10.0.0.1/"),
        ("/redirect/metadata", "http://169.254.169.254/latest/meta-data"),
    ],
)
async def test_refuses_a_redirect_to_a_private_address(
    web: FixtureWeb, path: str, target: str
) -> None:
    async with WebFetcher(allow_hosts=ALLOW, connect_timeout=2.0) as fetcher:
        with pytest.raises(FetchRefused) as caught:
            await fetcher.fetch(web.url(path))
    assert caught.value.url == target
    assert web.requests[path] == 1


async def test_follows_a_redirect_chain_to_an_allowed_page(web: FixtureWeb) -> None:
    async with WebFetcher(allow_hosts=ALLOW) as fetcher:
        page = await fetcher.fetch(web.url("/redirect/chain/1"))
    assert page.requested_url == web.url("/redirect/chain/1")
    assert page.url == web.url("/articles/pathlib.html")
    assert "rglob" in page.text
    hops = ["/redirect/chain/1", "/redirect/chain/2", "/redirect/chain/3", "/articles/pathlib.html"]
    assert [web.requests[hop] for hop in hops] == [1, 1, 1, 1]


async def test_stops_after_max_redirects(web: FixtureWeb) -> None:
    async with WebFetcher(allow_hosts=ALLOW, max_redirects=3) as fetcher:
        with pytest.raises(FetchFailed, match="more than 3 redirects"):
            await fetcher.fetch(web.url("/redirect/loop"))
    assert web.requests["/redirect/loop"] == 4


async def test_connects_to_the_address_it_checked(
    web: FixtureWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name is resolved once, and the address checked is the one dialled.

    `rebind.test` first resolves to loopback, then to an unroutable private address: a
    fetcher that resolved again to connect would not reach the fixture server.
    """
    real = asyncio.base_events.BaseEventLoop.getaddrinfo
    answers: list[str] = []

    async def rebinding_dns(self: Any, host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            answers.append("127.0.0.1" if not answers else "10.255.255.1")
            host = answers[-1]
        return await real(self, host, *args, **kwargs)

    monkeypatch.setattr(asyncio.base_events.BaseEventLoop, "getaddrinfo", rebinding_dns)
    port = web.base_url.rsplit(":", 1)[1]
    url = f"http://rebind.test:{port}/articles/asyncio.html"
    async with WebFetcher() as fetcher:
        with pytest.raises(FetchRefused, match=r"rebind.test \(127.0.0.1\) is a loopback"):
            await fetcher.fetch(url)
    assert sum(web.requests.values()) == 0
    answers.clear()
    async with WebFetcher(allow_hosts=ALLOW, connect_timeout=2.0) as fetcher:
        page = await fetcher.fetch(url)
    assert "TaskGroup" in page.text
    assert answers == ["127.0.0.1"]
    assert web.headers["/articles/asyncio.html"]["Host"] == f"rebind.test:{port}"


@pytest.mark.parametrize("path", ["/huge", "/huge-chunked"])
async def test_refuses_a_too_large_page_without_downloading_it(web: FixtureWeb, path: str) -> None:
    async with WebFetcher(allow_hosts=ALLOW, max_bytes=2**20) as fetcher:
        with pytest.raises(FetchRefused, match="too large"):
            await fetcher.fetch(web.url(path))
    assert wait_for_huge(web, path) < HUGE_BYTES // 4


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/image.png", "image/png is not a text document"),
        ("/blob", "binary content (application/octet-stream), not text"),
    ],
)
async def test_refuses_content_that_is_not_text(web: FixtureWeb, path: str, reason: str) -> None:
    async with WebFetcher(allow_hosts=ALLOW) as fetcher:
        with pytest.raises(FetchRefused) as caught:
            await fetcher.fetch(web.url(path))
    assert str(caught.value) == f"refused {web.url(path)}: {reason}"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"read_timeout": 0.5}, "timed out"),
        ({"total_timeout": 0.5}, "took longer than 0.5s"),
    ],
)
async def test_a_slow_page_times_out(
    web: FixtureWeb, options: dict[str, Any], message: str
) -> None:
    started = time.monotonic()
    async with WebFetcher(allow_hosts=ALLOW, **options) as fetcher:
        with pytest.raises(FetchFailed, match=message) as caught:
            await fetcher.fetch(web.url("/slow"))
    assert time.monotonic() - started < 3
    assert not isinstance(caught.value, BadInputError)
    assert isinstance(caught.value, CodehelmError)


async def test_an_http_error_fails_with_its_status(web: FixtureWeb) -> None:
    url = web.url("/no/such/page")
    async with WebFetcher(allow_hosts=ALLOW) as fetcher:
        with pytest.raises(FetchFailed) as caught:
            await fetcher.fetch(url)
    assert str(caught.value) == f"could not fetch {url}: HTTP 404 Not Found"


async def test_a_closed_port_fails_cleanly() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with WebFetcher(allow_hosts=ALLOW) as fetcher:
        with pytest.raises(FetchFailed, match="ConnectError"):
            await fetcher.fetch(f"http://127.0.0.1:{port}/")


async def test_a_second_fetcher_serves_from_the_cache(web: FixtureWeb, tmp_path: Path) -> None:
    urls = [web.url("/articles/dataclasses.html"), web.url("/docs/zipfile.pdf")]
    urls.append(web.url("/redirect/chain/1"))
    async with WebFetcher(allow_hosts=ALLOW, cache_dir=tmp_path) as fetcher:
        first = [await fetcher.fetch(url) for url in urls]
    assert sum(web.requests.values()) == 6  # two pages, three hops and pathlib
    web.reset()
    async with WebFetcher(allow_hosts=ALLOW, cache_dir=tmp_path) as fetcher:
        again = await asyncio.gather(*(fetcher.fetch(url) for url in urls))
        final = await fetcher.fetch(web.url("/articles/pathlib.html"))  # indexed as a final URL
    assert sum(web.requests.values()) == 0
    assert all(page.from_cache for page in [*again, final])
    for before, after in zip(first, again, strict=True):
        assert after.model_dump(exclude={"from_cache"}) == before.model_dump(exclude={"from_cache"})
    assert final.requested_url == final.url == web.url("/articles/pathlib.html")


async def test_identical_content_is_stored_once(web: FixtureWeb, tmp_path: Path) -> None:
    path = "/articles/collections.html"
    async with WebFetcher(allow_hosts=ALLOW, cache_dir=tmp_path) as fetcher:
        one = await fetcher.fetch(web.url(path))
        two = await fetcher.fetch(web.url(path + "?utm_source=feed"))
    assert web.requests[path] == 2
    assert one.content_hash == two.content_hash
    bodies = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file() and not p.suffix]
    assert [p.name for p in bodies] == [one.content_hash]
    assert len(list((tmp_path / "index").iterdir())) == 2
    assert not list(tmp_path.rglob(".tmp-*"))


async def test_a_damaged_cache_entry_is_fetched_again(web: FixtureWeb, tmp_path: Path) -> None:
    url = web.url("/articles/itertools.html")
    async with WebFetcher(allow_hosts=ALLOW, cache_dir=tmp_path) as fetcher:
        page = await fetcher.fetch(url)
    (index,) = (tmp_path / "index").iterdir()
    index.write_text("{not json")
    async with WebFetcher(allow_hosts=ALLOW, cache_dir=tmp_path) as fetcher:
        again = await fetcher.fetch(url)
    assert not again.from_cache and again.text == page.text
    assert web.requests["/articles/itertools.html"] == 2


@pytest.mark.parametrize(("per_host", "total", "expected"), [(2, 16, 2), (8, 1, 1), (8, 16, 5)])
async def test_concurrency_limits(
    web: FixtureWeb, per_host: int, total: int, expected: int
) -> None:
    async with WebFetcher(allow_hosts=ALLOW, per_host_limit=per_host, total_limit=total) as fetcher:
        pages = await asyncio.gather(*(fetcher.fetch(web.url(f"/hold/{i}")) for i in range(5)))
    assert [page.text for page in pages] == [f"held /hold/{i}" for i in range(5)]
    assert web.max_in_flight == expected
