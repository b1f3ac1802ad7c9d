"""File-level localisation: ``rank_files`` (repo map PageRank) against BM25 over files.

Real bug fixes from consecutive patch releases of pure-Python packages on PyPI:

* both sdists are downloaded with ``pip download --no-deps --no-binary :all:`` into
  ``~/.cache/codehelm-bench/sdists`` (reused on later runs) and unpacked next to them;
* the issue text is the newer release's changelog entry (the lines of CHANGES/CHANGELOG/HISTORY
  from the newer version's heading up to the older version's heading, at most 4000 characters);
* the gold files are the ``.py`` files of the older release whose content changed in the newer
  one, minus tests, docs, examples, ``setup.py``/``conftest.py`` and files whose only changed
  lines mention a version (version bumps); pairs with no gold file or no changelog entry are
  skipped;
* both rankers see the older release's tree (the code before the fix), with every ``.py``
  file under the package's ``src``/package directories (tests excluded from both).

A pair scores a hit@k when any gold file is among the first k. Run:
``.venv/bin/python benchmarks/localization.py [--pairs-json out.json]``.
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import json
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

from codehelm.tools.repo.map import rank_files, source_files

CACHE = Path.home() / ".cache" / "codehelm-bench"

# package -> consecutive releases (each adjacent pair is one benchmark item)
RELEASES: dict[str, list[str]] = {
    "click": ["8.1.0", "8.1.1", "8.1.2", "8.1.3", "8.1.4", "8.1.5", "8.1.6", "8.1.7", "8.1.8"],
    "flask": ["2.2.0", "2.2.1", "2.2.2", "2.2.3", "2.2.4", "2.2.5"],
    "flask ": ["2.3.0", "2.3.1", "2.3.2", "2.3.3"],
    "flask  ": ["3.0.0", "3.0.1", "3.0.2", "3.0.3"],
    "werkzeug": ["2.3.0", "2.3.1", "2.3.2", "2.3.3", "2.3.4", "2.3.5", "2.3.6", "2.3.7"],
    "werkzeug ": ["3.0.0", "3.0.1", "3.0.2", "3.0.3", "3.0.4", "3.0.5", "3.0.6"],
    "jinja2": ["3.1.0", "3.1.1", "3.1.2", "3.1.3", "3.1.4", "3.1.5"],
    "itsdangerous": ["2.1.0", "2.1.1", "2.1.2"],
    "urllib3": ["2.0.0", "2.0.1", "2.0.2", "2.0.3", "2.0.4", "2.0.5", "2.0.6", "2.0.7"],
    "urllib3 ": ["2.2.0", "2.2.1", "2.2.2", "2.2.3"],
    "requests": ["2.32.0", "2.32.1", "2.32.2", "2.32.3"],
    "requests ": ["2.28.0", "2.28.1", "2.28.2"],
}

CHANGELOG_NAMES = re.compile(r"^(changes|changelog|history|news)(\.(rst|md|txt))?$", re.I)
SKIP_PARTS = {"tests", "test", "docs", "doc", "examples", "example", "testing", "bench"}


def download(pkg: str, version: str) -> Path | None:
    """Unpacked sdist of ``pkg==version`` (cached), or None when it cannot be had."""
    dest = CACHE / "src" / f"{pkg}-{version}"
    if dest.is_dir():
        inner = [p for p in dest.iterdir() if p.is_dir()]
        return inner[0] if len(inner) == 1 else dest
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
    archive = found[0]
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            z.extractall(tmp)
    else:
        with tarfile.open(archive) as t:
            t.extractall(tmp, filter="data")
    tmp.rename(dest)
    inner = [p for p in dest.iterdir() if p.is_dir()]
    return inner[0] if len(inner) == 1 else dest


def changelog_entry(root: Path, new: str, old: str) -> str:
    """The newer release's changelog section (heading line of ``new`` up to ``old``'s)."""
    for f in sorted(root.iterdir()):
        if not (f.is_file() and CHANGELOG_NAMES.match(f.name)):
            continue
        lines = f.read_text(encoding="utf-8", errors="replace").splitlines()
        ver_re = lambda v: re.compile(rf"(^|[^\d.]){re.escape(v)}($|[^\d])")  # noqa: E731
        new_re, old_re = ver_re(new), ver_re(old)
        start = next((i for i, line in enumerate(lines) if new_re.search(line)), None)
        if start is None:
            continue
        end = next((i for i in range(start + 1, len(lines)) if old_re.search(lines[i])), len(lines))
        body = [
            line
            for line in lines[start + 1 : end]
            if line.strip() and not re.fullmatch(r"[-=~^*#\s]+", line)
        ]
        body = [line for line in body if not re.match(r"\s*(Released|Unreleased)\b", line)]
        text = "\n".join(body).strip()
        return text[:4000]
    return ""


def _kept(rel: str) -> bool:
    parts = rel.split("/")
    if any(p in SKIP_PARTS for p in parts[:-1]):
        return False
    name = parts[-1]
    return not (name in ("setup.py", "conftest.py", "noxfile.py") or name.startswith("test_"))


def python_files(root: Path) -> dict[str, str]:
    out = {}
    for rel in source_files(root):
        if rel.endswith(".py") and _kept(rel):
            out[rel] = (root / rel).read_text(encoding="utf-8", errors="replace")
    return out


def gold_files(old: dict[str, str], new: dict[str, str]) -> list[str]:
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


def prepare_tree(old_root: Path, files: dict[str, str]) -> Path:
    """A copy of the old release with only the ranked .py files (same tree for both rankers)."""
    tree = old_root.parent.parent / (old_root.parent.name + ".tree")
    if not tree.is_dir():
        tmp = tree.with_name(tree.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        for rel, text in files.items():
            p = tmp / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
        tmp.rename(tree)
    return tree


_TOKEN = re.compile(r"[A-Za-z0-9]+")


def _tokens(text: str) -> list[str]:
    """Words, with snake_case and camelCase split and the whole identifiers kept."""
    out = []
    for ident in re.findall(r"[A-Za-z_][A-Za-z0-9_]*|\d+", text):
        low = ident.lower()
        out.append(low)
        parts = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", ident)
        if len(parts) > 1:
            out.extend(p.lower() for p in parts)
    return out


def bm25_rank(files: dict[str, str], issue: str, k: int) -> list[str]:
    import bm25s

    names = sorted(files)
    corpus = [_tokens(n + "\n" + files[n]) for n in names]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenization.Tokenized(*_vocab_ids(corpus)), show_progress=False)
    query = _tokens(issue)
    vocab = _VOCAB
    qids = [vocab[t] for t in query if t in vocab]
    if not qids:
        return names[:k]
    scores = retriever.get_scores(qids)
    order = sorted(range(len(names)), key=lambda i: (-float(scores[i]), names[i]))
    return [names[i] for i in order[:k]]


_VOCAB: dict[str, int] = {}


def _vocab_ids(corpus: list[list[str]]) -> tuple[list[list[int]], dict[str, int]]:
    _VOCAB.clear()
    ids = []
    for doc in corpus:
        row = []
        for t in doc:
            row.append(_VOCAB.setdefault(t, len(_VOCAB)))
        ids.append(row)
    return ids, dict(_VOCAB)


def build_pairs() -> list[dict[str, object]]:
    pairs = []
    for key, versions in RELEASES.items():
        pkg = key.strip()
        for old_v, new_v in itertools.pairwise(versions):
            old_root, new_root = download(pkg, old_v), download(pkg, new_v)
            if old_root is None or new_root is None:
                print(f"skip {pkg} {old_v}->{new_v}: download failed", file=sys.stderr)
                continue
            issue = changelog_entry(new_root, new_v, old_v)
            old_files, new_files = python_files(old_root), python_files(new_root)
            gold = gold_files(old_files, new_files)
            if not issue or not gold:
                why = "no changelog entry" if not issue else "no gold file"
                print(f"skip {pkg} {old_v}->{new_v}: {why}", file=sys.stderr)
                continue
            tree = prepare_tree(old_root, old_files)
            pairs.append(
                {
                    "pkg": pkg,
                    "old": old_v,
                    "new": new_v,
                    "tree": str(tree),
                    "issue": issue,
                    "gold": gold,
                    "n_files": len(old_files),
                }
            )
    return pairs


def evaluate(pairs: list[dict[str, object]]) -> dict[str, dict[int, float]]:
    ks = (1, 3, 5)
    hits: dict[str, dict[int, int]] = {
        "repo map": dict.fromkeys(ks, 0),
        "BM25": dict.fromkeys(ks, 0),
    }
    for pair in pairs:
        tree = Path(str(pair["tree"]))
        files = {rel: (tree / rel).read_text(encoding="utf-8") for rel in source_files(tree)}
        issue, gold = str(pair["issue"]), set(pair["gold"])  # type: ignore[call-overload]
        ranked = {
            "repo map": rank_files(tree, issue, k=5, cache_dir=CACHE / "tags"),
            "BM25": bm25_rank(files, issue, 5),
        }
        pair["ranked"] = ranked
        for name, top in ranked.items():
            for k in ks:
                hits[name][k] += bool(gold & set(top[:k]))
    n = max(len(pairs), 1)
    return {name: {k: 100.0 * v / n for k, v in h.items()} for name, h in hits.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs-json", help="write the pairs, gold files and rankings here")
    args = ap.parse_args()
    t0 = time.monotonic()
    pairs = build_pairs()
    result = evaluate(pairs)
    print(f"\n{len(pairs)} release pairs, {time.monotonic() - t0:.0f}s\n")
    print(f"{'method':<10} {'hit@1':>7} {'hit@3':>7} {'hit@5':>7}")
    for name, row in result.items():
        print(f"{name:<10} " + " ".join(f"{row[k]:>7.1f}" for k in (1, 3, 5)))
    diff = {k: result["repo map"][k] - result["BM25"][k] for k in (1, 3, 5)}
    print(f"{'diff':<10} " + " ".join(f"{diff[k]:>+7.1f}" for k in (1, 3, 5)))
    if args.pairs_json:
        Path(args.pairs_json).write_text(json.dumps(pairs, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
