"""Main-text extraction from HTML, PDF and text, with the fallback rule and refusals."""

from __future__ import annotations

import pytest

from codehelm.errors import BadInputError
from codehelm.tools import extract
from codehelm.tools.extract import UnsupportedContent, detect_kind, extract_main_text, visible_text
from tests.tools.web_fixtures import PAGES, PNG_BYTES, make_pdf

BOILERPLATE = [
    "Stdlib Weekly",  # logo
    "Sign in",  # navigation
    "cookies",  # cookie banner
    "CloudRocket",  # advertisement
    "weekly Python digest",  # newsletter
    "You might also like",  # related links
    "All rights reserved",  # footer
    "Popular posts",  # sidebar
    "pyfan_88",  # comments
    "Was this page helpful",  # feedback widget
    "window.analytics",  # script
]

# For each fixture page: the first and the last sentence fragment of its article.
ARTICLE_ENDS = {
    "pathlib": ("Python programs joined file names with", "There is rarely a reason to"),
    "itertools": ("toolbox of fast, memory-efficient", "without a\nsingle index variable"),
    "asyncio": ("runs many input and output operations", "awaits its\nresult"),
    "dataclasses": ("generates the boring parts of a class", "convenient to work\nwith"),
    "collections": ("cover most needs", "typing.NamedTuple for the type annotations"),
}


@pytest.mark.parametrize("slug", sorted(ARTICLE_ENDS))
def test_html_keeps_the_article_and_drops_the_boilerplate(slug: str) -> None:
    page = next(page for page in PAGES if page.slug == slug)
    text = extract_main_text(page.body, content_type=page.content_type, source=page.path)
    first, last = ARTICLE_ENDS[slug]
    assert first in text and last in text
    assert text.index(first) < text.index(last)
    assert [phrase for phrase in BOILERPLATE if phrase in text] == []
    around = visible_text(page.body.decode())
    assert len([phrase for phrase in BOILERPLATE if phrase in around]) >= 5


def test_pdf_text() -> None:
    lines = ["Heading of the document", "A sentence about (parentheses) and back\\slashes."]
    assert extract_main_text(make_pdf(lines), content_type="application/pdf") == "\n".join(lines)


def test_a_broken_pdf_is_unsupported() -> None:
    with pytest.raises(UnsupportedContent, match=r"^report\.pdf: not a readable PDF"):
        extract_main_text(b"%PDF-1.4\nnot really a pdf", source="report.pdf")


def test_falls_back_to_the_whole_page_when_the_extractor_misses_the_content() -> None:
    """Here the text sits in a <footer>, which trafilatura drops as boilerplate."""
    sentence = "The heapq module keeps the smallest item of a list at index zero. "
    html = f"<html><body><p>Short intro.</p><footer><p>{sentence * 20}</p></footer></body></html>"
    text = extract_main_text(html.encode(), content_type="text/html")
    assert text.startswith("Short intro.\nThe heapq module")
    assert text.count("heapq") == 20


@pytest.mark.parametrize(
    ("main_chars", "visible_chars", "fallback"),
    [
        (150, 160, True),  # under 200 characters
        (250, 1000, False),  # 25% of the page
        (250, 1500, True),  # under 20% of the page
        (0, 50, True),  # nothing extracted
        (120, 100, False),  # the page has no more to offer than the extractor found
    ],
)
def test_fallback_rule(
    monkeypatch: pytest.MonkeyPatch, main_chars: int, visible_chars: int, fallback: bool
) -> None:
    import trafilatura

    visible = "v" * visible_chars
    monkeypatch.setattr(trafilatura, "extract", lambda *args, **kwargs: "m" * main_chars)
    html = f"<html><body><p>{visible}</p></body></html>".encode()
    assert extract_main_text(html, content_type="text/html") == (
        visible if fallback else "m" * main_chars
    )
    assert extract.MIN_MAIN_CHARS == 200 and extract.MIN_MAIN_RATIO == 0.2


def test_visible_text_skips_scripts_and_styles_and_breaks_blocks() -> None:
    html = (
        "<html><head><title>T</title><style>p {color: red}</style></head><body>"
        "<script>var hidden = 1;</script><h1>Title</h1><p>One <b>bold</b>&amp;more</p>"
        "<ul><li>a</li><li>b</li></ul></body></html>"
    )
    assert visible_text(html) == "Title\nOne bold&more\na\nb"


def test_text_and_markdown_are_decoded_as_they_are() -> None:
    markdown = "# Notes\n\n* caf\u00e9 au lait\n"
    assert extract_main_text(markdown.encode(), content_type="text/markdown") == markdown
    latin1 = "caf\u00e9".encode("latin-1")
    assert extract_main_text(latin1, content_type="text/plain; charset=ISO-8859-1") == "caf\u00e9"
    assert extract_main_text(latin1, content_type="text/plain") == "caf\ufffd"
    assert extract_main_text(latin1, content_type="text/plain; charset=bogus") == "caf\ufffd"


def test_html_charset_from_the_content_type() -> None:
    html = "<html><body><p>Der Gr\u00fc\u00dfe wegen.</p></body></html>".encode("cp1252")
    text = extract_main_text(html, content_type="text/html; charset=windows-1252")
    assert "Gr\u00fc\u00dfe" in text


@pytest.mark.parametrize(
    ("data", "content_type", "source", "kind"),
    [
        (b"%PDF-1.7 ...", "", "", "pdf"),
        (b"%PDF-1.7 ...", "application/octet-stream", "", "pdf"),
        (b"\n<!DOCTYPE html><html></html>", "", "", "html"),
        (b"<!-- generated --><html lang='en'></html>", "", "", "html"),
        (b"<p>fragment</p>", "", "https://example.org/page.htm", "html"),
        (b"# Title", "", "/notes/readme.md", "text"),
        (b"plain words", "", "", "text"),
        (b"{}", "application/json", "", "text"),
        (b"<html></html>", "text/plain", "", "text"),  # the server's type wins
    ],
)
def test_detects_the_kind(data: bytes, content_type: str, source: str, kind: str) -> None:
    assert detect_kind(data, content_type=content_type, source=source) == kind


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (PNG_BYTES, "image/png"),
        (PNG_BYTES, ""),
        (PNG_BYTES, "application/octet-stream"),
        (b"PK\x03\x04 zipped", ""),
        (b"text", "application/zip"),
        (b"ab\x00\x01\x02cd", ""),
        (b"\x1f\x8b\x08\x00", "application/octet-stream"),
    ],
)
def test_binary_content_is_unsupported(data: bytes, content_type: str) -> None:
    with pytest.raises(
        UnsupportedContent, match=r"^https://example\.org/x: .*not( a)? text"
    ) as caught:
        extract_main_text(data, content_type=content_type, source="https://example.org/x")
    assert isinstance(caught.value, BadInputError)
    assert "\n" not in str(caught.value)
