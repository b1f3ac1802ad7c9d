"""File-level localisation: BM25, the repo map alone and ``rank_files`` (their blend).

Real fixes from consecutive patch releases of pure-Python packages on PyPI, chosen so that
localisation is a real problem (at least ``MIN_FILES`` candidate files) and the issue is about
one fix (a release that changed at most ``MAX_GOLD`` source files):

* both sdists are downloaded with ``pip download --no-deps --no-binary :all:`` into
  ``~/.cache/codehelm-bench/sdists`` (reused on later runs) and unpacked next to them;
* the issue text is the newer release's changelog section (from the heading naming the newer
  version to the next heading naming another version, at most 4000 characters), from the
  first changelog file found at the root or under ``doc``/``docs``; a pair whose entry has
  fewer than ``MIN_WORDS`` distinct words ("No significant changes.") is skipped;
* candidates are the ``.py`` files of the package directories (top-level or ``src/``
  directories with an ``__init__.py``, not development ones such as ``utils/``) minus tests,
  docs and examples, the same for every ranker; gold files are the candidates whose content
  changed in the newer release, minus files whose only changed lines mention a version
  (version bumps);
* every ranker sees the older release's tree (the code before the fix), as a git clone with
  history: per package, a repository whose commits are the candidate files of its releases in
  ``SERIES`` (all series, in version order, one commit per release, a fixed author and date),
  cloned at the older release's commit with nothing later (checked: the newer release's commit
  is not in the clone), so that ``rank_files`` can use the change history as in a real
  repository. BM25 reads text only and is unaffected.

A pair scores a hit@k when any gold file is among the first k. Packages are split in two:
``DEV`` (used to tune :class:`codehelm.tools.repo.map.RankWeights`, ``--tune``) and the
held-out rest, whose numbers are the ones to quote. Run:
``.venv/bin/python benchmarks/localization.py [--tune] [--pairs-json out.json]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import hashlib
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codehelm.tools.repo import history
from codehelm.tools.repo import map as repomap
from codehelm.tools.repo.map import REPO_MAP_ONLY, RankWeights, file_signals, source_files

CACHE = Path.home() / ".cache" / "codehelm-bench"
TAGS = CACHE / "tags"
MIN_FILES = 30
MAX_GOLD = 3
MIN_WORDS = 4  # an entry such as "No significant changes." or "Misc: #4429" says nothing
KS = (1, 3, 5)
# A commit of the history repositories is a whole release (tens of commits in the real
# history), so the history's half-life is counted in releases here, tuned on the dev split;
# the library's default (codehelm.tools.repo.history.HALF_LIFE) counts ordinary commits.
HALF_LIFE_RELEASES = 1.0

# (package, consecutive releases): each adjacent pair is one candidate item
SERIES: list[tuple[str, list[str]]] = [
    ("werkzeug", ["2.1.0", "2.1.1", "2.1.2"]),
    ("werkzeug", ["2.2.0", "2.2.1", "2.2.2", "2.2.3"]),
    ("werkzeug", [f"2.3.{i}" for i in range(9)]),
    ("werkzeug", [f"3.0.{i}" for i in range(7)]),
    ("urllib3", [f"1.26.{i}" for i in range(10, 21)]),
    ("urllib3", [f"2.0.{i}" for i in range(8)]),
    ("urllib3", ["2.2.0", "2.2.1", "2.2.2", "2.2.3"]),
    ("prompt_toolkit", [f"3.0.{i}" for i in range(20, 49)]),
    ("coverage", [f"7.2.{i}" for i in range(8)]),
    ("coverage", [f"7.3.{i}" for i in range(5)]),
    ("coverage", [f"7.4.{i}" for i in range(5)]),
    ("coverage", [f"7.5.{i}" for i in range(5)]),
    ("coverage", [f"7.6.{i}" for i in range(5)]),
    ("pytest", ["7.0.0", "7.0.1"]),
    ("pytest", ["7.1.0", "7.1.1", "7.1.2", "7.1.3"]),
    ("pytest", ["7.2.0", "7.2.1", "7.2.2"]),
    ("pytest", ["7.3.0", "7.3.1", "7.3.2"]),
    ("pytest", ["7.4.0", "7.4.1", "7.4.2", "7.4.3", "7.4.4"]),
    ("pytest", ["8.0.0", "8.0.1", "8.0.2"]),
    ("pytest", ["8.1.0", "8.1.1", "8.1.2"]),
    ("pytest", ["8.2.0", "8.2.1", "8.2.2"]),
    ("pytest", [f"8.3.{i}" for i in range(6)]),
    ("sphinx", ["6.1.0", "6.1.1", "6.1.2", "6.1.3"]),
    ("sphinx", ["6.2.0", "6.2.1"]),
    ("sphinx", ["7.1.0", "7.1.1", "7.1.2"]),
    ("sphinx", [f"7.2.{i}" for i in range(7)]),
    ("sphinx", [f"7.3.{i}" for i in range(8)]),
    ("sphinx", [f"7.4.{i}" for i in range(8)]),
    ("pygments", ["2.15.0", "2.15.1"]),
    ("pygments", ["2.16.0", "2.16.1"]),
    ("pygments", ["2.17.0", "2.17.1", "2.17.2"]),
    ("black", ["23.9.0", "23.9.1"]),
    ("black", ["23.10.0", "23.10.1"]),
    ("black", ["23.12.0", "23.12.1"]),
    ("black", ["24.1.0", "24.1.1"]),
    ("black", ["24.4.0", "24.4.1", "24.4.2"]),
    ("setuptools", ["69.0.0", "69.0.1", "69.0.2", "69.0.3"]),
    ("setuptools", ["69.1.0", "69.1.1"]),
    ("setuptools", ["69.4.1", "69.4.2"]),
    ("setuptools", ["69.5.0", "69.5.1"]),
    ("setuptools", ["70.1.0", "70.1.1"]),
    ("setuptools", ["71.0.0", "71.0.2", "71.0.3", "71.0.4"]),
    ("setuptools", ["73.0.0", "73.0.1"]),
    ("setuptools", ["74.1.0", "74.1.1", "74.1.2", "74.1.3"]),
    ("setuptools", ["75.3.0", "75.3.1", "75.3.2", "75.3.3", "75.3.4"]),
    ("setuptools", ["75.8.0", "75.8.1", "75.8.2"]),
    ("setuptools", ["78.0.1", "78.0.2"]),
    ("celery", ["5.2.1", "5.2.2", "5.2.3", "5.2.4", "5.2.6", "5.2.7"]),
    ("celery", ["5.3.0", "5.3.1"]),
    ("celery", ["5.3.4", "5.3.5", "5.3.6"]),
    ("pip", ["23.1", "23.1.1", "23.1.2"]),
    ("pip", ["23.2", "23.2.1"]),
    ("pip", ["23.3", "23.3.1", "23.3.2"]),
    ("pip", ["24.1", "24.1.1", "24.1.2"]),
    ("scrapy", ["2.11.0", "2.11.1", "2.11.2"]),
    ("scrapy", ["2.13.0", "2.13.1", "2.13.2", "2.13.3", "2.13.4"]),
    ("scrapy", ["2.14.0", "2.14.1", "2.14.2"]),
    ("trio", ["0.22.0", "0.22.1", "0.22.2"]),
    ("trio", ["0.23.0", "0.23.1", "0.23.2"]),
    ("trio", ["0.25.0", "0.25.1"]),
    ("trio", ["0.26.0", "0.26.1", "0.26.2"]),
]


# Packages whose pairs tune the weights; the others are held out (chosen by pair count
# before any score was looked at, to give both splits a similar size and mix; of the packages
# added later, setuptools joined the dev split and the rest the held-out one, again before any
# of their scores was looked at).
DEV = frozenset({"werkzeug", "coverage", "black", "setuptools"})

CHANGELOG_NAMES = re.compile(r"^(changes|changelog|history|news)(\.(rst|md|txt))?$", re.I)
CHANGELOG_DIRS = ("", "doc", "docs", "doc/en", "docs/source", "docs/build")
SKIP_PARTS = {"tests", "_tests", "test", "testing", "docs", "doc", "examples", "example", "bench"}
# top-level directories of development scripts, not of the package
DEV_DIRS = {"utils", "scripts", "tools", "ci", "lab", "benchmarks", "profiling", "tasks"}
_VERSION = re.compile(r"(?<![\w.])v?(\d+(?:\.\d+)+)(?![\w.]*\d)")
_UNDERLINE = re.compile(r"\s*([-=~^*#+])\1{2,}\s*")


def download(pkg: str, version: str) -> Path | None:
    """Unpacked sdist of ``pkg==version`` (cached), or None when it cannot be had."""
    dest = CACHE / "src" / f"{pkg}-{version}"
    if not dest.is_dir():
        sdists = CACHE / "sdists"
        sdists.mkdir(parents=True, exist_ok=True)
        norm = re.sub(r"[-_.]+", "[-_.]", pkg)
        pat = re.compile(rf"^{norm}-{re.escape(version)}\.(tar\.gz|zip)$", re.I)
        found = [p for p in sdists.iterdir() if pat.match(p.name)]
        if not found:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
            cmd += ["-q", "-d", str(sdists), f"{pkg}=={version}"]
            subprocess.run(cmd, capture_output=True, timeout=300, check=False)
            found = [p for p in sdists.iterdir() if pat.match(p.name)]
            if not found:
                return None
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if found[0].name.endswith(".zip"):
            with zipfile.ZipFile(found[0]) as z:
                z.extractall(tmp)
        else:
            with tarfile.open(found[0]) as t:
                t.extractall(tmp, filter="data")
        tmp.rename(dest)
    inner = [p for p in dest.iterdir() if p.is_dir()]
    return inner[0] if len(inner) == 1 else dest


def _headings(lines: list[str]) -> list[tuple[int, set[str]]]:
    """(line index, versions named) of the changelog's headings that name a version: a line
    underlined (rst), a ``#`` line (markdown) or an ``:version:`` field (sphinx changelog)."""
    out = []
    for i, line in enumerate(lines):
        underlined = i + 1 < len(lines) and bool(_UNDERLINE.fullmatch(lines[i + 1]))
        heading = underlined or line.startswith("#") or line.strip().startswith(":version:")
        versions = set(_VERSION.findall(line)) if heading and line.strip() else set()
        if versions:
            out.append((i, versions))
    return out


def _canon(version: str) -> str:
    """``3.5`` and ``3.5.0`` are the same release."""
    parts = version.split(".")
    while len(parts) > 2 and parts[-1] == "0":
        parts.pop()
    return ".".join(parts)


def changelog_entry(root: Path, new: str) -> str:
    """The changelog section of release ``new``: from its heading to the next heading that
    names another version (sub-headings such as "Bug fixes - 4.11.1" stay inside)."""
    for d in CHANGELOG_DIRS:
        folder = root / d
        if not folder.is_dir():
            continue
        for f in sorted(folder.iterdir()):
            if not (f.is_file() and CHANGELOG_NAMES.match(f.name)):
                continue
            lines = f.read_text(encoding="utf-8", errors="replace").splitlines()
            heads = _headings(lines)
            mine = [i for i, vs in heads if _canon(new) in {_canon(v) for v in vs}]
            if not mine:
                continue
            start = mine[0]
            end = next(
                (i for i, vs in heads if i > start and _canon(new) not in map(_canon, vs)),
                len(lines),
            )
            body = [
                line
                for line in lines[start + 1 : end]
                if line.strip()
                and not _UNDERLINE.fullmatch(line)
                and not re.match(r"\s*(\(?released|unreleased|\.\. _|:released:)", line, re.I)
            ]
            return "\n".join(body).strip()[:4000]
    return ""


def _package_dirs(root: Path) -> list[str]:
    """Top-level (or ``src/``) directories that are Python packages."""
    dirs = []
    for parent in ("", "src/"):
        base = root / parent
        if base.is_dir():
            dirs += [
                parent + d.name for d in sorted(base.iterdir()) if (d / "__init__.py").is_file()
            ]
    return [d for d in dirs if d.rsplit("/", 1)[-1] not in SKIP_PARTS | DEV_DIRS]


def python_files(root: Path) -> dict[str, str]:
    """The candidate files of a release: ``.py`` files of its packages, tests excluded."""
    pkgs = _package_dirs(root)
    out = {}
    for rel in source_files(root):
        parts = rel.split("/")
        if not rel.endswith(".py") or not any(rel.startswith(p + "/") for p in pkgs):
            continue
        if any(p in SKIP_PARTS for p in parts[:-1]) or parts[-1].startswith(("test_", "conftest")):
            continue
        out[rel] = (root / rel).read_text(encoding="utf-8", errors="replace")
    return out


def gold_files(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Candidates changed by the newer release, minus version bumps."""
    gold = []
    for rel, text in old.items():
        if rel not in new or new[rel] == text:
            continue
        diff = difflib.unified_diff(text.splitlines(), new[rel].splitlines(), lineterm="", n=0)
        changed = [
            line[1:]
            for line in diff
            if line[:1] in "+-" and not line.startswith(("+++", "---")) and line[1:].strip()
        ]
        if changed and all(re.search(r"version", line, re.I) for line in changed):
            continue
        gold.append(rel)
    return sorted(gold)


def _words(text: str) -> set[str]:
    """The distinct words of three or more letters of ``text``."""
    return set(re.findall(r"[a-z]{3,}", text.lower()))


# a fixed identity and date: the history repositories are the same on every run and machine
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "codehelm-bench",
    "GIT_AUTHOR_EMAIL": "bench@codehelm.invalid",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000",
    "GIT_COMMITTER_NAME": "codehelm-bench",
    "GIT_COMMITTER_EMAIL": "bench@codehelm.invalid",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "advice.detachedHead=false", *args],
        cwd=cwd,
        env={**os.environ, **_GIT_ENV},
        capture_output=True,
        text=True,
        timeout=300,
        check=check,
    )


def _release_key(version: str) -> tuple[int, ...]:
    """``2.3.10`` after ``2.3.9`` (the versions in ``SERIES`` are plain numbers)."""
    return tuple(int(part) for part in version.split("."))


def history_repo(pkg: str, releases: list[tuple[str, dict[str, str]]]) -> Path:
    """A git repository of ``pkg`` whose commits are the candidate files of ``releases``
    (oldest first), one commit per release tagged ``v<version>``; named by a digest of the
    releases and their files, so a change of the series or the filters builds a new one."""
    h = hashlib.sha1()
    for version, files in releases:
        h.update(f"{version}\0".encode())
        for rel in sorted(files):
            h.update(f"{rel}\0{files[rel]}\0".encode())
    repo = CACHE / "history" / f"{pkg}-{h.hexdigest()[:10]}"
    if repo.is_dir():
        return repo
    tmp = repo.with_name(repo.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _git(tmp, "init", "-q", "-b", "main")
    for version, files in releases:
        for child in tmp.iterdir():
            if child.is_dir() and child.name != ".git":
                shutil.rmtree(child)
            elif child.is_file():
                child.unlink()
        for rel, text in files.items():
            p = tmp / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
        _git(tmp, "add", "-A")
        _git(tmp, "commit", "-q", "--allow-empty", "--no-verify", "-m", f"{pkg} {version}")
        _git(tmp, "tag", f"v{version}")
    tmp.rename(repo)
    return repo


def checkout(repo: Path, old: str, new: str, files: dict[str, str]) -> Path:
    """A clone of ``repo`` holding release ``old`` and its history only: the commit of ``new``
    (the fix) is asserted absent, and the tree asserted to be ``files``."""
    old_sha = _git(repo, "rev-parse", f"v{old}^{{commit}}").stdout.strip()
    new_sha = _git(repo, "rev-parse", f"v{new}^{{commit}}").stdout.strip()
    dest = CACHE / "checkouts" / f"{repo.name}-{old}"
    if not dest.is_dir():
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        clone = ["clone", "-q", "--no-local", "--no-tags", "--single-branch", "--branch"]
        _git(tmp.parent, *clone, f"v{old}", str(repo), tmp.name)
        tmp.rename(dest)
    # no leakage: HEAD is the older release, and the newer one is not even in the object store
    assert _git(dest, "rev-parse", "HEAD").stdout.strip() == old_sha
    assert _git(dest, "cat-file", "-e", f"{new_sha}^{{commit}}", check=False).returncode != 0
    listed = _git(dest, "-c", "core.quotepath=off", "ls-files").stdout.splitlines()
    assert sorted(listed) == sorted(files), f"{dest}: tree differs from the release"
    return dest


def build_pairs() -> list[dict[str, Any]]:
    pairs = []
    versions: dict[str, set[str]] = {}
    for pkg, series in SERIES:
        versions.setdefault(pkg, set()).update(series)
    roots = {(pkg, v): download(pkg, v) for pkg, vs in versions.items() for v in sorted(vs)}
    cands = {key: python_files(root) for key, root in roots.items() if root is not None}
    repos = {
        pkg: history_repo(
            pkg, [(v, cands[pkg, v]) for v in sorted(vs, key=_release_key) if (pkg, v) in cands]
        )
        for pkg, vs in versions.items()
    }
    for pkg, series in SERIES:
        for old_v, new_v in itertools.pairwise(series):
            why = ""
            old_root, new_root = roots[pkg, old_v], roots[pkg, new_v]
            if old_root is None or new_root is None:
                why = "download failed"
            else:
                issue = changelog_entry(new_root, new_v)
                old_files, new_files = cands[pkg, old_v], cands[pkg, new_v]
                gold = gold_files(old_files, new_files)
                if not issue:
                    why = "no changelog entry"
                elif len(_words(issue)) < MIN_WORDS:
                    why = "changelog entry says nothing"
                elif len(old_files) < MIN_FILES:
                    why = f"{len(old_files)} candidate files"
                elif not 1 <= len(gold) <= MAX_GOLD:
                    why = f"{len(gold)} gold files"
            if why:
                print(f"skip {pkg} {old_v}->{new_v}: {why}", file=sys.stderr)
                continue
            tree = checkout(repos[pkg], old_v, new_v, old_files)
            pairs.append(
                {
                    "pkg": pkg,
                    "old": old_v,
                    "new": new_v,
                    "split": "dev" if pkg in DEV else "held-out",
                    "tree": str(tree),
                    "issue": issue,
                    "gold": gold,
                    "n_files": len(old_files),
                }
            )
    return pairs


def _top(scores: dict[str, float], k: int = max(KS)) -> list[str]:
    return sorted(scores, key=lambda f: (-scores[f], f))[:k]


def _timed(fn: Callable[[], dict[str, float]]) -> tuple[list[str], float]:
    """Top files and seconds of one query, with the in-process caches (tags, git history) cold
    and the on-disk tags cache warm, so every method pays for reading what it needs."""
    repomap.clear_memory_cache()
    history.clear_cache()
    t0 = time.perf_counter()
    top = _top(fn())
    return top, time.perf_counter() - t0


def run(pairs: list[dict[str, Any]], weights: RankWeights, half_life: float) -> None:
    """Rank every pair with each method; store ``ranked`` and ``seconds`` in it. Besides BM25,
    the repo map and ``rank_files``: the change history alone, BM25 plus the history (with
    ``rank_files``'s history weight), ``rank_files`` without the history and without the
    passages (their weight given to whole-file BM25)."""
    history_only = RankWeights(lexical=0.0, graph=0.0, mentions=0.0, history=1.0, passage=0.0)
    bm25_history = RankWeights(
        lexical=1.0, graph=0.0, mentions=0.0, history=weights.history, passage=0.0
    )
    no_history = dataclasses.replace(weights, history=0.0)
    no_passage = dataclasses.replace(weights, lexical=weights.lexical + weights.passage, passage=0)

    def blend(w: RankWeights) -> Callable[[Path, str], dict[str, float]]:
        return lambda tree, issue: file_signals(tree, issue, TAGS, half_life).blend(w)

    methods: dict[str, Callable[[Path, str], dict[str, float]]] = {
        "BM25": lambda tree, issue: repomap.lexical_scores(tree, issue, TAGS),
        "repo map only": blend(REPO_MAP_ONLY),
        "history only": blend(history_only),
        "BM25 + history": blend(bm25_history),
        "rank_files without history": blend(no_history),
        "rank_files without passages": blend(no_passage),
        "rank_files (blend)": blend(weights),
    }
    for pair in pairs:
        tree, issue = Path(pair["tree"]), pair["issue"]
        file_signals(tree, issue, TAGS, half_life)  # fill the disk cache, outside the timings
        pair["ranked"], pair["seconds"] = {}, {}
        for name, method in methods.items():
            top, secs = _timed(lambda m=method, t=tree, i=issue: m(t, i))  # type: ignore[misc]
            pair["ranked"][name], pair["seconds"][name] = top, secs


def hits(pairs: list[dict[str, Any]], ranked: Callable[[dict[str, Any]], list[str]]) -> list[float]:
    """hit@k (percent) for k in ``KS``."""
    n = max(len(pairs), 1)
    return [100.0 * sum(bool(set(p["gold"]) & set(ranked(p)[:k])) for p in pairs) / n for k in KS]


def tune(pairs: list[dict[str, Any]]) -> tuple[RankWeights, float]:
    """Grid search of the blend weights and the history half-life (in releases) on ``pairs``
    (the dev split): best mean of hit@1/3/5. The lexical weight (1) is shared between
    whole-file BM25 and the best passage's."""
    grid = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
    history_grid = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
    passage_grid = (0.0, 0.25, 0.5, 0.75)
    results = []
    for half_life in (0.5, 1.0, 2.0, 5.0):
        signals = [file_signals(Path(p["tree"]), p["issue"], TAGS, half_life) for p in pairs]
        for ps, g, m, h in itertools.product(passage_grid, grid, grid, history_grid):
            w = RankWeights(lexical=1.0 - ps, graph=g, mentions=m, history=h, passage=ps)
            tops = {id(p): _top(s.blend(w)) for p, s in zip(pairs, signals, strict=True)}
            row = hits(pairs, lambda p, tops=tops: tops[id(p)])  # type: ignore[misc]
            results.append((statistics.mean(row), row, w, half_life))
    results.sort(key=lambda r: -r[0])  # stable: ties keep the grid order (smaller weights)
    print("\ndev-split grid (lexical + passage weight 1), best first:")
    for _mean, row, w, half_life in results[:10]:
        cells = " ".join(f"{h:5.1f}" for h in row)
        print(
            f"  passage={w.passage:<5} graph={w.graph:<5} mentions={w.mentions:<5} "
            f"history={w.history:<5} "
            f"half-life={half_life:<4} {cells}"
        )
    return results[0][2], results[0][3]


def table(pairs: list[dict[str, Any]], title: str) -> str:
    sizes = [p["n_files"] for p in pairs]
    pkgs = sorted({p["pkg"] for p in pairs})
    lines = [
        f"{title}: {len(pairs)} pairs, {len(pkgs)} packages ({', '.join(pkgs)}), "
        f"median {statistics.median(sizes) if sizes else 0:.0f} candidate files per repo "
        f"(range {min(sizes, default=0)}-{max(sizes, default=0)})",
        "",
        "| method | hit@1 | hit@3 | hit@5 | median s/query |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in pairs[0]["ranked"] if pairs else []:
        row = hits(pairs, lambda p, name=name: p["ranked"][name])  # type: ignore[misc]
        secs = statistics.median(p["seconds"][name] for p in pairs)
        lines.append(f"| {name} | " + " | ".join(f"{h:.1f}" for h in row) + f" | {secs:.3f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tune", action="store_true", help="grid-search the weights on dev pairs")
    ap.add_argument("--pairs-json", help="write the pairs, gold files and rankings here")
    args = ap.parse_args()
    t0 = time.monotonic()
    pairs = build_pairs()
    dev = [p for p in pairs if p["split"] == "dev"]
    held = [p for p in pairs if p["split"] != "dev"]
    weights, half_life = tune(dev) if args.tune else (RankWeights(), HALF_LIFE_RELEASES)
    print(f"\nweights: {weights}, history half-life: {half_life} releases")
    run(pairs, weights, half_life)
    print(f"\n{len(pairs)} release pairs, {time.monotonic() - t0:.0f}s\n")
    print(table(held, "held-out split (report these)") + "\n")
    print(table(dev, "dev split (weights tuned here)") + "\n")
    print(table(pairs, "all pairs"))
    if args.pairs_json:
        Path(args.pairs_json).write_text(json.dumps(pairs, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
