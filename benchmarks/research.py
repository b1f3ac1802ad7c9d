"""Deep research on the real Python documentation, against a retrieval-only BM25 baseline.

Each question of ``benchmarks/research_questions.json`` (answerable from the Python 3.11
docs: which version added X, which module provides X) names the page(s) holding the answer
and a short answer string that occurs verbatim on them. The gold data is checked against
the pages before anything runs.

Systems:

- **baseline**: `CorpusSearch.search(question, k=5)`, no agents: recall@5 of a gold page, and
  whether the answer occurs in the top-5 snippets.
- **scripted**: `codehelm.runtime.research.research` with a `ScriptedModel` whose planner
  sends the question itself as the one query, whose mind-map replies are empty (the
  deterministic extraction builds the map) and whose writer says "See [1].": the retrieval,
  quoting and verification pipeline without a model.
- **local/smollm2**: the same with the embedded model (about 30-60 s a question on 2 cores).

Metrics per system: evidence recall (a gold page among the cited sources; a page counts in
either of its forms, the HTML or its reST source under ``_sources/``, and ``html`` recall
counts the HTML only), citation precision (share of citations whose quote occurs verbatim,
up to white space, in `extract_main_text` of its source file), answer found (the gold
answer, as a whole token, in the report's answer and quotes: not in its title or source
list), key quoted (a cited quote
names what the question is about), supported (one quote holds both that name and the
answer), abstentions, errors, mean tokens, median seconds per question, and the share of
citations (or hits) that are ``_sources/*.rst.txt`` duplicates.

One home folder (default ``$TMPDIR/codehelm-research-bench``) is shared by all runs, so the
corpus index is built once (about 2 minutes cold, timed separately, before any question).

    python benchmarks/research.py [--quick] [--models scripted,local/smollm2] [--n N]

``--quick`` runs 5 questions (spread over the list, both kinds); ``--n N`` runs N. The
per-question results go to a JSON file in the home folder (its path is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from codehelm.agents.quotes import squeeze
from codehelm.config import Settings
from codehelm.models import ModelClient, ScriptedModel, create_model
from codehelm.runtime.research import ResearchResult, research
from codehelm.tools.extract import extract_main_text
from codehelm.tools.search.corpus import CorpusSearch

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE / "research_questions.json"
CORPUS = Path("/usr/share/doc/python3.11/html")
HOME = Path(tempfile.gettempdir()) / "codehelm-research-bench"
BASELINE_K = 5
QUICK = 5
SCRIPTED = "scripted"
DUPLICATES = "_sources/"


@dataclass(frozen=True)
class Question:
    id: str
    kind: str
    question: str
    pages: tuple[str, ...]
    answer: str
    key: str


def load_questions(path: Path) -> list[Question]:
    data = json.loads(path.read_text())
    return [
        Question(q["id"], q["kind"], q["question"], tuple(q["pages"]), q["answer"], q["key"])
        for q in data["questions"]
    ]


def spread(questions: list[Question], n: int) -> list[Question]:
    """`n` questions evenly spaced over the list (so both kinds are in a small sample)."""
    n = max(1, min(n, len(questions)))
    return [questions[i * len(questions) // n] for i in range(n)]


@cache
def extracted(path: str) -> str:
    """The text the researcher reads from a corpus file (same call, same arguments)."""
    file = Path(path)
    return extract_main_text(file.read_bytes(), source=str(file))


def check_gold(questions: list[Question], corpus: Path) -> list[str]:
    """What is wrong with the gold data: a missing page, or an answer or key not on it."""
    problems = []
    for q in questions:
        for page in q.pages:
            file = corpus / page
            if not file.is_file():
                problems.append(f"{q.id}: {page} does not exist")
                continue
            text = extracted(str(file))
            if q.answer not in file.read_text(errors="replace") or not answer_in(text, q.answer):
                problems.append(f"{q.id}: the answer {q.answer!r} is not on {page}")
            if q.key not in text:
                problems.append(f"{q.id}: {q.key!r} is not in the extracted text of {page}")
    return problems


def page_of(source: str, corpus: Path) -> tuple[str, bool]:
    """The page a source is, relative to the corpus (a ``_sources/X.rst.txt`` file is page
    ``X.html``), and whether it was the reST duplicate."""
    try:
        relative = Path(source).resolve().relative_to(corpus.resolve()).as_posix()
    except ValueError:
        return source, False
    if relative.startswith(DUPLICATES) and relative.endswith(".rst.txt"):
        return relative[len(DUPLICATES) : -len(".rst.txt")] + ".html", True
    return relative, False


def answer_in(text: str, answer: str) -> bool:
    """`answer` in `text` as a whole token: "3.9" is not found in "3.9.1", "13.9" or "3.91"."""
    return re.search(rf"(?<![\w.]){re.escape(answer)}(?!\w|\.\d)", text) is not None


def supports(quote: str, q: Question) -> bool:
    """One quote holds both the answer and the name asked about (a strict lower bound: the
    docs often give the version on the line after the definition)."""
    return q.key in quote and answer_in(quote, q.answer)


def report_body(report: str) -> str:
    """The report without its title (the question) and its source list (file paths)."""
    lines = report.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join(lines).split("\n## Sources", 1)[0]


def scripted_model(question: str) -> ScriptedModel:
    return ScriptedModel(
        {
            "planner": [json.dumps({"queries": [question], "compute": ""})],
            "mindmap": [json.dumps({"entities": [], "claims": []})],
            "writer": ["See [1]."],
        }
    )


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


async def build_index(corpus: Path, cache_dir: Path) -> dict[str, Any]:
    """Open (building or updating) the corpus index once, then time warm re-opening, which
    every research run does (once for the run, once per researcher)."""
    started = time.perf_counter()
    async with CorpusSearch(corpus, cache_dir) as search:
        build_s = time.perf_counter() - started
        extracted_files = search.extracted
        files = len(search._index.files) if search._index else 0
    reopen = []
    for _ in range(3):
        started = time.perf_counter()
        async with CorpusSearch(corpus, cache_dir):
            reopen.append(time.perf_counter() - started)
    return {
        "build_s": build_s,
        "cold": extracted_files > 0,
        "extracted_files": extracted_files,
        "files": files,
        "reopen_median_s": statistics.median(reopen),
    }


async def run_baseline(questions: list[Question], corpus: Path, cache_dir: Path) -> list[dict]:
    rows = []
    async with CorpusSearch(corpus, cache_dir) as search:
        for q in questions:
            started = time.perf_counter()
            hits = await search.search(q.question, k=BASELINE_K)
            seconds = time.perf_counter() - started
            pages = [page_of(h.url, corpus) for h in hits]
            rows.append(
                {
                    "id": q.id,
                    "question": q.question,
                    "gold": list(q.pages),
                    "hits": [
                        {"rank": h.rank, "page": p, "duplicate": d, "score": h.score}
                        for h, (p, d) in zip(hits, pages, strict=True)
                    ],
                    "recall": any(p in q.pages for p, _ in pages),
                    "recall_html": any(p in q.pages and not d for p, d in pages),
                    "answer_found": any(answer_in(h.snippet, q.answer) for h in hits),
                    "key_quoted": any(q.key in h.snippet for h in hits),
                    "supported": any(supports(h.snippet, q) for h in hits),
                    "duplicates": sum(d for _, d in pages),
                    "items": len(hits),
                    "seconds": seconds,
                }
            )
    return rows


async def run_question(
    q: Question, model_name: str, settings: Settings, corpus: Path, model: ModelClient | None
) -> dict[str, Any]:
    row: dict[str, Any] = {"id": q.id, "question": q.question, "gold": list(q.pages)}
    model = scripted_model(q.question) if model_name == SCRIPTED else model
    started = time.perf_counter()
    try:
        result: ResearchResult = await research(q.question, settings=settings, model=model)
    except Exception as exc:  # a crash is a result to report, not the end of the benchmark
        row.update(error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - started)
        return row
    seconds = time.perf_counter() - started
    citations = []
    for c in result.citations:
        page, duplicate = page_of(c.source, corpus)
        source = Path(c.source)
        text = extracted(str(source)) if source.is_file() else None
        verbatim = squeeze(c.quote) in squeeze(text) if text is not None else None
        citations.append(
            {
                "n": c.n,
                "page": page,
                "duplicate": duplicate,
                "quote": c.quote,
                "verbatim": verbatim,
            }
        )
    body = report_body(result.answer or "")
    row.update(
        run_id=result.run_id,
        status=result.status,
        stop_reason=result.stop_reason,
        abstained=result.abstained,
        answer=result.answer,
        citations=citations,
        recall=any(c["page"] in q.pages for c in citations),
        recall_html=any(c["page"] in q.pages and not c["duplicate"] for c in citations),
        answer_found=answer_in(body, q.answer),
        key_quoted=any(q.key in c["quote"] for c in citations),
        supported=any(supports(c["quote"], q) for c in citations),
        duplicates=sum(c["duplicate"] for c in citations),
        items=len(citations),
        tokens=result.usage.total_tokens,
        calls=result.usage.calls,
        steps=result.steps,
        seconds=seconds,
        run_wall_s=result.wall_s,
    )
    return row


async def run_model(
    model_name: str, questions: list[Question], home: Path, corpus: Path
) -> tuple[list[dict], float | None]:
    """Every question through `model_name`; the seconds a real model took to load."""
    settings = Settings(
        home=home,
        corpus=corpus,
        search="corpus",
        model=model_name,
        temperature=None if model_name == SCRIPTED else 0.0,
        seed=None if model_name == SCRIPTED else 0,
    )
    model: ModelClient | None = None
    load_s = None
    if model_name != SCRIPTED:
        model = create_model(settings)
        started = time.perf_counter()  # load the weights before any question is timed
        await model.complete([{"role": "user", "content": "Say OK."}], agent="warmup")
        load_s = time.perf_counter() - started
    rows = []
    for i, q in enumerate(questions, 1):
        row = await run_question(q, model_name, settings, corpus, model)
        rows.append(row)
        mark = "error" if "error" in row else ("hit" if row["recall"] else "miss")
        print(f"  [{model_name} {i}/{len(questions)}] {q.id}: {mark} {row['seconds']:.1f}s")
    return rows, load_s


def summarise(rows: list[dict]) -> dict[str, Any]:
    ok = [r for r in rows if "error" not in r]
    citations = [c for r in ok for c in r.get("citations", [])]
    checked = [c for c in citations if c["verbatim"] is not None]
    items = sum(r["items"] for r in ok)

    def share(field: str) -> float | None:
        return mean([float(r[field]) for r in ok])

    return {
        "n": len(rows),
        "errors": len(rows) - len(ok),
        "recall": share("recall"),
        "recall_html": share("recall_html"),
        "precision": mean([float(c["verbatim"]) for c in checked]) if checked else None,
        "answer_found": share("answer_found"),
        "key_quoted": share("key_quoted"),
        "supported": share("supported"),
        "abstentions": sum(bool(r.get("abstained")) for r in ok),
        "mean_tokens": mean([float(r["tokens"]) for r in ok if "tokens" in r]),
        "median_s": median([r["seconds"] for r in rows]),
        "duplicate_share": sum(r["duplicates"] for r in ok) / items if items else None,
        "mean_items": items / len(ok) if ok else None,
    }


def fmt(value: float | None, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "%":
        return f"{100 * value:.0f}%"
    if kind == "x":
        return f"{value:.2f}x"
    if kind == "s":
        return f"{value:.3f}" if value < 1 else f"{value:.2f}"
    if kind == "d":
        return f"{value:.0f}"
    return f"{value:.1f}"


HEADERS = [
    "system",
    "n",
    "recall",
    "html",
    "vs base",
    "precision",
    "answer",
    "key quoted",
    "supported",
    "abstain",
    "errors",
    "tokens",
    "median s",
    "time vs base",
    "_sources",
    "items",
]


def table(summaries: dict[str, dict[str, Any]]) -> str:
    base = summaries["baseline"]
    lines = []
    for name, s in summaries.items():
        recall_ratio = (
            s["recall"] / base["recall"] if name != "baseline" and base["recall"] else None
        )
        time_ratio = (
            s["median_s"] / base["median_s"] if name != "baseline" and base["median_s"] else None
        )
        values = [
            name,
            str(s["n"]),
            fmt(s["recall"], "%"),
            fmt(s["recall_html"], "%"),
            fmt(recall_ratio, "x"),
            fmt(s["precision"], "%"),
            fmt(s["answer_found"], "%"),
            fmt(s["key_quoted"], "%"),
            fmt(s["supported"], "%"),
            fmt(s["abstentions"], "d"),
            fmt(s["errors"], "d"),
            fmt(s["mean_tokens"], "d"),
            fmt(s["median_s"], "s"),
            fmt(time_ratio, "x"),
            fmt(s["duplicate_share"], "%"),
            fmt(s["mean_items"], "f"),
        ]
        lines.append(values)
    headers = HEADERS
    widths = [max(len(h), *(len(v[i]) for v in lines)) for i, h in enumerate(headers)]
    out = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
    ]
    out.append("  ".join("-" * w for w in widths))
    for values in lines:
        out.append(
            "  ".join(
                v.ljust(w) if i == 0 else v.rjust(w)
                for i, (v, w) in enumerate(zip(values, widths, strict=True))
            )
        )
    return "\n".join(out)


LEGEND = """\
recall: a gold page among the cited sources (baseline: among the top-5 hits), in either form
  (HTML or _sources/*.rst.txt); html: as the HTML page; vs base: recall / baseline recall
precision: citations whose quote occurs verbatim (up to white space) in extract_main_text of
  its source file
answer: the gold answer string in the report's answer and quotes (baseline: top-5 snippets)
key quoted: a cited quote (baseline: a snippet) names what the question is about
supported: one cited quote (baseline: one snippet) holds both that name and the answer
tokens: mean per question (the scripted model counts words); median s: wall time per question
  (research: the whole research() call; baseline: one search on an open index)
_sources: share of citations (baseline: hits) that are reST duplicates of an HTML page
items: citations per report (baseline: hits per question)"""


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models", default=SCRIPTED, help="comma-separated: scripted,local/smollm2"
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK} questions")
    parser.add_argument("--n", type=int, default=None, help="number of questions")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--home", type=Path, default=HOME, help="shared home and index cache")
    parser.add_argument("--out", type=Path, default=None, help="per-question JSON results")
    args = parser.parse_args()

    corpus: Path = args.corpus
    if not corpus.is_dir():
        raise SystemExit(f"{corpus} is not a folder: install python3.11-doc or pass --corpus")
    questions = load_questions(args.questions)
    problems = check_gold(questions, corpus)
    if problems:
        raise SystemExit("the gold data does not match the pages:\n  " + "\n  ".join(problems))
    n = args.n if args.n is not None else (QUICK if args.quick else len(questions))
    questions = spread(questions, n)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    home: Path = args.home
    home.mkdir(parents=True, exist_ok=True)
    settings = Settings(home=home, corpus=corpus)

    print(f"corpus {corpus}, {len(questions)} questions, models {', '.join(models)}, home {home}")
    index = await build_index(corpus, settings.cache_dir)
    state = "built cold" if index["cold"] else "opened (already built)"
    print(
        f"index: {state} in {index['build_s']:.1f}s ({index['files']} files,"
        f" {index['extracted_files']} extracted); warm re-open {index['reopen_median_s']:.2f}s"
    )

    results: dict[str, Any] = {"index": index, "questions": [q.__dict__ for q in questions]}
    baseline = await run_baseline(questions, corpus, settings.cache_dir)
    results["baseline"] = baseline
    summaries = {"baseline": summarise(baseline) | {"abstentions": None}}
    load_times: dict[str, float | None] = {}
    for model_name in models:
        rows, load_times[model_name] = await run_model(model_name, questions, home, corpus)
        results[model_name] = rows
        summaries[model_name] = summarise(rows)
    results["summary"] = summaries
    results["model_load_s"] = load_times

    print()
    print(table(summaries))
    print()
    print(LEGEND)
    for name, seconds in load_times.items():
        if seconds is not None:
            print(f"{name}: model loaded in {seconds:.1f}s before the first question (not timed)")
    out = (
        args.out or home / f"research-results-{'+'.join(m.replace('/', '_') for m in models)}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    print(f"per-question results: {out}")


if __name__ == "__main__":
    asyncio.run(main())
