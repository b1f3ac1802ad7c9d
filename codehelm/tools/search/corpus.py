"""Search a local folder of HTML, Markdown, text and PDF files with BM25.

Each file's text comes from `codehelm.tools.extract.extract_main_text` and is split into
passages of `WINDOW` words overlapping by `OVERLAP` words, so a hit points at the part
of a file that matches: its `url` is the file's absolute path and its `offsets` the
passage's character offsets in the extracted text. A passage is indexed together with
its file's title (the text's first line), so a page's subject counts for all its parts.

The index lives under `cache_dir/corpus-index/<hash of the folder's path>/`:

- a manifest of every file (relative path, size, mtime_ns, sha256, text), so a
  later refresh re-extracts only files whose size or mtime changed *and* whose content
  hash differs; extraction (HTML boilerplate removal, PDF text) is the slow part;
- the BM25 index of all passages (bm25s), rebuilt whole whenever any file changed:
  tokenizing and indexing the stored texts takes seconds even for the Python docs,
  far less than extracting them, and a whole rebuild has no merge logic to get wrong.

Both are written to a new generation folder, published by atomically replacing the
`current` file that names it; a file lock serialises processes refreshing one corpus.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Self

from codehelm.config import Settings
from codehelm.errors import ConfigError
from codehelm.tools.sandbox.base import ClosesOnExit
from codehelm.tools.search.base import SearchHit

logger = logging.getLogger(__name__)

#: Content type by suffix; files with other suffixes are not part of the corpus.
CONTENT_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".md": "text/markdown",
    ".txt": "text/plain",
    ".rst": "text/plain",
    ".pdf": "application/pdf",
}
WINDOW = 200  # words per passage
OVERLAP = 50  # words shared by consecutive passages
FORMAT = 1  # bump when the manifest's layout or the extraction changes: forces re-extraction
SETTING = "--corpus / CODEHELM_CORPUS"


@dataclass(frozen=True)
class FileEntry:
    """What the manifest keeps about one file (`path` is relative to the corpus folder)."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
    text: str
    error: str | None = None


class CorpusSearch(ClosesOnExit):
    """BM25 search over the passages of a folder's documents, indexed on first search (or
    on entering `async with`).

    `extracted` counts the files this object has run through text extraction; files whose
    cached entry is still current are not counted. Call `refresh()` to take in files
    changed since.
    """

    name = "corpus"

    @classmethod
    def from_settings(cls, settings: Settings) -> CorpusSearch:
        if settings.corpus is None:
            raise ConfigError(
                f"search=corpus needs a folder of documents: set {SETTING},"
                " or use --search searxng, ddgs or tavily"
            )
        return cls(settings.corpus, settings.cache_dir)

    def __init__(self, folder: Path, cache_dir: Path) -> None:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            raise ConfigError(f"corpus folder {folder} {what}: check {SETTING}")
        self.folder = folder.resolve()
        key = hashlib.sha256(str(self.folder).encode()).hexdigest()[:16]
        self.cache = Path(cache_dir) / "corpus-index" / key
        self.extracted = 0
        self._index: _Index | None = None
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        """Bring the index up to date with the folder (re-extracting changed files only)."""
        async with self._lock:
            self._index = await asyncio.to_thread(self._refresh)

    async def search(self, query: str, *, k: int = 5) -> list[SearchHit]:
        index = await self._open()
        return await asyncio.to_thread(index.search, query, k, self.folder)

    async def document_text(self, url: str) -> str | None:
        """The extracted text of a hit's file (as indexed: the text its offsets point into)."""
        index = await self._open()
        try:
            relative = (await asyncio.to_thread(Path(url).resolve)).relative_to(self.folder)
        except ValueError:
            return None
        entry = index.files.get(str(relative))
        return entry.text if entry is not None and entry.error is None else None

    async def close(self) -> None:
        self._index = None

    async def __aenter__(self) -> Self:
        """Entering opens the index (building or updating it first), so problems show now."""
        await self._open()
        return self

    async def _open(self) -> _Index:
        async with self._lock:  # concurrent first searches open the index once
            if self._index is None:
                self._index = await asyncio.to_thread(self._refresh)
            return self._index

    def _refresh(self) -> _Index:
        try:
            self.cache.mkdir(parents=True, exist_ok=True)
            return self._update()
        except OSError as exc:
            raise ConfigError(
                f"cannot keep the corpus index in {self.cache} ({exc.strerror or exc}):"
                " make CODEHELM_HOME a writable folder"
            ) from exc

    def _update(self) -> _Index:
        with _locked(self.cache / "lock"):
            old = _load_generation(self.cache)
            old_files = old.files if old else {}
            files, extracted = self._scan(old_files)
            self.extracted += extracted
            if old is not None and old.files == files and old.params == _params():
                return old
            index = _Index.build(files)
            _publish(self.cache, self.folder, index)
            return index

    def _scan(self, old: dict[str, FileEntry]) -> tuple[dict[str, FileEntry], int]:
        """Entries of the folder's documents now, and how many had to be extracted."""
        paths = sorted(_documents(self.folder))
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            loaded = list(pool.map(lambda p: _load(self.folder, p, old), paths))
        files = {entry.path: entry for entry, _ in filter(None, loaded)}
        return files, sum(fresh for _, fresh in filter(None, loaded))


def split_passages(text: str, words: int = WINDOW, overlap: int = OVERLAP) -> list[tuple[int, int]]:
    """Character spans of `words`-word windows over `text`, each sharing `overlap` words
    with the one before; the last window ends at the text's last word."""
    spans = [m.span() for m in re.finditer(r"\S+", text)]
    if not spans:
        return []
    step = words - overlap
    return [
        (spans[first][0], spans[min(first + words, len(spans)) - 1][1])
        for first in range(0, max(len(spans) - overlap, 1), step)
    ]


SKIPPED_FOLDERS = ("_sources",)  # Sphinx's copies of the sources of the pages it built


def _documents(folder: Path) -> Iterator[Path]:
    """Files with a known suffix under `folder`, skipping hidden files and folders and the
    source copies of built documentation (they would fill half the hits with duplicates)."""
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIPPED_FOLDERS]
        for name in names:
            if not name.startswith(".") and Path(name).suffix.lower() in CONTENT_TYPES:
                yield Path(root, name)


def _load(folder: Path, path: Path, old: dict[str, FileEntry]) -> tuple[FileEntry, bool] | None:
    """The file's entry and whether it was extracted now (None if it vanished meanwhile)."""
    relative = path.relative_to(folder).as_posix()
    try:
        stat = path.stat()
        cached = old.get(relative)
        if cached and (cached.size, cached.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            return cached, False
        data = path.read_bytes()
    except OSError:
        return None
    sha256 = hashlib.sha256(data).hexdigest()
    if cached and cached.sha256 == sha256:  # touched, not changed
        return replace(cached, size=stat.st_size, mtime_ns=stat.st_mtime_ns), False
    text, error = _extract(data, path)
    return FileEntry(relative, stat.st_size, stat.st_mtime_ns, sha256, text, error), True


def _extract(data: bytes, path: Path) -> tuple[str, str | None]:
    from codehelm.tools.extract import extract_main_text

    try:
        content_type = CONTENT_TYPES[path.suffix.lower()]
        return extract_main_text(data, content_type=content_type, source=str(path)), None
    except Exception as exc:  # one unreadable file must not stop the whole corpus
        logger.warning("corpus: skipping %s: %s", path, exc)
        return "", f"{type(exc).__name__}: {exc}"


def _title(text: str) -> str:
    """The text's first line that is not markup (reST directives, rules), without the
    heading marks of Markdown and the pilcrows of Sphinx headings."""
    for line in text.splitlines():
        line = line.strip().strip("#*=-_~¶ \t")
        if line and not line.startswith(".."):
            return line[:120]
    return ""


@dataclass
class _Index:
    """The corpus's files and passages, and a BM25 index whose document i is passage i."""

    files: dict[str, FileEntry]
    passages: list[tuple[str, int, int]]  # (file path, start, end)
    retriever: Any  # bm25s.BM25, or None when there are no passages
    params: dict[str, Any]

    def __post_init__(self) -> None:
        self.titles = {path: _title(e.text) or Path(path).name for path, e in self.files.items()}

    @classmethod
    def build(cls, files: dict[str, FileEntry]) -> _Index:
        import bm25s

        passages = [(e.path, s, t) for e in files.values() for s, t in split_passages(e.text)]
        index = cls(files, passages, None, _params())
        if passages:
            texts = [f"{index.titles[p]}\n{files[p].text[s:t]}" for p, s, t in passages]
            index.retriever = bm25s.BM25()
            index.retriever.index(_tokenize(texts, return_ids=True), show_progress=False)
        return index

    def search(self, query: str, k: int, folder: Path) -> list[SearchHit]:
        """The best `k` passages with a positive score, leaving out those overlapping a
        better passage of the same file (neighbouring windows share words)."""
        if self.retriever is None or k < 1:
            return []
        tokens = _tokenize([query], return_ids=False)
        if not tokens[0]:
            return []
        found = min(len(self.passages), 3 * k)
        docs, scores = self.retriever.retrieve(tokens, k=found, show_progress=False)
        hits: list[SearchHit] = []
        taken: list[tuple[str, int, int]] = []
        for doc, score in zip(docs[0], scores[0], strict=True):
            if score <= 0 or len(hits) == k:
                break
            path, start, end = self.passages[doc]
            if any(p == path and start < e and s < end for p, s, e in taken):
                continue
            taken.append((path, start, end))
            hits.append(
                SearchHit(
                    title=self.titles[path],
                    url=str(folder / path),
                    snippet=self.files[path].text[start:end],
                    score=float(score),
                    provider=CorpusSearch.name,
                    rank=len(hits) + 1,
                    offsets=(start, end),
                )
            )
        return hits


def _tokenize(texts: list[str], *, return_ids: bool) -> Any:
    import bm25s

    return bm25s.tokenize(
        texts, stopwords="en", stemmer=_stemmer(), return_ids=return_ids, show_progress=False
    )


def _stemmer() -> Any:
    """An English Snowball stemmer from PyStemmer, or None without it (a new one per call:
    stemmer objects are not thread-safe)."""
    try:
        import Stemmer
    except ImportError:
        return None
    return Stemmer.Stemmer("english")


def _params() -> dict[str, Any]:
    """What the stored index depends on besides the files; a change rebuilds it."""
    stemmer = "english" if _stemmer() is not None else None
    return {"format": FORMAT, "window": WINDOW, "overlap": OVERLAP, "stemmer": stemmer}


def _load_generation(cache: Path) -> _Index | None:
    """The published index, or None if there is none usable (a damaged one is rebuilt)."""
    try:
        return _read_generation(cache / (cache / "current").read_text().strip())
    except Exception as exc:  # missing, half-written or from another version: rebuild it
        if not isinstance(exc, FileNotFoundError):
            logger.warning("corpus: rebuilding the index in %s: %s", cache, exc)
        return None


@lru_cache(maxsize=4)
def _read_generation(generation: Path) -> _Index:
    """A generation's index, read once per process: generations never change once published,
    so each researcher of a run opens the corpus without reading it again."""
    import bm25s

    manifest = json.loads((generation / "manifest.json").read_text())
    if manifest["params"]["format"] != FORMAT:
        raise ValueError(f"index format {manifest['params']['format']}, not {FORMAT}")
    files = {e["path"]: FileEntry(**e) for e in manifest["files"]}
    passages = [(p, s, e) for p, s, e in manifest["passages"]]
    retriever = None
    if passages:
        retriever = bm25s.BM25.load(generation / "bm25", show_progress=False)
    return _Index(files, passages, retriever, manifest["params"])


def _publish(cache: Path, folder: Path, index: _Index) -> None:
    """Write `index` as a new generation, point `current` at it, delete older ones."""
    generation = cache / f"gen-{time.time_ns()}"
    generation.mkdir()
    manifest = {
        "folder": str(folder),  # for people looking into the cache
        "params": index.params,
        "files": [asdict(e) for e in index.files.values()],
        "passages": index.passages,
    }
    (generation / "manifest.json").write_text(json.dumps(manifest))
    if index.retriever is not None:
        index.retriever.save(generation / "bm25", show_progress=False)
    pointer = cache / "current.tmp"
    pointer.write_text(generation.name)
    os.replace(pointer, cache / "current")
    for stale in cache.glob("gen-*"):
        if stale != generation:
            shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed): one refresh at a time."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
