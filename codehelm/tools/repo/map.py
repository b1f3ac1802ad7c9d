"""Aider-style repository map: tree-sitter tags, a file graph, personalised PageRank.

Definitions (classes, functions, methods, module constants) and references (identifiers
used) are extracted with tree-sitter for Python and JavaScript/TypeScript. Files are linked by
shared identifiers (an edge from a file referencing an identifier to each file defining it,
weighted like aider: long or rare identifiers more, identifiers mentioned in the issue much
more, private or ubiquitous ones less) and ranked with PageRank personalised by what the issue
text mentions: files, identifiers and stack-trace frames.

For localisation, :func:`rank_files` blends that PageRank with BM25 over each file's path and
content and over its passages (windows of a few dozen lines), with the direct evidence of the
issue and, in a git repository, with how often and how recently each file changed
(:class:`RankWeights`; BM25 does most of the work on real changelog-sized issues, see
``benchmarks/localization.py``).

Two entry points need no model: :func:`rank_files` (file-level localisation) and
:func:`repo_map` (the top files with the signature lines of their top definitions, within a
token budget). Tags and BM25 term counts are cached by file modification time and size, in
memory per process and, when a cache directory is given, on disk as JSON.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import networkx as nx

from codehelm.tools.repo.history import HALF_LIFE, change_scores

__all__ = [
    "REPO_MAP_ONLY",
    "FileSignals",
    "RankWeights",
    "Tag",
    "bm25_scores",
    "code_tokens",
    "extract_tags",
    "file_signals",
    "get_tags",
    "issue_mentions",
    "lexical_scores",
    "passage_scores",
    "rank_files",
    "rank_files_scored",
    "repo_map",
    "source_files",
]

CACHE_VERSION = 3
# passages for BM25 (see passage_scores): windows of PASSAGE_LINES lines, one every
# PASSAGE_STRIDE lines; 40 was chosen among 40, 80 and 150 on the benchmark's dev split
PASSAGE_LINES = 40
PASSAGE_STRIDE = 20

LANGUAGES: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
}

IGNORED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "env",
        ".env",
        ".tox",
        ".nox",
        "node_modules",
        "__pycache__",
        "build",
        "dist",
        "site-packages",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".eggs",
        "htmlcov",
        ".next",
        ".cache",
    }
)

MAX_FILE_BYTES = 1_000_000

_PY_QUERY = """
(class_definition name: (identifier) @name.definition.class) @definition.class
(function_definition name: (identifier) @name.definition.function) @definition.function
(module (expression_statement
  (assignment left: (identifier) @name.definition.constant) @definition.constant))
(identifier) @name.reference
"""

_JS_DEFS = """
(function_declaration name: (identifier) @name.definition.function) @definition.function
(generator_function_declaration
  name: (identifier) @name.definition.function) @definition.function
(method_definition name: (property_identifier) @name.definition.method) @definition.method
(variable_declarator name: (identifier) @name.definition.function
  value: [(arrow_function) (function_expression)]) @definition.function
"""

_JS_QUERY = (
    _JS_DEFS
    + """
(class_declaration name: (identifier) @name.definition.class) @definition.class
[(identifier) (property_identifier)] @name.reference
"""
)

_TS_QUERY = (
    _JS_DEFS
    + """
(class_declaration name: (type_identifier) @name.definition.class) @definition.class
(abstract_class_declaration name: (type_identifier) @name.definition.class) @definition.class
(interface_declaration name: (type_identifier) @name.definition.interface) @definition.interface
(type_alias_declaration name: (type_identifier) @name.definition.type) @definition.type
(enum_declaration name: (identifier) @name.definition.enum) @definition.enum
(method_signature name: (property_identifier) @name.definition.method) @definition.method
[(identifier) (property_identifier) (type_identifier)] @name.reference
"""
)

_QUERIES = {"python": _PY_QUERY, "javascript": _JS_QUERY, "typescript": _TS_QUERY, "tsx": _TS_QUERY}


@dataclass(frozen=True)
class Tag:
    """One definition (``kind == "def"``) or reference (``kind == "ref"``) of a name."""

    name: str
    kind: str
    line: int  # 0-based
    category: str = ""  # class/function/method/constant/... for definitions
    signature: str = ""  # the definition's first source line, for definitions

    def to_json(self) -> list[Any]:
        return [self.name, self.kind, self.line, self.category, self.signature]

    @classmethod
    def from_json(cls, data: list[Any]) -> Tag:
        return cls(str(data[0]), str(data[1]), int(data[2]), str(data[3]), str(data[4]))


@cache
def _language(lang: str) -> Any:
    import tree_sitter

    if lang == "python":
        import tree_sitter_python as grammar

        return tree_sitter.Language(grammar.language())
    if lang == "javascript":
        import tree_sitter_javascript as js_grammar

        return tree_sitter.Language(js_grammar.language())
    import tree_sitter_typescript as ts_grammar

    if lang == "tsx":
        return tree_sitter.Language(ts_grammar.language_tsx())
    return tree_sitter.Language(ts_grammar.language_typescript())


@cache
def _query(lang: str) -> Any:
    import tree_sitter

    return tree_sitter.Query(_language(lang), _QUERIES[lang])


def _read_source(path: Path) -> bytes:
    """Read one source file (a seam: tests count calls to it to check the cache)."""
    return path.read_bytes()


def extract_tags(source: bytes, lang: str) -> list[Tag]:
    """Definition and reference tags of one source text in ``lang`` (see ``LANGUAGES``)."""
    import tree_sitter

    parser = tree_sitter.Parser(_language(lang))
    tree = parser.parse(source)
    captures: dict[str, list[Any]] = tree_sitter.QueryCursor(_query(lang)).captures(tree.root_node)
    lines = source.decode("utf-8", errors="replace").splitlines()
    def_nodes: dict[tuple[int, int], Any] = {}
    for cap, nodes in captures.items():
        if cap.startswith("definition."):
            for node in nodes:
                def_nodes.setdefault((node.start_byte, node.end_byte), node)
    tags: list[Tag] = []
    seen_def_names: set[int] = set()
    for cap, nodes in captures.items():
        if not cap.startswith("name.definition."):
            continue
        category = cap.removeprefix("name.definition.")
        for node in nodes:
            if node.start_byte in seen_def_names:
                continue
            seen_def_names.add(node.start_byte)
            name = (node.text or b"").decode("utf-8", errors="replace")
            owner = node.parent
            while owner is not None and owner.type not in _DEF_TYPES:
                owner = owner.parent
            row = (owner or node).start_point[0]
            if category == "function" and _inside_class(owner):
                category = "method"
            signature = lines[row].rstrip() if row < len(lines) else name
            tags.append(Tag(name, "def", node.start_point[0], category, signature))
    for node in captures.get("name.reference", []):
        if node.start_byte in seen_def_names:
            continue
        name = (node.text or b"").decode("utf-8", errors="replace")
        if name:
            tags.append(Tag(name, "ref", node.start_point[0]))
    tags.sort(key=lambda t: (t.line, t.kind, t.name))
    return tags


_DEF_TYPES = frozenset(
    {
        "class_definition",
        "function_definition",
        "assignment",
        "class_declaration",
        "abstract_class_declaration",
        "function_declaration",
        "generator_function_declaration",
        "method_definition",
        "variable_declarator",
        "interface_declaration",
        "type_alias_declaration",
        "enum_declaration",
        "method_signature",
    }
)


def _inside_class(node: Any) -> bool:
    parent = node.parent if node is not None else None
    while parent is not None:
        if parent.type in ("class_definition", "class_body", "class_declaration"):
            return True
        if parent.type in ("function_definition", "function_declaration"):
            return False
        parent = parent.parent
    return False


# --- cache ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FileIndex:
    tags: list[Tag]
    terms: Counter[str]  # BM25 term counts of the content (see code_tokens)
    passages: list[Counter[str]]  # the same, of each passage (see passage_texts)


_MEMORY_CACHE: dict[tuple[str, int, int], _FileIndex] = {}
_EMPTY = _FileIndex([], Counter(), [])


def clear_memory_cache() -> None:
    """Forget the tags and term counts cached in this process (the disk cache is kept)."""
    _MEMORY_CACHE.clear()


def _disk_path(cache_dir: Path, key: tuple[str, int, int]) -> Path:
    digest = hashlib.sha1(f"{CACHE_VERSION}|{key[0]}".encode()).hexdigest()
    return cache_dir / "tags" / digest[:2] / f"{digest}.json"


def _file_index(path: str | Path, cache_dir: str | Path | None = None) -> _FileIndex:
    """Tags and term counts of one file, from the cache when its path, mtime and size match."""
    p = Path(path).resolve()
    lang = LANGUAGES.get(p.suffix.lower())
    if lang is None:
        return _EMPTY
    try:
        st = p.stat()
    except OSError:
        return _EMPTY
    key = (str(p), st.st_mtime_ns, st.st_size)
    hit = _MEMORY_CACHE.get(key)
    if hit is not None:
        return hit
    disk = _disk_path(Path(cache_dir), key) if cache_dir is not None else None
    if disk is not None and disk.is_file():
        try:
            data = json.loads(disk.read_text(encoding="utf-8"))
            if data.get("key") == [key[0], key[1], key[2]]:
                index = _FileIndex(
                    [Tag.from_json(t) for t in data["tags"]],
                    Counter(data["terms"]),
                    [Counter(c) for c in data["passages"]],
                )
                _MEMORY_CACHE[key] = index
                return index
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            pass
    try:
        source = _read_source(p)
    except OSError:
        return _EMPTY
    if len(source) > MAX_FILE_BYTES:
        index = _EMPTY
    else:
        text = source.decode("utf-8", errors="replace")
        index = _FileIndex(
            extract_tags(source, lang),
            Counter(code_tokens(text)),
            [Counter(code_tokens(p)) for p in passage_texts(text)],
        )
    _MEMORY_CACHE[key] = index
    if disk is not None:
        try:
            disk.parent.mkdir(parents=True, exist_ok=True)
            tmp = disk.with_suffix(f".{os.getpid()}.tmp")
            payload = {
                "key": list(key),
                "tags": [t.to_json() for t in index.tags],
                "terms": dict(index.terms),
                "passages": [dict(c) for c in index.passages],
            }
            tmp.write_text(json.dumps(payload), encoding="utf-8")
            tmp.replace(disk)
        except OSError:
            pass
    return index


def get_tags(path: str | Path, cache_dir: str | Path | None = None) -> list[Tag]:
    """Tags of one file, from the cache when its path, mtime and size match."""
    return _file_index(path, cache_dir).tags


# --- files ------------------------------------------------------------------------------------


def _gitignore_patterns(root: Path) -> list[str]:
    try:
        text = (root / ".gitignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        patterns.append(line)
    return patterns


def _ignored(rel: str, is_dir: bool, patterns: list[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    for pat in patterns:
        dir_only = pat.endswith("/")
        p = pat.strip("/")
        if dir_only and not is_dir:
            continue
        if "/" in pat.rstrip("/"):
            if fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, p + "/*"):
                return True
        elif fnmatch.fnmatch(name, p):
            return True
    return False


def source_files(root: str | Path) -> list[str]:
    """Source files under ``root`` (relative POSIX paths), skipping VCS, virtualenv, build
    and cache directories and what a simple root ``.gitignore`` excludes."""
    base = Path(root).resolve()
    patterns = _gitignore_patterns(base)
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(base):
        rel_dir = Path(dirpath).relative_to(base).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        keep = []
        for d in dirnames:
            if d in IGNORED_DIRS or d.endswith(".egg-info"):
                continue
            if (Path(dirpath) / d / "pyvenv.cfg").exists():
                continue
            if _ignored(rel_dir + d, True, patterns):
                continue
            keep.append(d)
        dirnames[:] = sorted(keep)
        for f in sorted(filenames):
            if Path(f).suffix.lower() not in LANGUAGES or f.endswith(".min.js"):
                continue
            rel = rel_dir + f
            if not _ignored(rel, False, patterns):
                out.append(rel)
    return out


# --- issue mentions -----------------------------------------------------------------------------

_FRAME_RE = re.compile(r'File "([^"]+)", line (\d+)')
_JS_FRAME_RE = re.compile(r"([\w./\\-]+\.(?:py|pyi|js|jsx|mjs|cjs|ts|tsx)):(\d+)")
_PATH_RE = re.compile(r"[\w./\\-]+\.(?:py|pyi|js|jsx|mjs|cjs|ts|tsx)\b")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTTED_RE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_CODE_SPAN_RE = re.compile(r"`+([^`\n]+)`+")
_CALL_RE = re.compile(r"([A-Za-z_]\w*)\(")


@dataclass
class Mentions:
    """What an issue text points at, resolved against the repository's files."""

    frames: list[str]  # files of stack-trace frames, outermost first
    files: set[str]  # files named by path
    identifiers: set[str]  # every identifier-like word
    modules: set[str] = field(default_factory=set)  # files named as dotted modules (a.b.c)
    code: set[str] = field(default_factory=set)  # identifiers written as code


def _match_path(path: str, files: Iterable[str]) -> str | None:
    """The repository file that ``path`` (possibly absolute, foreign) names, by longest suffix."""
    parts = [p for p in path.replace("\\", "/").split("/") if p and p != "."]
    if not parts:
        return None
    best: tuple[int, str] | None = None
    for f in files:
        fparts = f.split("/")
        n = 0
        while n < min(len(parts), len(fparts)) and parts[-1 - n] == fparts[-1 - n]:
            n += 1
        if n and (best is None or n > best[0] or (n == best[0] and len(f) < len(best[1]))):
            best = (n, f)
    return best[1] if best else None


def _module_files(files: list[str]) -> dict[str, str]:
    """Dotted module name suffixes (``pkg.sub.mod``, ``sub.mod``) -> the file defining them,
    for Python files; only suffixes of at least two names, the shortest path winning."""
    out: dict[str, str] = {}
    for f in sorted(files, key=lambda f: (len(f), f)):
        if not f.endswith((".py", ".pyi")):
            continue
        parts = f.rsplit(".", 1)[0].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        for i in range(len(parts) - 1):
            out.setdefault(".".join(parts[i:]), f)
    return out


def issue_mentions(issue_text: str, files: list[str]) -> Mentions:
    """Stack-trace frames, file paths, dotted module names and identifiers that
    ``issue_text`` mentions."""
    frames: list[str] = []
    matches = list(_FRAME_RE.finditer(issue_text)) + list(_JS_FRAME_RE.finditer(issue_text))
    for m in sorted(matches, key=lambda m: m.start()):
        hit = _match_path(m.group(1), files)
        if hit is not None and (not frames or frames[-1] != hit):
            frames.append(hit)
    mentioned: set[str] = set()
    for m in _PATH_RE.finditer(issue_text):
        hit = _match_path(m.group(0), files)
        if hit is not None:
            mentioned.add(hit)
    modules: set[str] = set()
    code: set[str] = set()
    by_module = _module_files(files)
    for m in _DOTTED_RE.finditer(issue_text):
        names = m.group(0).split(".")
        if all(len(n) < 2 for n in names):  # "e.g", "i.e"
            continue
        code.update(names)
        for n in range(len(names), 1, -1):  # the longest prefix that is a module
            hit = by_module.get(".".join(names[:n]))
            if hit is not None:
                modules.add(hit)
                break
    for m in _CODE_SPAN_RE.finditer(issue_text):
        code.update(_IDENT_RE.findall(m.group(1)))
    code.update(_CALL_RE.findall(issue_text))
    idents = set(_IDENT_RE.findall(issue_text))
    return Mentions(frames, mentioned, idents, modules, code & idents)


# --- lexical relevance ----------------------------------------------------------------------------

_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PART_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_STOPWORD_TEXT = """a an and are as at be by for from has have if in into is it its of on or not
no that the this to was were when which with now can could would should will self none true false"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def code_tokens(text: str) -> list[str]:
    """Lower-case words of ``text`` for BM25: each identifier whole and, when it is snake_case
    or camelCase, its parts too (``parse_url`` gives ``parse_url``, ``parse``, ``url``).
    Numbers and a few English stop words are dropped."""
    out: list[str] = []
    for word in _WORD_RE.findall(text):
        low = word.strip("_").lower()
        if len(low) < 2 or low in _STOPWORDS:
            continue
        out.append(low)
        parts = [p.lower() for p in _PART_RE.findall(word)]
        if len(parts) > 1:
            out.extend(p for p in parts if len(p) >= 2 and p not in _STOPWORDS)
    return out


def passage_texts(text: str) -> list[str]:
    """Overlapping windows of ``PASSAGE_LINES`` lines of ``text``, one every
    ``PASSAGE_STRIDE`` lines (one window for a short text)."""
    lines = text.splitlines()
    starts = range(0, max(len(lines) - PASSAGE_LINES + PASSAGE_STRIDE, 1), PASSAGE_STRIDE)
    return ["\n".join(lines[s : s + PASSAGE_LINES]) for s in starts]


def _path_terms(rel: str) -> Counter[str]:
    return Counter(code_tokens(rel.replace("/", " ")))


def _file_terms(root: Path, rel: str, cache_dir: str | Path | None) -> Counter[str]:
    """BM25 term counts of one file: its content's (cached) and its path's."""
    return _file_index(root / rel, cache_dir).terms + _path_terms(rel)


def passage_scores(
    root: Path, files: list[str], issue_text: str, cache_dir: str | Path | None = None
) -> dict[str, float]:
    """Each file's best BM25 over its passages (each with the file's path), all passages of
    ``files`` forming the collection. A long file that matches the issue's words here and
    there scores less than one with a passage matching many of them together."""
    docs: dict[str, Counter[str]] = {}
    owner: dict[str, str] = {}
    for f in files:
        path = _path_terms(f)
        for i, counts in enumerate(_file_index(root / f, cache_dir).passages or [Counter()]):
            key = f"{f}\0{i}"
            docs[key], owner[key] = counts + path, f
    best = dict.fromkeys(files, 0.0)
    for key, score in bm25_scores(docs, issue_text).items():
        best[owner[key]] = max(best[owner[key]], score)
    return best


def bm25_scores(
    docs: dict[str, Counter[str]], query: str, k1: float = 1.2, b: float = 0.75
) -> dict[str, float]:
    """Okapi BM25 (bm25s, Lucene's variant) of each document (term counts) for ``query``."""
    import bm25s

    terms = list(dict.fromkeys(code_tokens(query)))
    if not docs or not terms or not any(t in c for c in docs.values() for t in terms):
        return dict.fromkeys(docs, 0.0)
    index = bm25s.BM25(k1=k1, b=b, method="lucene")
    index.index([list(counts.elements()) or [""] for counts in docs.values()], show_progress=False)
    return dict(zip(docs, (float(x) for x in index.get_scores(terms)), strict=True))


def lexical_scores(
    repo_root: str | Path, issue_text: str, cache_dir: str | Path | None = None
) -> dict[str, float]:
    """BM25 of every source file (path and content) of ``repo_root`` for ``issue_text``."""
    base = Path(repo_root).resolve()
    docs = {f: _file_terms(base, f, cache_dir) for f in source_files(base)}
    return bm25_scores(docs, issue_text)


# --- ranking ------------------------------------------------------------------------------------


def _is_distinctive(name: str) -> bool:
    """Long snake_case, camelCase or kebab-ish names (aider's "important identifier")."""
    if len(name) < 8:
        return False
    return "_" in name.strip("_") or any(c.isupper() for c in name[1:]) or len(name) >= 12


@dataclass(frozen=True)
class RankWeights:
    """How :func:`rank_files` blends its signals, each scaled to [0, 1] by its maximum.

    ``lexical``: BM25 of the issue text over each file's path and content. ``passage``: the
    best BM25 of the issue over the file's passages (:func:`passage_scores`). ``graph``: the
    personalised PageRank over the identifier graph. ``mentions``: the direct evidence the
    issue gives (stack-trace frames, file paths and dotted module names it names, definers of
    the identifiers it uses, files whose name it says). ``history``: how often and how
    recently the file changed in the git history
    (:func:`codehelm.tools.repo.history.change_scores`; zero outside a git repository). The
    defaults were tuned on the dev split of ``benchmarks/localization.py`` (``lexical`` and
    ``passage`` share a weight of 1, half each); ``RankWeights(0, 1, 1, 0, 0)`` is the repo
    map alone and ``RankWeights(1, 0, 0, 0, 0)`` plain BM25.
    """

    lexical: float = 0.5
    graph: float = 0.25
    mentions: float = 0.1
    history: float = 0.3
    passage: float = 0.5


REPO_MAP_ONLY = RankWeights(lexical=0.0, graph=1.0, mentions=1.0, history=0.0, passage=0.0)


@dataclass
class FileSignals:
    """Each file's ranking signals, each scaled to [0, 1] by its maximum."""

    files: list[str]
    lexical: dict[str, float]  # BM25 of the issue over the file's path and content
    graph: dict[str, float]  # personalised PageRank over the identifier graph
    mentions: dict[str, float]  # direct evidence: frames, paths, modules, identifiers named
    history: dict[str, float] = field(default_factory=dict)  # recent changes; {} if no git
    passage: dict[str, float] = field(default_factory=dict)  # BM25 of the best passage

    def blend(self, weights: RankWeights | None = None) -> dict[str, float]:
        """Each file's score: the weighted sum of its signals."""
        w = weights or RankWeights()
        return {
            f: w.lexical * self.lexical[f]
            + w.graph * self.graph[f]
            + w.mentions * self.mentions[f]
            + w.history * self.history.get(f, 0.0)
            + w.passage * self.passage.get(f, 0.0)
            for f in self.files
        }


@dataclass
class _Ranking:
    files: list[str]
    signals: FileSignals
    def_rank: dict[tuple[str, str], float]
    tags: dict[str, list[Tag]]


def _scaled(scores: dict[str, float]) -> dict[str, float]:
    top = max(scores.values(), default=0.0)
    return {f: s / top for f, s in scores.items()} if top > 0 else dict.fromkeys(scores, 0.0)


def _personalisation(
    mentions: Mentions, files: list[str], defines: dict[str, set[str]]
) -> dict[str, float]:
    """The direct evidence of the issue per file (PageRank's personalisation vector)."""
    person: dict[str, float] = defaultdict(float)
    for i, f in enumerate(mentions.frames):
        person[f] += 10.0 + 10.0 * (i + 1) / len(mentions.frames)  # innermost frame most
    for f in mentions.files:
        person[f] += 10.0
    for f in mentions.modules:
        person[f] += 5.0
    n_files = max(len(files), 1)
    for ident in mentions.identifiers:
        definers = defines.get(ident)
        if not definers:
            continue
        idf = math.log(1 + n_files / len(definers))
        w = idf * (3.0 if _is_distinctive(ident) else 1.0)
        if ident in mentions.code:
            w *= 2.0  # written as code (backticks, a call, a dotted name), not a prose word
        if ident.startswith("_"):
            w *= 0.5
        for d in definers:
            person[d] += w / len(definers)
    words = {w.lower() for w in mentions.identifiers if len(w) >= 4}
    for f in files:
        p = Path(f)
        stem = p.stem.lower()
        if stem in words or (stem == "__init__" and p.parent.name.lower() in words):
            person[f] += 1.0
    return dict(person)


def _rank(
    root: str | Path,
    issue_text: str,
    cache_dir: str | Path | None = None,
    history_half_life: float = HALF_LIFE,
) -> _Ranking:
    base = Path(root).resolve()
    files = source_files(base)
    tags = {f: _file_index(base / f, cache_dir).tags for f in files}
    defines: dict[str, set[str]] = defaultdict(set)
    references: dict[str, Counter[str]] = defaultdict(Counter)
    for f, ftags in tags.items():
        for t in ftags:
            if t.kind == "def":
                defines[t.name].add(f)
            else:
                references[t.name][f] += 1
    mentions = issue_mentions(issue_text, files)
    mentioned_idents = {i for i in mentions.identifiers if i in defines}

    # One weighted edge per (referencing file, defining file), summed over identifiers; what
    # each identifier contributes is kept to rank definitions for the map.
    edges: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for ident, definers in defines.items():
        mul = 1.0
        if ident in mentioned_idents:
            mul *= 10
        if _is_distinctive(ident):
            mul *= 10
        if ident.startswith("_"):
            mul *= 0.1
        if len(definers) > 5:
            mul *= 0.1
        refs = references.get(ident)
        if not refs:
            # aider: definitions nobody references still tie their file to itself
            for d in definers:
                edges[(d, d)][ident] = 0.1 * mul / len(definers)
            continue
        for referencer, count in refs.items():
            w = mul * math.sqrt(count) / len(definers)
            for d in definers:
                edges[(referencer, d)][ident] = w
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(files)
    graph.add_weighted_edges_from((s, d, sum(by.values())) for (s, d), by in edges.items())

    person = _personalisation(mentions, files, defines)
    if graph.number_of_edges() == 0 and not person:
        rank = {f: 1.0 / max(len(files), 1) for f in files}
    else:
        kwargs: dict[str, Any] = {"weight": "weight"}
        if person:
            kwargs["personalization"] = {f: person.get(f, 0.0) for f in files}
            kwargs["dangling"] = kwargs["personalization"]
        try:
            rank = nx.pagerank(graph, **kwargs)
        except (ZeroDivisionError, nx.PowerIterationFailedConvergence):
            rank = nx.pagerank(graph, weight="weight")

    docs = {f: _file_terms(base, f, cache_dir) for f in files}
    signals = FileSignals(
        files,
        _scaled(bm25_scores(docs, issue_text)),
        _scaled({f: rank.get(f, 0.0) for f in files}),
        _scaled({f: person.get(f, 0.0) for f in files}),
        _scaled({f: s for f, s in change_scores(base, history_half_life).items() if f in tags}),
        _scaled(passage_scores(base, files, issue_text, cache_dir)),
    )

    # Distribute each file's rank over its out-edges onto (definer, ident)
    def_rank: dict[tuple[str, str], float] = defaultdict(float)
    out_weight: dict[str, float] = defaultdict(float)
    for (src, _), by in edges.items():
        out_weight[src] += sum(by.values())
    for (src, dst), by in edges.items():
        for ident, w in by.items():
            def_rank[(dst, ident)] += rank.get(src, 0.0) * w / out_weight[src]
    for ident in mentioned_idents:
        for d in defines[ident]:
            def_rank[(d, ident)] += 1.0
    return _Ranking(files, signals, dict(def_rank), tags)


def rank_files_scored(
    repo_root: str | Path,
    issue_text: str,
    k: int = 10,
    cache_dir: str | Path | None = None,
    weights: RankWeights | None = None,
) -> list[tuple[str, float]]:
    """Like :func:`rank_files`, with each file's score."""
    scores = file_signals(repo_root, issue_text, cache_dir).blend(weights)
    ordered = sorted(scores, key=lambda f: (-scores[f], f))
    return [(f, scores[f]) for f in ordered[: max(k, 0)]]


def file_signals(
    repo_root: str | Path,
    issue_text: str,
    cache_dir: str | Path | None = None,
    history_half_life: float = HALF_LIFE,
) -> FileSignals:
    """The lexical, graph, mention and history signals of every source file for
    ``issue_text`` (``history_half_life`` in commits, see
    :func:`codehelm.tools.repo.history.change_scores`)."""
    return _rank(repo_root, issue_text, cache_dir, history_half_life).signals


def rank_files(
    repo_root: str | Path,
    issue_text: str,
    k: int = 10,
    cache_dir: str | Path | None = None,
    weights: RankWeights | None = None,
) -> list[str]:
    """The ``k`` source files most likely concerned by ``issue_text``, best first.

    Paths are relative to ``repo_root`` (POSIX separators). No model is involved: each file's
    score blends BM25 of the issue over its path and content and over its best passage, its
    PageRank over the identifier graph personalised by what the issue mentions, that direct
    evidence itself and, in a git repository, how often and how recently the file changed (see
    :class:`RankWeights`).
    """
    return [f for f, _ in rank_files_scored(repo_root, issue_text, k, cache_dir, weights)]


def _default_tokens(text: str) -> int:
    return (len(text) + 3) // 4


def _render(selected: list[tuple[str, Tag]], file_order: dict[str, int]) -> str:
    by_file: dict[str, list[Tag]] = defaultdict(list)
    for f, t in selected:
        by_file[f].append(t)
    chunks = []
    for f in sorted(by_file, key=lambda x: file_order.get(x, 0)):
        lines = [f + ":"]
        last = -2
        for t in sorted(set(by_file[f]), key=lambda t: t.line):
            if last >= 0 and t.line > last + 1:
                lines.append("⋮")
            lines.append("│" + t.signature)
            last = t.line
        chunks.append("\n".join(lines))
    return "\n\n".join(chunks) + ("\n" if chunks else "")


def repo_map(
    repo_root: str | Path,
    issue_text: str,
    max_tokens: int = 1024,
    cache_dir: str | Path | None = None,
    count_tokens: Callable[[str], int] = _default_tokens,
) -> str:
    """A map of the repository for ``issue_text``: the top files with the signature lines of
    their top definitions, at most ``max_tokens`` tokens (``count_tokens``; ~4 chars a token)."""
    r = _rank(repo_root, issue_text, cache_dir)
    file_rank = r.signals.blend()
    sigs: dict[tuple[str, str], list[Tag]] = defaultdict(list)
    for f, ftags in r.tags.items():
        for t in ftags:
            if t.kind == "def" and t.signature.strip():
                sigs[(f, t.name)].append(t)
    ranked_defs = sorted(
        ((key, score) for key, score in r.def_rank.items() if key in sigs),
        key=lambda kv: (-kv[1], kv[0]),
    )
    candidates: list[tuple[str, Tag]] = []
    for key, _score in ranked_defs:
        candidates.extend((key[0], t) for t in sigs[key])
    # then files with no ranked definition, by file rank, with their first definitions
    ordered_files = sorted(r.files, key=lambda f: (-file_rank[f], f))
    file_order = {f: i for i, f in enumerate(ordered_files)}
    listed = {f for f, _ in candidates}
    for f in ordered_files:
        if f not in listed:
            candidates.extend((f, t) for t in r.tags[f] if t.kind == "def")
    if not candidates:
        text = "\n".join(ordered_files) + ("\n" if ordered_files else "")
        while text and count_tokens(text) > max_tokens:
            text = "\n".join(text.splitlines()[:-1])
        return text
    lo, hi, best = 0, len(candidates), ""
    while lo <= hi:
        mid = (lo + hi) // 2
        text = _render(candidates[:mid], file_order)
        if count_tokens(text) <= max_tokens:
            best, lo = text, mid + 1
        else:
            hi = mid - 1
    return best
