"""Fetch web pages for research: an SSRF guard on every hop, limits, a content-addressed cache.

SSRF design: redirects are followed here, one hop at a time, and every hop's URL is
checked (http/https only, no `localhost`-like or metadata names). The address check
happens where the socket is opened: the httpx transport uses a network backend that
resolves the host itself, refuses loopback, private, link-local (cloud metadata),
unspecified, multicast, reserved and other non-global addresses, and then connects to
exactly the address it checked. So a name cannot resolve to a public address for the
check and to a private one for the connection (DNS rebinding), and TLS still verifies
the certificate against the URL's host name. Hosts, addresses or networks named in
`allow_hosts` are let through (tests allow 127.0.0.1). Proxies from the environment
are ignored, since a proxy would make the connected address meaningless.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import os
import socket
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import httpcore
import httpx
from pydantic import BaseModel, ConfigDict

from codehelm.errors import BadInputError, CodehelmError
from codehelm.tools.extract import UnsupportedContent, detect_kind, extract_main_text
from codehelm.tools.sandbox.base import ClosesOnExit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_BLOCKED_NAMES = frozenset(
    {"localhost", "ip6-localhost", "ip6-loopback", "metadata", "metadata.google.internal"}
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _user_agent() -> str:
    try:
        release = version("codehelm")
    except PackageNotFoundError:  # running from a source tree that is not installed
        release = "dev"
    return f"codehelm/{release} (research agent; +https://pypi.org/project/codehelm/)"


_USER_AGENT = _user_agent()  # read from the package's metadata on disk once, at import


class FetchRefused(BadInputError):
    """The fetcher will not fetch this URL (unsafe address or scheme, too large, not text)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"refused {url}: {reason}")
        self.url = url
        self.reason = reason


class FetchFailed(CodehelmError):
    """The fetch failed: network error, timeout, HTTP status of 400 or more."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"could not fetch {url}: {reason}")
        self.url = url
        self.reason = reason


class Page(BaseModel):
    """A fetched page: where it came from and its extracted main text."""

    model_config = ConfigDict(frozen=True)

    url: str  # after redirects
    requested_url: str
    status: int
    content_type: str
    text: str
    content_hash: str  # sha256 of the body bytes
    fetched_at: datetime
    from_cache: bool = False


class _Blocked(Exception):
    """Raised inside the transport; `fetch` turns it into `FetchRefused` naming the URL."""


class HostPolicy:
    """Which hosts the fetcher may connect to: public addresses, plus `allow_hosts`.

    `allow_hosts` entries are host names, IP addresses or networks (`10.1.0.0/16`).
    """

    def __init__(self, allow_hosts: Iterable[str] = ()) -> None:
        self._names: set[str] = set()
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in allow_hosts:
            try:
                self._networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                self._names.add(_normal_name(entry))

    def check_name(self, host: str) -> None:
        """Refuse names that only ever mean this machine or a cloud metadata service."""
        name = _normal_name(host)
        if name in self._names:
            return
        if name in _BLOCKED_NAMES or name.endswith(".localhost"):
            raise _Blocked(f"{host} is a local or metadata host name")

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses of `host` to connect to; refused unless every one is allowed."""
        self.check_name(host)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))
        if _normal_name(host) not in self._names:
            for address in addresses:
                self._check_address(host, ipaddress.ip_address(address))
        return addresses

    def _check_address(self, host: str, ip: IPAddress) -> None:
        if any(ip in network for network in self._networks):
            return
        problem = _address_problem(ip)
        if problem:
            shown = host if host == str(ip) else f"{host} ({ip})"
            raise _Blocked(f"{shown} is {problem}")


def _normal_name(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def _address_problem(ip: IPAddress) -> str | None:
    """Why `ip` must not be reached, or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return _address_problem(embedded)
        if ip.is_site_local:
            return "a site-local address"
    for problem, found in (
        ("a loopback address", ip.is_loopback),
        ("a link-local address", ip.is_link_local),
        ("an unspecified address", ip.is_unspecified),
        ("a private address", ip.is_private),
        ("a multicast address", ip.is_multicast),
        ("a reserved address", ip.is_reserved),
        ("not a globally routable address", not ip.is_global),
    ):
        if found:
            return problem
    return None


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the policy accepted, and to exactly those addresses."""

    def __init__(self, policy: HostPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._policy.resolve(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        error: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with its connection pool built on `_GuardedBackend`.

    httpx has no public way to pass a network backend, so the pool (`_pool`, which
    `AsyncHTTPTransport` only delegates to) is replaced; `test_pinned_connection`
    fails if a new httpx stops using it.
    """

    def __init__(self, policy: HostPolicy, *, max_connections: int) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            keepalive_expiry=5.0,  # httpx's default
            network_backend=_GuardedBackend(policy),
        )


class WebCache:
    """On-disk cache: an index from URL to the sha256 of its body, bodies stored by hash.

    Layout: `index/<sha256(url)>.json` (the page without its text), `blobs/<hash>`
    (the body) and `blobs/<hash>.txt` (its extracted text). Identical bodies under
    several URLs are stored once. Every write is atomic (temp file + os.replace).
    Blocking methods: call them in a thread.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def load(self, url: str) -> Page | None:
        try:
            entry = self._index(url).read_text(encoding="utf-8")
            page = Page.model_validate_json(entry)
            text = self._blob(page.content_hash).with_suffix(".txt").read_text(encoding="utf-8")
        except (OSError, ValueError):  # missing or damaged: fetch again
            return None
        return page.model_copy(update={"requested_url": url, "text": text, "from_cache": True})

    def store(self, page: Page, body: bytes) -> None:
        blob = self._blob(page.content_hash)
        if not blob.exists():
            _write_atomic(blob, body)
        _write_atomic(blob.with_suffix(".txt"), page.text.encode())
        entry = page.model_copy(update={"text": ""}).model_dump_json(exclude={"from_cache"})
        for url in {page.requested_url, page.url}:
            _write_atomic(self._index(url), entry.encode())

    def _index(self, url: str) -> Path:
        return self.root / "index" / f"{hashlib.sha256(url.encode()).hexdigest()}.json"

    def _blob(self, content_hash: str) -> Path:
        return self.root / "blobs" / content_hash[:2] / content_hash


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class WebFetcher(ClosesOnExit):
    """Fetch pages over http(s) and extract their main text; use as `async with`.

    Limits: `max_bytes` per body (streamed, refused beyond it), `per_host_limit`
    concurrent requests per host and `total_limit` overall, `max_redirects` hops,
    `connect_timeout`/`read_timeout` per network operation and `total_timeout` per
    fetch. With `cache_dir`, each URL is fetched at most once across runs.
    """

    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        allow_hosts: Iterable[str] = (),
        max_bytes: int = 10 * 2**20,
        connect_timeout: float = 10.0,
        read_timeout: float = 20.0,
        total_timeout: float = 60.0,
        per_host_limit: int = 4,
        total_limit: int = 16,
        max_redirects: int = 5,
        user_agent: str | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.total_timeout = total_timeout
        self.policy = HostPolicy(allow_hosts)
        self.cache = WebCache(cache_dir) if cache_dir is not None else None
        self._per_host_limit = per_host_limit
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._slots = asyncio.Semaphore(total_limit)
        self._client = httpx.AsyncClient(
            transport=_GuardedTransport(self.policy, max_connections=total_limit),
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            headers={
                "User-Agent": user_agent or _USER_AGENT,
                "Accept": "text/html,application/xhtml+xml,application/pdf,text/*;q=0.9,*/*;q=0.5",
            },
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str) -> Page:
        """The page at `url` (from the cache when it holds it).

        Raises `FetchRefused` (unsafe, too large, not text) or `FetchFailed`.
        """
        if self.cache is not None:
            cached = await asyncio.to_thread(self.cache.load, url)
            if cached is not None:
                return cached
        async with self._slots:
            try:
                async with asyncio.timeout(self.total_timeout):
                    page, body = await self._download(url)
            except TimeoutError:
                raise FetchFailed(url, f"took longer than {self.total_timeout:g}s") from None
        if self.cache is not None:
            await asyncio.to_thread(self.cache.store, page, body)
        return page

    async def _download(self, url: str) -> tuple[Page, bytes]:
        current = url
        for _ in range(self.max_redirects + 1):
            target = self._checked(current)
            with _errors(current):
                async with self._host_slot(target.host):
                    response = await self._send(target)
                    try:
                        location = response.headers.get("location")
                        if response.status_code in _REDIRECTS and location:
                            current = str(target.join(location))
                            continue
                        if response.status_code >= 400:
                            status = f"HTTP {response.status_code} {response.reason_phrase}"
                            raise FetchFailed(current, status)
                        body = await self._read_body(response, current)
                    finally:
                        await response.aclose()
            content_type = response.headers.get("content-type", "")
            try:
                text = await asyncio.to_thread(
                    extract_main_text, body, content_type=content_type, source=current
                )
            except UnsupportedContent as exc:
                raise FetchRefused(current, exc.reason) from None
            page = Page(
                url=current,
                requested_url=url,
                status=response.status_code,
                content_type=content_type,
                text=text,
                content_hash=hashlib.sha256(body).hexdigest(),
                fetched_at=datetime.now(UTC),
            )
            return page, body
        raise FetchFailed(url, f"more than {self.max_redirects} redirects")

    async def _send(self, target: httpx.URL) -> httpx.Response:
        return await self._client.send(self._client.build_request("GET", target), stream=True)

    def _checked(self, url: str) -> httpx.URL:
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise FetchRefused(url, f"not a valid URL ({exc})") from None
        if target.scheme not in ("http", "https"):
            scheme = target.scheme or "a relative URL"
            raise FetchRefused(url, f"only http and https URLs are fetched, not {scheme}")
        if not target.host:
            raise FetchRefused(url, "the URL has no host")
        try:
            self.policy.check_name(target.host)
        except _Blocked as exc:
            raise FetchRefused(url, str(exc)) from None
        return target

    @contextlib.asynccontextmanager
    async def _host_slot(self, host: str) -> AsyncIterator[None]:
        slot = self._host_slots.setdefault(host.lower(), asyncio.Semaphore(self._per_host_limit))
        async with slot:
            yield

    async def _read_body(self, response: httpx.Response, url: str) -> bytes:
        """The body, refused as soon as it is known to exceed `max_bytes` or not to be text."""
        content_type = response.headers.get("content-type", "")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchRefused(url, f"too large ({declared} bytes, the limit is {self.max_bytes})")
        try:  # an explicit image/audio/archive type is refused before downloading it
            detect_kind(b"", content_type=content_type, source=url)
        except UnsupportedContent as exc:
            raise FetchRefused(url, exc.reason) from None
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchRefused(url, f"too large (more than {self.max_bytes} bytes)")
            chunks.append(chunk)
        return b"".join(chunks)


@contextlib.contextmanager
def _errors(url: str) -> Iterator[None]:
    """Map transport errors to `FetchRefused` / `FetchFailed` naming the hop's URL."""
    try:
        yield
    except _Blocked as exc:
        raise FetchRefused(url, str(exc)) from None
    except httpx.TimeoutException as exc:
        phase = type(exc).__name__.removesuffix("Timeout").lower() or "request"
        raise FetchFailed(url, f"timed out ({phase} timeout)") from None
    except httpx.InvalidURL as exc:  # from a redirect's Location
        raise FetchFailed(url, f"invalid redirect location ({exc})") from None
    except httpx.HTTPError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise FetchFailed(url, f"{type(exc).__name__}: {detail}".rstrip(": ")) from None
