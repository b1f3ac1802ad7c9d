"""Citation verifier: every cited quote occurs in the text it was read from, and every
number in the answer traces to the evidence. What fails is dropped, and the report is
written again from what stands.

A quote is looked up in the source text the researcher kept (`SourceStore`, by the
evidence's content hash), or for a computed result in the execution's output. A sentence
of the answer stands only if it cites evidence that stands and each of its numbers occurs
in that evidence.
"""

from __future__ import annotations

import re
from typing import Any

from codehelm.agents.mindmap import MindMapData
from codehelm.agents.quotes import squeeze
from codehelm.agents.writer import Citation, compose
from codehelm.errors import CodehelmError
from codehelm.messages import Check, Evidence, Execution, Verdict
from codehelm.state import SolveState
from codehelm.tools.sources import SourceStore

# A sentence ends at . ! or ? (with any citation marks after it) before white space, so
# "asyncio.TaskGroup" and "3.11" stay whole.
_SENTENCE = re.compile(r"\S.*?(?:[.!?](?:\s*\[\d+\])*(?=\s|\Z)|\Z)", re.DOTALL)
_CITED = re.compile(r"\[(\d+)\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def numbers(text: str) -> set[str]:
    """The numbers in `text`, without the citation marks."""
    return {n.replace(",", "") for n in _NUMBER.findall(_CITED.sub("", text))}


def standing_sentences(summary: str, quotes: dict[int, str]) -> tuple[list[str], list[str]]:
    """The answer's sentences that cite standing evidence holding each of their numbers,
    and why the others were dropped."""
    kept: list[str] = []
    dropped: list[str] = []
    for match in _SENTENCE.finditer(summary):
        sentence = match.group().strip()
        if not sentence:
            continue
        cited = [int(n) for n in _CITED.findall(sentence)]
        backing = " ".join(quotes[n] for n in cited if n in quotes)
        if not backing:
            dropped.append(f"{sentence!r} cites no standing evidence")
            continue
        missing = numbers(sentence) - numbers(backing)
        if missing:
            dropped.append(f"{sentence!r}: {', '.join(sorted(missing))} not in its evidence")
            continue
        kept.append(sentence)
    return kept, dropped


class CitationVerifier:
    name = "citations"

    def __init__(self, sources: SourceStore) -> None:
        self.sources = sources

    async def __call__(self, state: SolveState) -> dict[str, Any]:
        citations: list[Citation] = getattr(state, "citations", [])
        if not citations:
            return {}
        evidence = {m.id: m for m in state.messages if isinstance(m, Evidence)}
        outputs = {m.id: m.stdout for m in state.messages if isinstance(m, Execution)}
        standing: list[Citation] = []
        failures: list[str] = []
        for citation in citations:
            problem = await self._problem(citation, evidence.get(citation.evidence_id), outputs)
            if problem:
                failures.append(f"[{citation.n}] {problem}")
            else:
                standing.append(citation)
        quotes = {c.n: c.quote for c in standing}
        kept, dropped = standing_sentences(getattr(state, "summary", ""), quotes)
        checks = [
            Check(
                name="quotes_in_sources",
                passed=bool(standing),
                detail="; ".join(failures) or f"{len(standing)} quotes found in their sources",
            ),
            Check(
                name="answer_traced",
                passed=bool(kept),
                detail=f"{len(kept)} sentences traced to their evidence"
                + (f"; dropped {'; '.join(dropped)}" if dropped else ""),
            ),
        ]
        # What failed is out of the report, so the report stands if its answer does.
        verdict = Verdict(
            target_id=state.task.id,
            outcome="pass" if standing and kept else "fail",
            checks=checks,
            reasons=failures + dropped,
            run_id=state.task.run_id,
            sender=self.name,
        )
        answer = " ".join(kept)
        if standing and not kept:  # nothing the model wrote stands: say what the sources say
            best = standing[0]
            answer = f"The most relevant evidence found: “{best.quote}” [{best.n}]"
        data: MindMapData = getattr(state, "mindmap", MindMapData())
        report = compose(state.task.prompt, answer, standing, data) if standing else None
        return {"report": report, "citations": standing, "verdict": verdict, "messages": [verdict]}

    async def _problem(
        self, citation: Citation, evidence: Evidence | None, outputs: dict[str, str]
    ) -> str:
        """Why `citation` does not stand ("" when it does)."""
        if evidence is None:
            return "cites evidence the run does not have"
        if evidence.kind == "computed":
            output = outputs.get(evidence.source.removeprefix("execution:"), "")
            return "" if citation.quote in output else "not in the execution's output"
        try:
            text = await self.sources.get(evidence.content_hash)
        except CodehelmError as exc:
            return str(exc)
        found = squeeze(citation.quote) in squeeze(text)  # verbatim up to white space
        return "" if found else f"the quote is not in {evidence.source}"
