"""The aider-style repository map: tags, ranking, token budget and the tags cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codehelm.tools.repo import map as repomap
from codehelm.tools.repo.map import extract_tags, get_tags, rank_files, repo_map, source_files


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
