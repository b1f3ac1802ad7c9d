"""Writer: the evidence and the mind map -> a Markdown report with numbered citations.

The report's body is built by code from the mind map's clusters: one section per cluster,
each an evidence quote with its number, so every quoted sentence is a verbatim quote.
The model writes only the short answer at the top, from the numbered evidence; the
citation verifier then checks what it wrote. With no evidence there is no report: the
run abstains and says so.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from codehelm.agents.mindmap import MindMap, MindMapData
from codehelm.agents.quotes import score, weights
from codehelm.messages import Evidence
from codehelm.models import ModelClient
from codehelm.prompts import render
from codehelm.state import SolveState

MAX_CITED = 12  # evidence numbered in a report


class Citation(BaseModel):
    """Report reference `[n]`: the quote, where it is from, and the evidence it is."""

    model_config = ConfigDict(frozen=True)

    n: int
    source: str
    quote: str
    evidence_id: str


def cited_evidence(evidence: list[Evidence], question: str) -> list[Evidence]:
    """The evidence worth citing: computed results first, then the quotes that best answer
    the question (ties in the order found: the search's best hits first); a quote found
    twice is cited once."""
    unique: dict[tuple[str, str], Evidence] = {}
    for piece in evidence:
        unique.setdefault((piece.source, piece.quote), piece)
    weighted = weights(question, [e.quote for e in unique.values()])
    ranked = sorted(
        unique.values(), key=lambda e: (e.kind != "computed", -score(e.quote, weighted))
    )
    return ranked[:MAX_CITED]


def compose(question: str, summary: str, citations: list[Citation], data: MindMapData) -> str:
    """The report: the question, the answer, a section per mind-map cluster, the sources."""
    by_id = {c.evidence_id: c for c in citations}
    placed: set[int] = set()
    sections: list[str] = []
    for cluster in MindMap.from_data(data).clusters():
        lines: list[str] = []
        for claim in cluster.claims:
            for node in claim.supported_by:
                cited = by_id.get(node.id)
                if cited is not None and cited.n not in placed:
                    placed.add(cited.n)
                    lines.append(f"- “{cited.quote}” [{cited.n}]")
        if lines:
            title = cluster.entities[0].text if cluster.entities else "Findings"
            sections.append(f"## {title}\n\n" + "\n".join(lines))
    rest = [f"- “{c.quote}” [{c.n}]" for c in citations if c.n not in placed]
    if rest:
        sections.append("## Other evidence\n\n" + "\n".join(rest))
    sources = "\n".join(f"{c.n}. {c.source}" for c in citations)
    parts = [f"# {question}", summary.strip(), *sections, f"## Sources\n\n{sources}"]
    return "\n\n".join(part for part in parts if part) + "\n"


def number(evidence: list[Evidence]) -> list[Citation]:
    return [
        Citation(n=i, source=e.source, quote=e.quote, evidence_id=e.id)
        for i, e in enumerate(evidence, 1)
    ]


_CITATION = re.compile(r"\[(\d+)\]")


class Writer:
    name = "writer"

    def __init__(self, model: ModelClient) -> None:
        self.model = model

    async def __call__(self, state: SolveState) -> dict[str, Any]:
        evidence = [m for m in state.messages if isinstance(m, Evidence)]
        question = state.task.prompt
        if not evidence:
            return {"report": None}
        citations = number(cited_evidence(evidence, question))
        listing = "\n".join(f"[{c.n}] {c.quote}" for c in citations)
        reply = await self.model.complete(
            render("research_summary", question=question, evidence=listing), agent=self.name
        )
        summary = reply.text.strip()
        data: MindMapData = getattr(state, "mindmap", MindMapData())
        report = compose(question, summary, citations, data)
        return {"report": report, "summary": summary, "citations": citations, "usage": reply.usage}
