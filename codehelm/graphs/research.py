"""The research graph: a question -> a cited Markdown report, or an honest abstention.

    scope ─► researcher ×N (Send) ─► map ─┬─► followup ─► researcher ×N ...  (gaps, bounded)
                                          ├─► coder ─► executor ─► computed ─┐
                                          └──────────────────────────────────┴─► writer
    writer ─► citations ─► finish

`scope` turns the question into search queries (and says what must be computed, if
anything); each query goes to a researcher of its own, at most `concurrency` at a time;
`map` puts the new evidence into the mind map; a query that found nothing is asked again
in other words (`max_rounds`); numbers to compute go through the solve graph's coder and
executor and come back as computed evidence; the writer drafts the report from the mind
map; the citation verifier keeps what its sources bear out. No evidence: no report.
Every route is guarded by the budget, so a run out of budget ends with what it has.
"""

from __future__ import annotations

import asyncio
import operator
import re
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from langgraph.graph import END, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Send
from pydantic import BaseModel, Field

from codehelm.agents.citations import CitationVerifier
from codehelm.agents.coder import Coder
from codehelm.agents.executor import Executor
from codehelm.agents.mindmap import MindMap, MindMapData, ingest
from codehelm.agents.researcher import Researcher
from codehelm.agents.writer import Citation, Writer, cited_evidence, compose, number
from codehelm.config import Settings
from codehelm.errors import ModelOutputError
from codehelm.graphs.budget import budget_exceeded
from codehelm.graphs.compose import FINISH, add_start, agent_node, served_schemas
from codehelm.messages import Answer, Budget, Evidence, Plan, PlanStep, Usage
from codehelm.models import ModelClient
from codehelm.prompts import render
from codehelm.state import SolveState
from codehelm.tools.sandbox.base import Sandbox
from codehelm.tools.search.base import SearchProvider
from codehelm.tools.search.registry import create_search_provider
from codehelm.tools.sources import SourceStore
from codehelm.tools.web import WebFetcher


class ResearchState(SolveState):
    """The solve state plus what research adds (`answer` holds the final report)."""

    question: str = ""  # the query a researcher was sent with
    queries: list[str] = Field(default_factory=list)  # every query asked, in order
    found: Annotated[dict[str, int], operator.or_] = Field(default_factory=dict)
    rounds: int = 0
    compute: str = ""  # what must be computed from the evidence ("" for nothing)
    mindmap: MindMapData = Field(default_factory=MindMapData)
    summary: str = ""
    report: str | None = None
    citations: list[Citation] = Field(default_factory=list)


ResearchGraph = StateGraph[ResearchState, None, ResearchState, ResearchState]


_NUMERIC = re.compile(
    r"\d|\bhow (many|much|long|old|far|often)\b|\b(sum|total|average|mean|difference"
    r"|percent(age)?|ratio|between|compute|calculate)\b",
    re.IGNORECASE,
)


def asks_for_numbers(question: str) -> bool:
    """Whether computing could be part of the answer: a small model asked to scope "which
    module provides X" still copies its example's computation, so the question decides."""
    return _NUMERIC.search(question) is not None


class Scope(BaseModel):
    queries: list[str] = Field(min_length=1, max_length=3)
    compute: str = ""


class Query(BaseModel):
    query: str = Field(min_length=1)


def scope_node(model: ModelClient) -> Callable[[ResearchState], Any]:
    async def scope(state: ResearchState) -> dict[str, Any]:
        question = state.task.prompt
        try:
            reply = await model.structured(
                render("research_scope", question=question), Scope, agent="planner"
            )
        except ModelOutputError as exc:  # the question itself is a query
            return {"queries": [question], "rounds": 1, "usage": exc.usage}
        queries = list(dict.fromkeys([question, *(q.strip() for q in reply.value.queries)]))
        compute = reply.value.compute.strip() if asks_for_numbers(question) else ""
        return {
            "queries": [q for q in queries if q],
            "compute": compute,
            "rounds": 1,
            "usage": reply.usage,
        }

    return scope


def followup_node(model: ModelClient) -> Callable[[ResearchState], Any]:
    """New words for the queries that found nothing."""

    async def followup(state: ResearchState) -> dict[str, Any]:
        fresh: list[str] = []
        usage = Usage()
        for query in _unanswered(state):
            try:
                reply = await model.structured(
                    render("research_query", question=state.task.prompt, query=query),
                    Query,
                    agent="planner",
                )
            except ModelOutputError as exc:
                usage = usage + exc.usage
                continue
            usage = usage + reply.usage
            if reply.value.query.strip() not in state.queries:
                fresh.append(reply.value.query.strip())
        return {"queries": [*state.queries, *fresh], "rounds": state.rounds + 1, "usage": usage}

    return followup


def map_node(
    model: ModelClient, sources: SourceStore, *, with_model: int
) -> Callable[[ResearchState], Any]:
    """Put the evidence not yet in the mind map into it; the first `with_model` pieces
    through the model, the rest through the deterministic extraction (a small model
    is slow, and the map is for structure, not for the facts, which stay quotes)."""

    async def map_evidence(state: ResearchState) -> dict[str, Any]:
        mind_map = MindMap.from_data(state.mindmap)
        known = {node.id for node in mind_map.nodes("evidence")}
        new = [m for m in state.messages if isinstance(m, Evidence) and m.id not in known]
        usage = Usage()
        for i, evidence in enumerate(new):
            text = await sources.get(evidence.content_hash) if evidence.kind == "quote" else None
            done = await ingest(
                mind_map,
                evidence,
                model if i < with_model else None,
                agent="mindmap",
                source_text=text,
            )
            usage = usage + done.usage
        return {"mindmap": mind_map.data(), "usage": usage}

    return map_evidence


async def computed(state: ResearchState) -> dict[str, Any]:
    """The computation's output as evidence, marked computed, with its program."""
    execution, action = state.execution, state.action
    if execution is None or action is None or not execution.ok or not execution.stdout.strip():
        return {}
    evidence = Evidence(
        source=f"execution:{execution.id}",
        quote=execution.stdout.strip().splitlines()[-1],
        kind="computed",
        program=action.code,
        run_id=state.task.run_id,
        sender="executor",
    )
    return {"messages": [evidence]}


async def plan_computation(state: ResearchState) -> dict[str, Any]:
    """A one-step code plan for the coder: what to compute, and the evidence to use."""
    quotes = "; ".join(e.quote for e in cited_evidence(_evidence(state), state.compute)[:6])
    goal = f"{state.compute}. Use these facts: {quotes}"
    return {
        "plan": Plan(steps=[PlanStep(id="compute", goal=goal[:1500], mode="code")]),
        "step_index": 0,
    }


async def finish(state: ResearchState) -> dict[str, Any]:
    """The report as the answer; without one, why not (no evidence, or the budget)."""
    reason = budget_exceeded(state.task.budget, state)
    report, citations = state.report, state.citations
    if report is None and reason and _evidence(state):  # out of budget: what it has
        citations = number(cited_evidence(_evidence(state), state.task.prompt))
        report = compose(state.task.prompt, "", citations, state.mindmap)
    if report is None:
        why = reason or f"abstained: no usable evidence found for {state.task.prompt!r}"
        return {"answer": None, "stop_reason": why}
    verified = state.verdict is not None and state.verdict.outcome == "pass"
    answer = Answer(
        content=report,
        mode="text",
        evidence_ids=[c.evidence_id for c in citations],
        usage=state.usage,
        run_id=state.task.run_id,
        sender="writer",
    )
    why = reason or ("verified" if verified else "unverified")
    return {"answer": answer, "citations": citations, "stop_reason": why}


def _evidence(state: ResearchState) -> list[Evidence]:
    return [m for m in state.messages if isinstance(m, Evidence)]


def _unanswered(state: ResearchState) -> list[str]:
    return [q for q in state.queries if state.found.get(q) == 0]


def _to_research(queries: list[str], state: ResearchState) -> list[Send]:
    return [Send("researcher", state.model_copy(update={"question": q})) for q in queries]


def create_research_graph(
    model: ModelClient,
    sandbox: Sandbox,
    *,
    search: Callable[[], SearchProvider],
    sources: SourceStore,
    fetcher: Callable[[], WebFetcher],
    max_rounds: int = 2,
    concurrency: int = 3,
    hits: int = 4,
    model_ingests: int = 4,
    exec_timeout: float = 10.0,
    budget: Budget | None = None,
    served: bool = False,
) -> ResearchGraph:
    """The research graph, not yet compiled. `search` and `fetcher` make a search provider
    and a web fetcher for each researcher (both are closed after use); `sources` keeps the
    texts quoted from, for the citation verifier. `budget` and `served` are as for
    `create_solve_graph`."""

    @asynccontextmanager
    async def open_search() -> AsyncIterator[SearchProvider]:
        async with await asyncio.to_thread(search) as provider:  # a corpus checks its folder
            yield provider

    @asynccontextmanager
    async def open_fetcher() -> AsyncIterator[WebFetcher]:
        async with fetcher() as opened:
            yield opened

    graph: ResearchGraph = StateGraph(ResearchState, **served_schemas(served))
    nodes: dict[str, Any] = {
        "scope": scope_node(model),
        "researcher": Researcher(
            open_search, open_fetcher, sources, hits=hits, concurrency=concurrency
        ),
        "map": map_node(model, sources, with_model=model_ingests),
        "followup": followup_node(model),
        "plan_computation": plan_computation,
        "coder": Coder(model),
        "executor": Executor(sandbox, timeout=exec_timeout),
        "computed": computed,
        "writer": Writer(model),
        "citations": CitationVerifier(sources),
    }
    for name, node in nodes.items():
        graph.add_node(name, agent_node(name, node))
    graph.add_node(FINISH, finish)

    def guarded(route: Callable[[ResearchState], Any]) -> Callable[[ResearchState], Any]:
        def choose(state: ResearchState) -> Any:
            return FINISH if budget_exceeded(state.task.budget, state) else route(state)

        choose.__name__ = getattr(route, "__name__", "route")
        return choose

    def after_scope(state: ResearchState) -> list[Send]:
        return _to_research(state.queries, state)

    def after_map(state: ResearchState) -> Hashable | list[Send]:
        if _unanswered(state) and state.rounds < max_rounds:
            return "followup"
        if state.compute and _evidence(state) and state.execution is None:
            return "plan_computation"
        return "writer"

    def after_followup(state: ResearchState) -> Any:
        asked = set(state.found)
        fresh = [q for q in state.queries if q not in asked]
        return _to_research(fresh, state) if fresh else "writer"

    add_start(graph, ResearchState, "scope", budget=budget, served=served)
    graph.add_conditional_edges("scope", guarded(after_scope), ["researcher", FINISH])
    graph.add_edge("researcher", "map")
    graph.add_conditional_edges(
        "map", guarded(after_map), ["followup", "plan_computation", "writer", FINISH]
    )
    graph.add_conditional_edges(
        "followup", guarded(after_followup), ["researcher", "writer", FINISH]
    )
    graph.add_edge("plan_computation", "coder")
    graph.add_conditional_edges("coder", guarded(lambda s: "executor"), ["executor", FINISH])
    graph.add_edge("executor", "computed")
    graph.add_conditional_edges("computed", guarded(lambda s: "writer"), ["writer", FINISH])
    graph.add_conditional_edges("writer", guarded(lambda s: "citations"), ["citations", FINISH])
    graph.add_edge("citations", FINISH)
    graph.add_edge(FINISH, END)
    return graph


def build_research_graph(
    model: ModelClient, sandbox: Sandbox, **options: Any
) -> CompiledStateGraph[ResearchState, None, ResearchState, ResearchState]:
    return create_research_graph(model, sandbox, **options).compile()


def research_graph(
    model: ModelClient, sandbox: Sandbox, settings: Settings, **options: Any
) -> ResearchGraph:
    """The research graph configured by `settings` (a `GraphFactory` for the runner), with
    `options` of `create_research_graph`."""
    return create_research_graph(
        model,
        sandbox,
        search=lambda: create_search_provider(settings),
        sources=SourceStore(settings.cache_dir / "sources"),
        fetcher=lambda: WebFetcher(
            cache_dir=settings.cache_dir / "web", allow_hosts=settings.allow_hosts
        ),
        exec_timeout=settings.exec_timeout,
        **options,
    )
