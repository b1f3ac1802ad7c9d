"""The aider-style repository map: tags, ranking, token budget and the tags cache."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from codehelm.tools.repo import map as repomap
from codehelm.tools.repo.map import (
    REPO_MAP_ONLY,
    RankWeights,
    bm25_scores,
    code_tokens,
    extract_tags,
    file_signals,
    get_tags,
    issue_mentions,
    lexical_scores,
    rank_files,
    repo_map,
    source_files,
)


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.core import Engine\n",
            "pkg/core.py": (
                "from pkg.util import helper\n\n"
                "class Engine:\n"
                "    def start(self, x):\n"
                "        return helper(x)\n\n"
                "def run_engine():\n"
                "    return Engine().start(1)\n"
            ),
            "pkg/util.py": "def helper(x):\n    return x + 1\n\nLIMIT = 3\n",
            "pkg/parse_config.py": ("def parse_config_value(text):\n    return text.strip()\n"),
            "pkg/cli.py": (
                "from pkg.core import run_engine\nfrom pkg.util import helper\n\n"
                "def main():\n    run_engine()\n    helper(2)\n"
            ),
            "web/app.js": (
                "class Widget {\n  render(el) { return formatLabel(el); }\n}\n"
                "function formatLabel(x) { return String(x); }\n"
            ),
            "web/types.ts": (
                "export interface Shape { area(): number }\n"
                "export class Square implements Shape { area() { return 4; } }\n"
            ),
            ".venv/lib/x.py": "def hidden(): pass\n",
            "build/gen.py": "def generated(): pass\n",
            "ignored_dir/skip.py": "def skipped(): pass\n",
            ".gitignore": "ignored_dir/\n*.tmp.py\n",
            "notes.tmp.py": "def tmp(): pass\n",
            "README.md": "# readme\n",
        },
    )
    return tmp_path


def test_python_definitions_and_references() -> None:
    tags = extract_tags(b"class A:\n    def m(self):\n        return g(x)\nX = 1\n", "python")
    defs = {(t.name, t.category) for t in tags if t.kind == "def"}
    refs = {t.name for t in tags if t.kind == "ref"}
    assert defs == {("A", "class"), ("m", "method"), ("X", "constant")}
    assert {"g", "x"} <= refs and "A" not in refs
    sig = next(t for t in tags if t.name == "m")
    assert sig.signature.strip() == "def m(self):" and sig.line == 1


def test_javascript_and_typescript_tags() -> None:
    js = extract_tags(
        b"class W { render(e) { return fmt(e); } }\nconst f = () => 1;\n", "javascript"
    )
    assert {t.name for t in js if t.kind == "def"} == {"W", "render", "f"}
    assert "fmt" in {t.name for t in js if t.kind == "ref"}
    ts = extract_tags(b"interface I { a(): void }\ntype T = number;\nlet v: I;\n", "typescript")
    assert {"I", "a", "T"} <= {t.name for t in ts if t.kind == "def"}
    assert "I" in {t.name for t in ts if t.kind == "ref"}


def test_source_files_skip_venv_build_gitignore_and_non_source(repo: Path) -> None:
    files = source_files(repo)
    assert "pkg/core.py" in files and "web/app.js" in files and "web/types.ts" in files
    for bad in (".venv/lib/x.py", "build/gen.py", "ignored_dir/skip.py", "notes.tmp.py"):
        assert bad not in files
    assert "README.md" not in files


def test_named_identifier_ranks_its_definer_first(repo: Path) -> None:
    ranked = rank_files(repo, "parse_config_value returns the wrong value for quoted text")
    assert ranked[0] == "pkg/parse_config.py"
    assert rank_files(repo, "formatLabel crashes on null")[0] == "web/app.js"
    assert all(not Path(f).is_absolute() for f in ranked)


def test_stack_trace_frame_ranks_high(repo: Path) -> None:
    issue = (
        "Traceback (most recent call last):\n"
        '  File "/home/u/project/pkg/cli.py", line 5, in main\n'
        '  File "/home/u/project/pkg/util.py", line 2, in helper\n'
        "TypeError: unsupported operand\n"
    )
    top = rank_files(repo, issue, k=3)
    assert "pkg/util.py" in top[:2] and "pkg/cli.py" in top


def test_repo_map_respects_token_budget(repo: Path) -> None:
    full = repo_map(repo, "Engine start", max_tokens=4096)
    assert "pkg/core.py:" in full and "class Engine:" in full
    small = repo_map(repo, "Engine start", max_tokens=20)
    assert len(small) <= 80 and len(small) < len(full)
    words = repo_map(repo, "Engine", max_tokens=30, count_tokens=lambda s: len(s.split()))
    assert len(words.split()) <= 30


def test_tags_cache_reused_and_invalidated(
    repo: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = tmp_path_factory.mktemp("tags-cache")
    reads: list[Path] = []
    real = repomap._read_source

    def counting(path: Path) -> bytes:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(repomap, "_read_source", counting)
    repomap.clear_memory_cache()
    rank_files(repo, "helper", cache_dir=cache_dir)
    assert reads  # first call parses every file
    reads.clear()
    rank_files(repo, "helper", cache_dir=cache_dir)
    assert reads == []  # memory cache
    repomap.clear_memory_cache()
    rank_files(repo, "helper", cache_dir=cache_dir)
    assert reads == []  # disk cache (a new process would see the same)

    util = repo / "pkg" / "util.py"
    util.write_text("def helper(x):\n    return x + 2\n\ndef brand_new_thing():\n    pass\n")
    st = util.stat()
    os.utime(util, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    rank_files(repo, "helper", cache_dir=cache_dir)
    assert [p.name for p in reads] == ["util.py"]
    assert "brand_new_thing" in {t.name for t in get_tags(util, cache_dir)}


# --- lexical relevance, issue mentions and the blend ---------------------------------------------


def test_code_tokens_split_identifiers_and_drop_noise() -> None:
    tokens = code_tokens("Fix parse_url for HTTPResponse in the 2.0 release #3009")
    assert {"parse_url", "parse", "url", "httpresponse", "http", "response", "fix"} <= set(tokens)
    assert "the" not in tokens and "3009" not in tokens and "in" not in tokens


def test_bm25_prefers_rare_terms_and_shorter_documents() -> None:
    docs = {
        "a.py": Counter({"socket": 1, "leak": 1, "close": 3}),
        "b.py": Counter({"close": 4, "read": 2}),
        "c.py": Counter({"socket": 1, "leak": 1, "close": 3, **{f"w{i}": 5 for i in range(40)}}),
    }
    scores = bm25_scores(docs, "socket leak when close fails")
    assert scores["a.py"] > scores["c.py"] > scores["b.py"] > 0  # rare terms, then length
    assert bm25_scores(docs, "nothing matches here") == dict.fromkeys(docs, 0.0)


def test_issue_mentions_dotted_modules_and_code_identifiers(tmp_path: Path) -> None:
    files = ["src/pkg/__init__.py", "src/pkg/http/client.py", "src/pkg/util.py", "docs/conf.py"]
    m = issue_mentions(
        "Calling ``pkg.http.client.Session.send()`` fails, see pkg.util and also e.g. the docs;"
        " `retry_count` is ignored by build_request(x). Plain prose words stay prose.",
        files,
    )
    assert m.modules == {"src/pkg/http/client.py", "src/pkg/util.py"}
    assert {"Session", "send", "retry_count", "build_request"} <= m.code
    assert "Plain" not in m.code and "prose" in m.identifiers
    assert issue_mentions("pkg alone names no module", files).modules == set()


def test_frames_are_ordered_by_position_in_the_issue(repo: Path) -> None:
    files = source_files(repo)
    m = issue_mentions(
        'at render (web/app.js:2)\nFile "pkg/cli.py", line 5, in main\nat area (web/types.ts:2)\n',
        files,
    )
    assert m.frames == ["web/app.js", "pkg/cli.py", "web/types.ts"]


def test_lexical_signal_finds_a_file_by_its_content(repo: Path) -> None:
    _write(
        repo,
        {
            "pkg/multipart.py": (
                "def split_parts(body):\n"
                "    # scan for the boundary line by line; a large body without boundary\n"
                "    # must not rescan from the start (quadratic time)\n"
                "    return body.split(b'--')\n"
            )
        },
    )
    issue = "Fix slow parsing of a large body when the boundary is missing (quadratic time)."
    assert rank_files(repo, issue, k=1) == ["pkg/multipart.py"]
    signals = file_signals(repo, issue)
    assert signals.lexical["pkg/multipart.py"] == 1.0  # scaled by the maximum
    assert all(0.0 <= v <= 1.0 for s in (signals.graph, signals.mentions) for v in s.values())
    alone = rank_files(repo, issue, k=1, weights=REPO_MAP_ONLY)
    assert alone != ["pkg/multipart.py"]  # the graph alone has nothing to go on


def test_weights_choose_between_signals(repo: Path) -> None:
    # the text names util.py's definer but its words are in core.py's comments
    _write(repo, {"pkg/core.py": "# helper for the engine: counts widgets and gadgets\n"})
    issue = "helper miscounts widgets and gadgets"
    signals = file_signals(repo, issue)
    only_lexical = signals.blend(RankWeights(lexical=1.0, graph=0.0, mentions=0.0, passage=0.0))
    only_mentions = signals.blend(RankWeights(lexical=0.0, graph=0.0, mentions=1.0, passage=0.0))
    assert max(only_lexical, key=only_lexical.__getitem__) == "pkg/core.py"
    assert max(only_mentions, key=only_mentions.__getitem__) == "pkg/util.py"


def test_a_package_named_coverage_is_not_skipped(tmp_path: Path) -> None:
    _write(tmp_path, {"coverage/__init__.py": "", "coverage/html.py": "def report(): pass\n"})
    assert source_files(tmp_path) == ["coverage/__init__.py", "coverage/html.py"]


def test_term_counts_come_from_the_disk_cache(
    repo: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = tmp_path_factory.mktemp("terms-cache")
    repomap.clear_memory_cache()
    first = lexical_scores(repo, "helper engine", cache_dir)
    repomap.clear_memory_cache()

    def no_reads(path: Path) -> bytes:
        raise AssertionError(f"read {path}")

    monkeypatch.setattr(repomap, "_read_source", no_reads)
    assert lexical_scores(repo, "helper engine", cache_dir) == first
    assert first["pkg/util.py"] > 0 and first["web/types.ts"] == 0


def test_passages_prefer_the_issue_words_together(tmp_path: Path) -> None:
    # the same lines in another order: whole-file BM25 cannot tell the two files apart
    words = ["# scan the boundary", "# rescan is quadratic", "# large body"]
    filler = [f"value_{i} = {i}" for i in range(120)]
    together = words + filler
    apart = filler[:1] + words[:1] + filler[1:60] + words[1:2] + filler[60:] + words[2:]
    _write(tmp_path, {"pkg/apart.py": "\n".join(apart), "pkg/together.py": "\n".join(together)})
    issue = "large body rescan of the boundary is quadratic"
    signals = file_signals(tmp_path, issue)
    assert signals.lexical["pkg/apart.py"] == signals.lexical["pkg/together.py"]
    assert signals.passage["pkg/together.py"] == 1.0 > signals.passage["pkg/apart.py"]
    assert rank_files(tmp_path, issue, k=1) == ["pkg/together.py"]
    assert rank_files(tmp_path, issue, k=1, weights=RankWeights(passage=0.0)) == ["pkg/apart.py"]
