"""The local corpus: real HTML, Markdown, text and PDF files extracted, split into
passages, BM25-indexed and cached on disk between runs."""

from __future__ import annotations

import asyncio
import os
import shutil
from itertools import pairwise
from pathlib import Path

import pytest

from codehelm.errors import ConfigError
from codehelm.tools.search import CorpusSearch, SearchHit
from codehelm.tools.search.base import DocumentStore
from codehelm.tools.search.corpus import split_passages

ASYNCIO_HTML = """<!DOCTYPE html>
<html><head><title>Event loops in asyncio</title></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/pricing">Marzipan pricing</a></li>
<li><a href="/login">Login</a></li></ul></nav>
<header><div class="menu">Subscribe to the Marzipan newsletter</div></header>
<main><article>
<h1>Event loops in asyncio</h1>
<p>The event loop is the core of every asyncio application. Event loops run asynchronous
tasks and callbacks, perform network IO operations, and run subprocesses.</p>
<p>Application developers should typically use the high-level asyncio functions, such as
asyncio.run(), and should rarely need to reference the loop object or call its methods.</p>
<p>The loop schedules coroutines cooperatively: each coroutine runs until it awaits, and
then the loop picks the next ready callback from its queue.</p>
</article></main>
<footer>Copyright Marzipan Corporation. All rights reserved.</footer>
</body></html>
"""

GARDENING_MD = """# Growing tomatoes

Tomatoes need six hours of sun a day. Water them deeply twice a week, and mulch the
soil with compost so the roots stay cool.

## Compost

A compost heap turns kitchen scraps and leaves into humus in about a year.
"""

ASTRONOMY_TXT = """Moons of Jupiter

Jupiter has ninety-five known moons. The four largest, Io, Europa, Ganymede and
Callisto, were discovered by Galileo Galilei in 1610 and are called the Galilean moons.
"""

FILLER = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]


def filler(words: int) -> str:
    return " ".join(FILLER[i % len(FILLER)] for i in range(words))


#: 300 filler words, a sentence on zymurgy, 300 more: the sentence is in the middle.
BREWING_RST = f"""Cellar handbook
===============

{filler(300)} Zymurgy is the branch of chemistry that studies fermentation in brewing.
{filler(300)}
"""


def minimal_pdf(*lines: str) -> bytes:
    """A one-page PDF showing `lines` in Helvetica, with a correct cross-reference table."""
    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
        " /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
    ]
    pdf = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(pdf)
    pdf += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    pdf += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    pdf += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    return pdf + f"startxref\n{xref}\n%%EOF\n".encode()


VOLCANO_PDF = minimal_pdf(
    "Volcanic eruptions",
    "Explosive eruptions inject sulfur dioxide into the stratosphere,",
    "where it forms aerosols that cool the climate for a year or two.",
)

DOCUMENTS: dict[str, str | bytes] = {
    "guide/asyncio.html": ASYNCIO_HTML,
    "notes/gardening.md": GARDENING_MD,
    "astronomy.txt": ASTRONOMY_TXT,
    "deep/er/brewing.rst": BREWING_RST,
    "reports/volcanoes.pdf": VOLCANO_PDF,
}


def make_corpus(folder: Path) -> Path:
    for name, content in DOCUMENTS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    # Left out: hidden files and folders, and suffixes that are not documents.
    (folder / ".drafts").mkdir()
    (folder / ".drafts" / "secret.md").write_text("Zanzibar treasure map.")
    (folder / ".zanzibar.txt").write_text("Zanzibar treasure map.")
    (folder / "zanzibar.csv").write_text("place\nZanzibar\n")
    return folder


def change(path: Path, text: str) -> None:
    """Rewrite `path` and make sure its mtime moves even on coarse-grained filesystems."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return make_corpus(tmp_path / "corpus")


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> CorpusSearch:
    """One corpus, indexed once, for the tests that only search it."""
    folder = make_corpus(tmp_path_factory.mktemp("shared") / "corpus")
    return CorpusSearch(folder, tmp_path_factory.mktemp("shared-cache"))


def first(hits: list[SearchHit]) -> str:
    assert hits, "no hits"
    return Path(hits[0].url).name


@pytest.mark.parametrize(
    ("query", "document"),
    [
        ("how does the asyncio event loop schedule coroutines", "asyncio.html"),
        ("compost for tomatoes", "gardening.md"),
        ("Galilean moons of Jupiter", "astronomy.txt"),
        ("sulfur dioxide from volcanic eruptions", "volcanoes.pdf"),
        ("zymurgy fermentation", "brewing.rst"),
    ],
)
async def test_each_query_finds_its_document_first(
    searched: CorpusSearch, query: str, document: str
) -> None:
    assert first(await searched.search(query)) == document


async def test_a_hit_is_the_matching_passage_of_its_file(searched: CorpusSearch) -> None:
    [hit, *_] = await searched.search("zymurgy fermentation", k=1)
    path = searched.folder / "deep/er/brewing.rst"
    assert hit.url == str(path)
    assert hit.provider == "corpus" and hit.rank == 1 and hit.score and hit.score > 0
    assert hit.title == "Cellar handbook"
    assert hit.offsets is not None
    start, end = hit.offsets
    assert start > 0 and end < len(BREWING_RST) - 100  # a passage, not the whole file
    assert hit.snippet == path.read_text()[start:end]
    assert "Zymurgy is the branch of chemistry" in hit.snippet
    assert len(hit.snippet.split()) <= 200


async def test_a_files_title_counts_for_all_its_passages(searched: CorpusSearch) -> None:
    hits = await searched.search("cellar handbook", k=2)
    assert [(Path(h.url).name, h.title) for h in hits] == [("brewing.rst", "Cellar handbook")] * 2


async def test_navigation_chrome_is_not_indexed(searched: CorpusSearch) -> None:
    assert await searched.search("Marzipan newsletter") == []
    [hit] = await searched.search("asyncio.run high-level functions", k=1)
    assert hit.title == "Event loops in asyncio"
    assert "Marzipan" not in hit.snippet


async def test_hidden_files_and_other_suffixes_are_left_out(searched: CorpusSearch) -> None:
    assert await searched.search("Zanzibar treasure") == []


@pytest.mark.parametrize("query", ["the of and", "quetzalcoatl", ""])
async def test_a_query_matching_no_word_finds_nothing(searched: CorpusSearch, query: str) -> None:
    assert await searched.search(query) == []


async def test_hits_of_one_file_do_not_overlap(searched: CorpusSearch) -> None:
    hits = await searched.search("alpha beta gamma", k=5)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    spans = sorted(h.offsets for h in hits if h.url.endswith("brewing.rst") and h.offsets)
    assert len(spans) >= 2
    assert all(a[1] <= b[0] for a, b in pairwise(spans))


def test_passages_are_overlapping_word_windows() -> None:
    words = [f"w{i}" for i in range(450)]
    text = "  " + " ".join(words) + "\n"
    spans = split_passages(text, words=200, overlap=50)
    assert [text[s:e].split() for s, e in spans] == [words[0:200], words[150:350], words[300:450]]
    assert split_passages("one two", words=200, overlap=50) == [(0, 7)]
    assert split_passages(" \n ") == []


async def test_the_cache_is_reused_by_the_next_open(corpus: Path, cache: Path) -> None:
    cold = CorpusSearch(corpus, cache)
    hits = await cold.search("Galilean moons")
    assert cold.extracted == len(DOCUMENTS)

    generations = sorted(cold.cache.glob("gen-*"))

    warm = CorpusSearch(corpus, cache)
    assert await warm.search("Galilean moons") == hits
    assert warm.extracted == 0
    assert sorted(warm.cache.glob("gen-*")) == generations  # nothing rewritten


async def test_same_size_and_mtime_is_trusted_as_unchanged(corpus: Path, cache: Path) -> None:
    """Like make and rsync, a file whose size and mtime are unchanged is not even read."""
    await CorpusSearch(corpus, cache).refresh()
    path = corpus / "astronomy.txt"
    stat = path.stat()
    path.write_text(ASTRONOMY_TXT.replace("Jupiter", "Saturn!"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size

    again = CorpusSearch(corpus, cache)
    assert await again.search("Saturn") == []
    assert again.extracted == 0


async def test_a_changed_file_alone_is_extracted_again(corpus: Path, cache: Path) -> None:
    await CorpusSearch(corpus, cache).refresh()
    change(corpus / "notes/gardening.md", "# Orchids\n\nOrchids like bright, indirect light.")

    again = CorpusSearch(corpus, cache)
    assert first(await again.search("orchids indirect light")) == "gardening.md"
    assert again.extracted == 1
    assert await again.search("compost heap") == []
    assert len(list(again.cache.glob("gen-*"))) == 1  # the superseded index is gone


async def test_a_touched_but_unchanged_file_is_not_extracted(corpus: Path, cache: Path) -> None:
    await CorpusSearch(corpus, cache).refresh()
    change(corpus / "astronomy.txt", ASTRONOMY_TXT)

    again = CorpusSearch(corpus, cache)
    assert first(await again.search("Galilean moons")) == "astronomy.txt"
    assert again.extracted == 0


async def test_a_deleted_file_leaves_the_results(corpus: Path, cache: Path) -> None:
    searcher = CorpusSearch(corpus, cache)
    assert first(await searcher.search("Galilean moons")) == "astronomy.txt"
    (corpus / "astronomy.txt").unlink()

    again = CorpusSearch(corpus, cache)
    assert await again.search("Galilean moons") == []
    assert again.extracted == 0
    assert first(await again.search("compost for tomatoes")) == "gardening.md"


async def test_refresh_takes_in_new_files(corpus: Path, cache: Path) -> None:
    searcher = CorpusSearch(corpus, cache)
    assert await searcher.search("saxophone reeds") == []
    (corpus / "music.md").write_text("Saxophone reeds are cut from cane.")
    assert await searcher.search("saxophone reeds") == []  # the index is as first opened
    await searcher.refresh()
    assert first(await searcher.search("saxophone reeds")) == "music.md"
    assert searcher.extracted == len(DOCUMENTS) + 1


async def test_concurrent_first_searches_index_once(corpus: Path, cache: Path) -> None:
    searcher = CorpusSearch(corpus, cache)
    moons, compost = await asyncio.gather(
        searcher.search("Galilean moons"), searcher.search("compost for tomatoes")
    )
    assert (first(moons), first(compost)) == ("astronomy.txt", "gardening.md")
    assert searcher.extracted == len(DOCUMENTS)


async def test_an_unreadable_file_is_skipped_and_not_retried(corpus: Path, cache: Path) -> None:
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a PDF\n%%EOF\n")
    searcher = CorpusSearch(corpus, cache)
    assert first(await searcher.search("Galilean moons")) == "astronomy.txt"
    assert searcher.extracted == len(DOCUMENTS) + 1

    again = CorpusSearch(corpus, cache)
    await again.refresh()
    assert again.extracted == 0


async def test_a_damaged_cache_is_rebuilt(corpus: Path, cache: Path) -> None:
    searcher = CorpusSearch(corpus, cache)
    await searcher.refresh()
    [generation] = searcher.cache.glob("gen-*")
    (generation / "manifest.json").write_text('{"folder": ')

    again = CorpusSearch(corpus, cache)
    assert first(await again.search("Galilean moons")) == "astronomy.txt"
    assert again.extracted == len(DOCUMENTS)
    assert [p.name for p in searcher.cache.glob("gen-*")] != [generation.name]


async def test_folders_sharing_a_cache_do_not_mix(
    corpus: Path, cache: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(corpus / "astronomy.txt", other / "moons.txt")
    assert first(await CorpusSearch(other, cache).search("Galilean moons")) == "moons.txt"
    assert first(await CorpusSearch(corpus, cache).search("Galilean moons")) == "astronomy.txt"
    assert await CorpusSearch(other, cache).search("compost for tomatoes") == []


async def test_entering_the_context_opens_the_index(corpus: Path, cache: Path) -> None:
    async with CorpusSearch(corpus, cache) as searcher:
        assert searcher.extracted == len(DOCUMENTS)
        assert first(await searcher.search("Galilean moons")) == "astronomy.txt"
        assert searcher.extracted == len(DOCUMENTS)


async def test_an_empty_folder_finds_nothing(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "empty").mkdir()
    async with CorpusSearch(tmp_path / "empty", cache) as searcher:
        assert await searcher.search("anything at all") == []
        assert searcher.extracted == 0


def test_a_missing_folder_is_a_config_error(tmp_path: Path, cache: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"nowhere does not exist: check --corpus / CODEHELM_CORPUS"
    ):
        CorpusSearch(tmp_path / "nowhere", cache)
    (tmp_path / "file.txt").write_text("not a folder")
    with pytest.raises(ConfigError, match="is not a folder"):
        CorpusSearch(tmp_path / "file.txt", cache)


async def test_an_unwritable_cache_is_a_config_error(corpus: Path, tmp_path: Path) -> None:
    (tmp_path / "home").write_text("a file where the cache folder should be")
    with pytest.raises(ConfigError, match=r"cannot keep the corpus index in .*CODEHELM_HOME"):
        await CorpusSearch(corpus, tmp_path / "home").search("Galilean moons")


async def test_the_corpus_gives_the_text_its_hits_point_into(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    page = b"<html><body><nav>Home | About</nav><main><p>" + b"Bananas are yellow. " * 30
    (folder / "fruit.html").write_bytes(page + b"</p></main></body></html>")
    async with CorpusSearch(folder, tmp_path / "cache") as corpus:
        hit, *_ = await corpus.search("yellow bananas", k=1)
        text = await corpus.document_text(hit.url)
        assert text is not None and hit.offsets is not None
        assert "Bananas are yellow." in text[hit.offsets[0] : hit.offsets[1]]
        assert "Home | About" not in text  # the text as indexed: main content only
        assert await corpus.document_text(str(tmp_path / "elsewhere.html")) is None
        assert isinstance(corpus, DocumentStore)
