"""Turn fetched bytes (HTML, PDF, Markdown, plain text) into readable main text.

Synchronous and CPU-only: async callers run `extract_main_text` in a thread.

The kind of document is decided by the content type when it is specific, else by
magic bytes, else by the source's suffix, else by whether the bytes look like text.
"""

from __future__ import annotations

import codecs
import io
import re
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import Literal
from urllib.parse import urlsplit

from codehelm.errors import BadInputError

Kind = Literal["html", "pdf", "text"]

#: Trafilatura's result is replaced by the whole page's visible text when it is
#: shorter than this many characters or than this fraction of the visible text:
#: below that, the extractor has most likely missed the content (e.g. a page made
#: of lists or tables it classifies as boilerplate), and recall matters more to a
#: researcher than dropping a navigation bar.
MIN_MAIN_CHARS = 200
MIN_MAIN_RATIO = 0.2

_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_TEXT_TYPES = {
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-yaml",
}
_BINARY_TYPES = {
    "application/zip",
    "application/gzip",
    "application/x-tar",
    "application/x-7z-compressed",
    "application/vnd.rar",
    "application/wasm",
    "application/x-msdownload",
}
_BINARY_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"RIFF",  # WebP, WAV, AVI
    b"PK\x03\x04",  # zip, docx, xlsx, jar
    b"\x1f\x8b",  # gzip
    b"BZh",
    b"\xfd7zXZ",
    b"7z\xbc\xaf",
    b"\x7fELF",
    b"MZ",
    b"OggS",
    b"ID3",
    b"\x00\x00\x01\x00",  # ICO
    b"wOFF",
    b"wOF2",
)
_SUFFIX_KINDS: dict[str, Kind] = {
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".pdf": "pdf",
    ".md": "text",
    ".markdown": "text",
    ".txt": "text",
    ".rst": "text",
}
_HTML_START = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S
)


class UnsupportedContent(BadInputError):
    """The content is binary and not a document we can read (image, archive, ...)."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}" if source else reason)
        self.source = source
        self.reason = reason


def extract_main_text(data: bytes, *, content_type: str = "", source: str = "") -> str:
    """Main-content text of `data`: an HTML page's article, a PDF's text, or text as is.

    `content_type` is the HTTP Content-Type (with an optional charset); `source` is a
    URL or path, used for error messages and as a last hint of the kind (its suffix).
    Raises `UnsupportedContent` for binary content that is not a document.
    """
    kind = detect_kind(data, content_type=content_type, source=source)
    if kind == "pdf":
        return _pdf_text(data, source)
    charset = _charset(content_type)
    if kind == "html":
        return _html_main_text(_decode_html(data, charset), source)
    return data.decode(charset or "utf-8-sig", errors="replace")


def detect_kind(data: bytes, *, content_type: str = "", source: str = "") -> Kind:
    """Decide how to read `data`; raise `UnsupportedContent` when it is not a document."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in _HTML_TYPES:
        return "html"
    if mime == "application/pdf":
        return "pdf"
    if mime.startswith("text/") or mime in _TEXT_TYPES or mime.endswith(("+json", "+xml")):
        return "text"
    if mime in _BINARY_TYPES or mime.split("/", 1)[0] in {"image", "audio", "video", "font"}:
        raise UnsupportedContent(source, f"{mime} is not a text document")
    # Generic or missing type (application/octet-stream, ...): look at the bytes.
    head = data[:1024]
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(_BINARY_MAGIC):
        raise _binary(source, mime)
    if _HTML_START.match(head):
        return "html"
    suffix = PurePosixPath(urlsplit(source).path).suffix.lower()
    if suffix in _SUFFIX_KINDS:
        return _SUFFIX_KINDS[suffix]
    if b"\x00" in data[:8192]:
        raise _binary(source, mime)
    return "text"


def visible_text(html: str) -> str:
    """All text a reader would see in `html`: no scripts or styles, one line per block."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return _tidy("".join(parser.parts))


def _html_main_text(html: str, source: str) -> str:
    import trafilatura  # heavy (lxml, dateparser): load on first use

    main = (
        trafilatura.extract(
            html,
            url=source or None,
            favor_recall=True,
            include_comments=False,
            include_tables=True,
            deduplicate=False,
        )
        or ""
    ).strip()
    visible = visible_text(html)
    if len(main) < max(MIN_MAIN_CHARS, MIN_MAIN_RATIO * len(visible)) and len(visible) > len(main):
        return visible
    return main


def _pdf_text(data: bytes, source: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnsupportedContent(source, "an encrypted PDF that needs a password")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError) as exc:
        raise UnsupportedContent(source, f"not a readable PDF ({exc})") from exc
    return "\n\n".join(p.strip() for p in pages if p.strip())


def _decode_html(data: bytes, charset: str | None) -> str:
    if charset:
        return data.decode(charset, errors="replace")
    from trafilatura.utils import decode_file  # sniffs <meta charset> and the bytes

    return decode_file(data)


def _charset(content_type: str) -> str | None:
    match = re.search(r"charset\s*=\s*\"?([\w.:-]+)", content_type, re.I)
    if match is None:
        return None
    try:
        return codecs.lookup(match.group(1)).name
    except LookupError:  # an unknown charset name: fall back to utf-8
        return None


def _binary(source: str, mime: str) -> UnsupportedContent:
    return UnsupportedContent(source, f"binary content ({mime or 'no content type'}), not text")


def _tidy(text: str) -> str:
    lines = (re.sub(r"[ \t\r\f\v\xa0]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


class _VisibleText(HTMLParser):
    """Collect text outside script/style/head-like elements, breaking lines at blocks."""

    _HIDDEN = frozenset({"script", "style", "noscript", "template", "title", "svg", "iframe"})
    _BLOCK = re.compile(
        r"address|article|aside|blockquote|br|d[dlt]|div|fieldset|fig(caption|ure)|footer|form"
        r"|h[1-6r]|header|li|main|nav|ol|p|pre|section|t[dhr]|table|ul"
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif self._BLOCK.fullmatch(tag):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif self._BLOCK.fullmatch(tag):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)
