"""The viewer's templates, the filters they use (highlighting by Pygments on the server,
Markdown with clickable citations, short numbers), and timeline steps rendered once."""

from __future__ import annotations

import re
from collections import OrderedDict
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from jinja2 import ChainableUndefined, Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup
from pygments import highlight as pygmentize
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name

from codehelm.runtime.trace import TraceEvent

STATUS_LABELS = {"running": "live"}
"""What the viewer calls a stored status ("running" with its process alive)."""

_FORMATTER = HtmlFormatter(cssclass="hl")
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")
_CITE = re.compile(r"\[(\d+)\]")


@lru_cache(maxsize=4096)
def highlight(code: str, language: str = "python") -> Markup:
    """`code` as highlighted HTML (the same program is often shown twice: cached)."""
    return Markup(pygmentize(code, get_lexer_by_name(language), _FORMATTER))


def markdown(text: str) -> Markup:
    """Markdown as HTML (raw HTML in it escaped), each `[n]` a link to citation n."""
    html = _MARKDOWN.render(text)
    return Markup(_CITE.sub(r'<a class="cite" href="#cite-\1">[\1]</a>', html))


def web_link(source: str) -> str | None:
    """`source` if it is a web address (a link to follow), else None (a path: shown as text)."""
    return source if source.startswith(("http://", "https://")) else None


def pygments_css() -> str:
    return str(_FORMATTER.get_style_defs(".hl"))


def duration(ms: float | None) -> str:
    if ms is None:
        return ""
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def money(usd: object) -> str:
    return f"${usd:.4f}" if isinstance(usd, int | float) else "–"


def when(timestamp: str | None) -> str:
    """An ISO time as `YYYY-MM-DD HH:MM:SS` (UTC)."""
    if not timestamp:
        return ""
    return datetime.fromisoformat(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=ChainableUndefined,  # a field an older trace lacks shows as nothing
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        highlight=highlight,
        markdown=markdown,
        duration=duration,
        money=money,
        when=when,
        status_label=status_label,
        web_link=web_link,
    )
    return env


class Steps:
    """Each step of a timeline as HTML, rendered once: a trace event changes only while its
    call runs (its status says so), so long runs are not rendered again on every load."""

    def __init__(self, env: Environment, size: int = 50_000) -> None:
        self.macro = env.get_template("event.html").module.step  # type: ignore[attr-defined]
        self.size = size
        self.done: OrderedDict[tuple[str, str, int, str], Markup] = OrderedDict()

    def html(self, store: str, event: TraceEvent) -> Markup:
        key = (store, event.run_id, event.id, event.status)
        if key in self.done:
            self.done.move_to_end(key)
            return self.done[key]
        html = Markup(self.macro(event))
        if event.status != "running":
            self.done[key] = html
            if len(self.done) > self.size:
                self.done.popitem(last=False)
        return html
