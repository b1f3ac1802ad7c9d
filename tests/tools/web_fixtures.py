"""A small fixture web on 127.0.0.1: article pages wrapped in boilerplate, a PDF, and traps.

`serve_fixture_web()` starts a real HTTP server (stdlib, in a thread, on a free port)
and yields a `FixtureWeb`: its `base_url`, its `pages` (the documents worth reading)
and counters kept server-side (requests and their headers per path, concurrent requests,
bytes sent by the huge pages). `with serve_fixture_web() as (base_url, pages):` also works.

Besides the pages it serves:
    /                       an index linking to every page
    /redirect/private       302 to http://10.0.0.1/
    /redirect/metadata      302 to http://169.254.169.254/latest/meta-data
    /redirect/chain/1       301 → /redirect/chain/2 → 307 → /redirect/chain/3 → 302 → pathlib
    /redirect/loop          302 to itself
    /huge                   HUGE_BYTES of HTML with a Content-Length
    /huge-chunked           HUGE_BYTES of HTML without one (read until the server closes)
    /image.png              a PNG image;  /blob  the same bytes as application/octet-stream
    /slow                   answers after SLOW_SECONDS
    /hold/<anything>        answers after HOLD_SECONDS (to observe concurrency)
    anything else           404
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HUGE_BYTES = 64 * 2**20
SLOW_SECONDS = 5.0
HOLD_SECONDS = 0.2

# The smallest valid PNG: one transparent pixel.
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a5b4e5e50000000049454e44ae426082"
)


@dataclass(frozen=True)
class FixturePage:
    """A document of the fixture web; `slug` names its gold file in benchmarks/."""

    slug: str
    path: str
    title: str
    content_type: str
    body: bytes


@dataclass
class FixtureWeb:
    """A running fixture web and what its server observed."""

    base_url: str
    pages: list[FixturePage]
    requests: Counter[str] = field(default_factory=Counter)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # last request's, per path
    in_flight: int = 0  # of /hold/ requests, which is where concurrency is observed
    max_in_flight: int = 0
    huge_bytes_sent: dict[str, int] = field(default_factory=dict)
    huge_done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.base_url, self.pages))

    def url(self, path: str) -> str:
        return self.base_url + path

    def page(self, slug: str) -> FixturePage:
        return next(page for page in self.pages if page.slug == slug)

    def reset(self) -> None:
        """Forget what the server observed (between tests sharing one server)."""
        with self.lock:
            self.requests.clear()
            self.headers.clear()
            self.max_in_flight = self.in_flight
            self.huge_bytes_sent.clear()
            self.huge_done.clear()


@contextmanager
def serve_fixture_web() -> Iterator[FixtureWeb]:
    """Serve the fixture web on a free port of 127.0.0.1 until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    web = FixtureWeb(base_url=f"http://127.0.0.1:{server.server_address[1]}", pages=PAGES)
    server.web = web  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="fixture-web", daemon=True)
    thread.start()
    try:
        yield web
    finally:
        web.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        web: FixtureWeb = self.server.web  # type: ignore[attr-defined]
        path = self.path.split("?", 1)[0]
        with web.lock:
            web.requests[path] += 1
            web.headers[path] = dict(self.headers.items())
        try:
            self._route(web, path)
        except ConnectionError:  # the client hung up (timeouts, refusals): expected here
            self.close_connection = True

    def _route(self, web: FixtureWeb, path: str) -> None:
        pages = {page.path: page for page in web.pages}
        redirects = {
            "/redirect/private": (302, "http://10.0.0.1/"),
            "/redirect/metadata": (302, "http://169.254.169.254/latest/meta-data"),
            "/redirect/chain/1": (301, "/redirect/chain/2"),
            "/redirect/chain/2": (307, web.url("/redirect/chain/3")),
            "/redirect/chain/3": (302, "/articles/pathlib.html"),
            "/redirect/loop": (302, "/redirect/loop"),
        }
        if path in pages:
            self._send(200, pages[path].content_type, pages[path].body)
        elif path == "/":
            self._send(200, "text/html; charset=utf-8", _index(web.pages))
        elif path in redirects:
            status, location = redirects[path]
            self._send(status, "text/plain", b"moved", {"Location": location})
        elif path in ("/huge", "/huge-chunked"):
            self._send_huge(web, path)
        elif path == "/image.png":
            self._send(200, "image/png", PNG_BYTES)
        elif path == "/blob":
            self._send(200, "application/octet-stream", PNG_BYTES)
        elif path == "/slow":
            web.stopping.wait(SLOW_SECONDS)
            self._send(200, "text/plain", b"finally")
        elif path.startswith("/hold/"):
            self._hold(web, path)
        else:
            self._send(404, "text/plain", b"not found")

    def _send(
        self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _hold(self, web: FixtureWeb, path: str) -> None:
        with web.lock:
            web.in_flight += 1
            web.max_in_flight = max(web.max_in_flight, web.in_flight)
        web.stopping.wait(HOLD_SECONDS)
        with web.lock:
            web.in_flight -= 1
        self._send(200, "text/plain; charset=utf-8", f"held {path}".encode())

    def _send_huge(self, web: FixtureWeb, path: str) -> None:
        """Stream HUGE_BYTES, counting what the client accepted before hanging up."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if path == "/huge":
            self.send_header("Content-Length", str(HUGE_BYTES))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        chunk = b"<p>" + b"filler text " * 5000 + b"</p>\n"
        sent = 0
        try:
            while sent < HUGE_BYTES and not web.stopping.is_set():
                piece = chunk[: HUGE_BYTES - sent]
                self.wfile.write(piece)
                sent += len(piece)
        finally:
            with web.lock:
                web.huge_bytes_sent[path] = sent
            web.huge_done.set()


def wait_for_huge(web: FixtureWeb, path: str, timeout: float = 10.0) -> int:
    """Bytes the server managed to send for `path` once its handler has finished."""
    deadline = time.monotonic() + timeout
    while path not in web.huge_bytes_sent and time.monotonic() < deadline:
        web.huge_done.wait(0.05)
    return web.huge_bytes_sent[path]


def _index(pages: list[FixturePage]) -> bytes:
    links = "".join(f'<li><a href="{p.path}">{p.title}</a></li>' for p in pages)
    head = "<!doctype html><html><head><title>Fixture web</title></head>"
    return f"{head}<body><h1>Reading list</h1><ul>{links}</ul></body></html>".encode()


def make_pdf(lines: list[str]) -> bytes:
    """A minimal valid one-page PDF showing `lines` in Helvetica."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    shown = " ".join(f"({escape(line)}) Tj T*" for line in lines)
    stream = f"BT /F1 11 Tf 14 TL 60 760 Td {shown} ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


# --- the pages -------------------------------------------------------------------------

_NAV = """
<nav class="site-nav">
  <a href="/">Home</a> | <a href="/articles/pathlib.html">Files</a> |
  <a href="/articles/itertools.html">Iteration</a> |
  <a href="/articles/asyncio.html">Concurrency</a> |
  <a href="/articles/dataclasses.html">Data</a> |
  <a href="/articles/collections.html">Containers</a> |
  <a href="/about">About us</a> | <a href="/subscribe">Subscribe</a> | <a href="/login">Sign in</a>
</nav>
"""

_COOKIES = """
<div id="cookie-banner" class="cookie-consent">
  <p>We use cookies and similar technologies to improve your browsing experience, analyse
  site traffic and personalise advertising. By clicking Accept all you agree to the storing
  of cookies on your device. You can change your preferences at any time in Cookie settings.</p>
  <button>Accept all</button> <button>Reject non-essential</button>
  <a href="/privacy">Cookie settings</a>
</div>
"""

_AD = """
<div class="ad-slot sponsored">
  <span>Advertisement</span>
  <p>Deploy your Python apps in seconds with CloudRocket Pro. Free tier includes 3 servers,
  unlimited bandwidth and 24/7 support. Start your free trial today, no credit card required!</p>
  <a href="https://ads.example/click?id=42">Learn more</a>
</div>
"""

_NEWSLETTER = """
<aside class="newsletter">
  <h3>Get the weekly Python digest</h3>
  <p>Join 40,000 developers who receive our hand-picked tutorials, job offers and conference
  news every Tuesday. We never share your address. Unsubscribe with one click.</p>
  <form><input type="email" placeholder="you@example.com"><button>Sign me up</button></form>
</aside>
"""

_FOOTER = """
<footer class="site-footer">
  <ul>
    <li><a href="/about">About</a></li><li><a href="/contact">Contact</a></li>
    <li><a href="/privacy">Privacy policy</a></li><li><a href="/terms">Terms of use</a></li>
    <li><a href="/advertise">Advertise with us</a></li><li><a href="/careers">Careers</a></li>
  </ul>
  <p>Copyright 2024 Stdlib Weekly Media Ltd. All rights reserved. Registered office:
  12 Example Street, Springfield. Python is a registered trademark of the Python Software
  Foundation. This site is not affiliated with the PSF.</p>
  <p>Follow us on Mastodon, YouTube and LinkedIn for daily tips.</p>
</footer>
"""

_RELATED = """
<section class="related">
  <h3>You might also like</h3>
  <ul>
    <li><a href="/articles/itertools.html">Ten iterator tricks your colleagues will envy</a></li>
    <li><a href="/articles/asyncio.html">Why your event loop is blocked (and how to fix it)</a></li>
    <li><a href="/articles/collections.html">Stop writing dictionaries of lists by hand</a></li>
    <li><a href="/jobs">Python jobs near you: 1,200 new openings this week</a></li>
  </ul>
</section>
"""

_COMMENTS = """
<section id="comments" class="comments">
  <h3>3 comments</h3>
  <div class="comment"><b>pyfan_88</b> said: Great post, bookmarked! I always forget this.</div>
  <div class="comment"><b>dmitri</b> said: You should mention that this was slower in Python 2,
  back in the day we had to write everything ourselves.</div>
  <div class="comment"><b>anna_k</b> said: Thanks, this saved my afternoon.</div>
  <form><textarea placeholder="Leave a comment"></textarea><button>Post comment</button></form>
</section>
"""


def _magazine(title: str, byline: str, article: str) -> str:
    """Semantic HTML5: header, main/article, aside, footer."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Stdlib Weekly</title>
<style>body {{ font-family: sans-serif; }} .ad-slot {{ border: 1px solid #ccc; }}</style>
<script>window.analytics = {{ track: function () {{ return "pageview"; }} }};</script>
</head><body>
<header><div class="logo">Stdlib Weekly</div>{_NAV}</header>
{_COOKIES}
<main>
<article>
<h1>{title}</h1>
<p class="byline">{byline}</p>
{article}
</article>
{_AD}
{_RELATED}
</main>
{_NEWSLETTER}
{_FOOTER}
<script>document.getElementById("cookie-banner").style.display = "block";</script>
</body></html>"""


def _blog(title: str, byline: str, article: str) -> str:
    """Old-style div soup with a sidebar and a comment thread."""
    return f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{title} - The Iterating Pythonista</title></head>
<body><div id="wrapper">
<div id="top">{_NAV}</div>
{_COOKIES}
<div id="content-area">
<div class="sidebar">
  <div class="widget"><h4>Popular posts</h4><ul>
  <li><a href="/p/1">How I learned to love the GIL</a></li>
  <li><a href="/p/2">Five editors compared for 2024</a></li>
  <li><a href="/p/3">My home office setup tour</a></li></ul></div>
  {_AD}
  <div class="widget"><h4>Tags</h4><a href="/t/python">python</a> <a href="/t/tips">tips</a>
  <a href="/t/stdlib">stdlib</a> <a href="/t/performance">performance</a></div>
</div>
<div class="post">
<div class="post-title"><h2>{title}</h2></div>
<div class="post-meta">{byline}</div>
<div class="post-body">
{article}
</div>
<div class="share">Share this:
<a href="#">Twitter</a> <a href="#">Facebook</a> <a href="#">Email</a></div>
</div>
{_COMMENTS}
</div>
{_FOOTER}
</div></body></html>"""


def _docs(title: str, byline: str, article: str) -> str:
    """Documentation site: breadcrumbs, table of contents, feedback widget."""
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title} — PyGuide documentation</title></head>
<body>
<div class="topbar"><span>PyGuide 3.12</span> <input placeholder="Search the docs"> {_NAV}</div>
{_COOKIES}
<div class="layout">
<div class="toc"><h4>On this page</h4><ul><li><a href="#intro">Introduction</a></li>
<li><a href="#usage">Usage</a></li><li><a href="#pitfalls">Pitfalls</a></li>
<li><a href="#see-also">See also</a></li></ul>
<h4>Previous topic</h4><p><a href="/articles/itertools.html">itertools</a></p>
<h4>Next topic</h4><p><a href="/articles/collections.html">collections</a></p></div>
<div class="document">
<div class="breadcrumbs"><a href="/">Home</a> »
<a href="/library">Library reference</a> » {title}</div>
<div class="body" role="main">
<h1>{title}</h1>
<p class="meta">{byline}</p>
{article}
</div>
<div class="feedback">Was this page helpful? <button>Yes</button> <button>No</button>
Report a bug in this page on our issue tracker.</div>
</div></div>
{_FOOTER}
</body></html>"""


_PATHLIB = """
<p>For years, Python programs joined file names with <code>os.path.join</code> and passed
strings around. The <code>pathlib</code> module, added in Python 3.4, replaces those strings
with path objects that know how to combine, inspect and open themselves.</p>
<h2>Paths are objects, not strings</h2>
<p>A <code>Path</code> is built from segments and joined with the slash operator, so
<code>Path.home() / "projects" / "notes.txt"</code> reads like the path it produces. The
object exposes its parts directly: <code>name</code> is the final component,
<code>suffix</code> is the extension and <code>parent</code> is the containing directory.</p>
<p>Because the class is chosen for the running platform, the same code produces a
<code>PosixPath</code> on Linux and a <code>WindowsPath</code> on Windows, and separators are
handled for you.</p>
<div class="inline-ad">Advertisement: Master Python in 30 days with our video course. Use
code PATHS20 for 20% off.</div>
<h2>Reading and writing without ceremony</h2>
<p>Small files no longer need an explicit <code>open</code> call. The methods
<code>read_text</code> and <code>write_text</code> open, read or write, and close the file in
one step, and their binary counterparts do the same for bytes.</p>
<pre><code>from pathlib import Path
config = Path("settings.toml")
if config.exists():
    print(config.read_text(encoding="utf-8"))</code></pre>
<h2>Finding files</h2>
<p>The <code>glob</code> method matches a pattern inside a directory, and <code>rglob</code>
searches every subdirectory as well. Combined with <code>stat</code>, a few lines find the
largest log files in a tree or every test module in a project.</p>
<p>Most functions in the standard library accept path objects wherever they accept strings,
because paths implement the <code>os.PathLike</code> protocol. There is rarely a reason to
convert back with <code>str</code>.</p>
"""

_ITERTOOLS = """
<p>The <code>itertools</code> module is a toolbox of fast, memory-efficient building blocks
for working with iterators. Each function returns a lazy iterator, so even an endless
stream of values costs almost nothing until it is consumed.</p>
<p>Three of its functions produce infinite iterators. <code>count</code> yields evenly spaced
numbers starting from a value, <code>cycle</code> repeats the items of an iterable forever,
and <code>repeat</code> returns the same object again and again, optionally a fixed number of
times.</p>
<p>The combinatoric functions answer questions that would otherwise need nested loops:</p>
<ul>
<li><code>product</code> gives the Cartesian product of several iterables.</li>
<li><code>permutations</code> gives every ordering of a given length.</li>
<li><code>combinations</code> gives every selection of a given length, in sorted order.</li>
</ul>
<p class="read-also">Read also: <a href="/p/7">Generators explained with cats</a></p>
<blockquote>Each function returns an iterator, and iterators compose.</blockquote>
<p>Grouping is handled by <code>groupby</code>, which collects consecutive items that share a
key. It only groups neighbours, so the input is usually sorted by the same key first; a
common mistake is to forget that step and get the same key several times.</p>
<p>Since Python 3.12, <code>batched</code> splits an iterable into tuples of a fixed size, a
recipe that people had copied from the documentation for a decade. Together with
<code>chain</code> and <code>islice</code>, it covers most everyday stream processing without a
single index variable.</p>
"""

_ASYNCIO = """
<p>The <code>asyncio</code> library runs many input and output operations concurrently in a
single thread. Instead of blocking, a coroutine awaits, and the event loop switches to
another task that is ready to continue.</p>
<h2>Starting the loop</h2>
<p>Modern programs call <code>asyncio.run</code> once, with the top-level coroutine. It
creates a fresh event loop, runs the coroutine to completion and closes the loop, including
any asynchronous generators that are still open.</p>
<h2>Running tasks side by side</h2>
<p>A coroutine does nothing until it is awaited or wrapped in a task. The table compares the
usual ways of running several of them at once.</p>
<table>
<tr><th>Function</th><th>What it does</th></tr>
<tr><td>create_task</td><td>schedules one coroutine to run soon</td></tr>
<tr><td>gather</td><td>awaits several awaitables and returns their results in order</td></tr>
<tr><td>TaskGroup</td><td>cancels the remaining tasks when one of them fails</td></tr>
<tr><td>wait_for</td><td>awaits one awaitable with a timeout</td></tr>
</table>
<figure><img src="/img/loop.png" alt="">
<figcaption>Figure 1: one event loop switching between three tasks.</figcaption></figure>
<p>Since Python 3.11, <code>TaskGroup</code> is the recommended choice: when a task raises an
exception, its siblings are cancelled and the errors are reported together as an exception
group.</p>
<h2>Never block the loop</h2>
<p>A call to a slow synchronous function, such as reading a large file or hashing a big
buffer, stops every task at once. Such work belongs in a thread, and
<code>asyncio.to_thread</code> runs a function in the default executor and awaits its
result.</p>
"""

_DATACLASSES = """
<h2 id="intro">Introduction</h2>
<p>The <code>dataclasses</code> module generates the boring parts of a class from its type
annotations. Decorating a class with <code>@dataclass</code> writes the
<code>__init__</code>, <code>__repr__</code> and <code>__eq__</code> methods from the declared
fields, in the order they are declared.</p>
<h2 id="usage">Usage</h2>
<p>Each annotated class attribute becomes a field, and a value assigned to it becomes the
default. Fields with defaults must come after fields without them, exactly as with function
parameters.</p>
<p>Passing <code>frozen=True</code> makes instances immutable: assigning to a field raises
<code>FrozenInstanceError</code>, and frozen instances with hashable fields can be used as
dictionary keys. The <code>slots=True</code> option, added in Python 3.10, generates
<code>__slots__</code> and makes instances smaller and attribute access slightly faster.</p>
<h2 id="pitfalls">Pitfalls</h2>
<p>A mutable default such as a list would be shared by every instance, so the decorator
refuses it. Use <code>field(default_factory=list)</code> to build a new list for each
instance instead.</p>
<p>The helpers <code>asdict</code> and <code>replace</code> convert an instance to a dictionary
and copy it with some fields changed, which keeps frozen objects convenient to work
with.</p>
"""

_COLLECTIONS = """
<p>Python's built-in <code>dict</code>, <code>list</code> and <code>tuple</code> cover most needs,
but the <code>collections</code> module adds specialised containers that remove whole classes of
boilerplate from everyday code.</p>
<p><code>Counter</code> counts hashable objects. Feeding it a list of words gives a mapping
from each word to its frequency, and <code>most_common</code> returns the top entries sorted
by count.</p>
<p><code>defaultdict</code> calls a factory for missing keys, so grouping values under a key
no longer needs a check before every append. A <code>defaultdict(list)</code> is the usual way
to build an index from a sequence of pairs.</p>
<p><code>deque</code> is a double-ended queue with fast appends and pops at both ends. With a
<code>maxlen</code> it keeps only the most recent items, which makes a sliding window or a
bounded history a one-liner.</p>
<p>Finally, <code>namedtuple</code> creates tuple subclasses whose fields have names. They
are as light as tuples and print readably, although new code often prefers a frozen
dataclass or <code>typing.NamedTuple</code> for the type annotations.</p>
"""

_ZIPFILE_LINES = [
    "The zipfile module: reading and writing ZIP archives",
    "The zipfile module creates, reads, writes, appends to and lists ZIP files.",
    "A ZipFile object is opened like a file, preferably in a with statement.",
    "The namelist method returns the names of the members of the archive.",
    "Members are compressed with ZIP_DEFLATED when the zlib module is available.",
    "The extractall method writes every member below a target directory.",
    "Never extract archives from untrusted sources without checking member names,",
    "since a name may contain an absolute path or parent directory references.",
]

PAGES = [
    FixturePage(
        "pathlib",
        "/articles/pathlib.html",
        "Stop juggling strings: a tour of pathlib",
        "text/html; charset=utf-8",
        _magazine(
            "Stop juggling strings: a tour of pathlib",
            "By Maria Lopez, 3 March 2024",
            _PATHLIB,
        ).encode(),
    ),
    FixturePage(
        "itertools",
        "/articles/itertools.html",
        "Iterators all the way down with itertools",
        "text/html",  # no charset: the page's meta tag says utf-8
        _blog(
            "Iterators all the way down with itertools",
            "Posted by Sam Okafor on 12 January 2024",
            _ITERTOOLS,
        ).encode(),
    ),
    FixturePage(
        "asyncio",
        "/articles/asyncio.html",
        "A practical introduction to asyncio",
        "text/html; charset=utf-8",
        _magazine(
            "A practical introduction to asyncio",
            "By Priya Raman, 21 May 2024",
            _ASYNCIO,
        ).encode(),
    ),
    FixturePage(
        "dataclasses",
        "/articles/dataclasses.html",
        "dataclasses — classes that write themselves",
        "text/html; charset=utf-8",
        _docs(
            "dataclasses — classes that write themselves",
            "Last updated 8 April 2024",
            _DATACLASSES,
        ).encode(),
    ),
    FixturePage(
        "collections",
        "/articles/collections.html",
        "Four containers from collections you should know",
        "text/html; charset=utf-8",
        _blog(
            "Four containers from collections you should know",
            "Posted by Jonas Berg on 30 June 2024",
            _COLLECTIONS,
        ).encode(),
    ),
    FixturePage(
        "zipfile",
        "/docs/zipfile.pdf",
        "The zipfile module: reading and writing ZIP archives",
        "application/pdf",
        make_pdf(_ZIPFILE_LINES),
    ),
]
