"""A run's graph as LangGraph's own Mermaid export, with the path the run took highlighted.

The path comes from the trace: the agents whose events it holds, in order. Nodes that
record nothing (`advance`, `finish`) are filled in along the graph's own edges.
"""

from __future__ import annotations

import importlib
import re
from collections import deque
from functools import lru_cache
from itertools import pairwise
from typing import Any, cast

from codehelm.config import Settings
from codehelm.runtime.runner import GraphFactory, solve_graph
from codehelm.runtime.trace import RunRecord, TraceEvent

START, END = "__start__", "__end__"
_EDGE = re.compile(r"^\s*(\S+) (?:-->|-\.->|-\. .*? \.->) (\S+);$")


def mermaid(record: RunRecord, events: list[TraceEvent]) -> str | None:
    """The run's graph in Mermaid, its path highlighted (None: the graph cannot be built)."""
    text = _export(record.kind, _shape(record.settings))
    if text is None:
        return None
    lines = text.rstrip().splitlines()
    edges = [
        (i, match.group(1), match.group(2))
        for i, match in enumerate(m for m in map(_EDGE.match, lines) if m)
    ]
    nodes = {a for _, a, _ in edges} | {b for _, _, b in edges}
    agents = [e.agent for e in events if e.agent in nodes]
    visited = _path(
        [START, *agents, *([END] if record.status in ("done", "stopped") else [])], edges
    )
    taken = [str(i) for i, a, b in edges if (a, b) in visited]
    names = sorted({n for pair in visited for n in pair} | set(agents))
    if names:
        lines.append("\tclassDef taken fill:#c9f2d0,stroke:#1f7a35,stroke-width:2px")
        lines.append(f"\tclass {','.join(names)} taken")
    if taken:
        lines.append(f"\tlinkStyle {','.join(taken)} stroke:#1f7a35,stroke-width:3px")
    return "\n".join(lines)


def _path(stops: list[str], edges: list[tuple[int, str, str]]) -> set[tuple[str, str]]:
    """The edges walked between consecutive stops, by the shortest way through nodes that
    record nothing in the trace."""
    silent = {"advance", "finish", END}
    after: dict[str, list[str]] = {}
    for _, a, b in edges:
        after.setdefault(a, []).append(b)
    walked: set[tuple[str, str]] = set()
    for here, there in pairwise(stops):
        if here == there:
            continue
        came: dict[str, str] = {}
        queue = deque([here])
        while queue and there not in came:
            node = queue.popleft()
            for nxt in after.get(node, []):
                if nxt not in came and (nxt == there or nxt in silent):
                    came[nxt] = node
                    queue.append(nxt)
        node = there
        while node in came and node != here:
            walked.add((came[node], node))
            node = came[node]
    return walked


def _shape(settings: dict[str, Any]) -> tuple[bool, int]:
    """The settings that change the solve graph's nodes: approvals and candidates."""
    return bool(settings.get("approve")), int(settings.get("candidates") or 1)


@lru_cache(maxsize=32)
def _export(kind: str, shape: tuple[bool, int]) -> str | None:
    approve, candidates = shape
    factory = _factory(kind)
    if factory is None:
        return None
    settings = Settings(approve=approve, candidates=candidates)
    try:  # the nodes only keep the model and sandbox: drawing needs neither
        graph = factory(cast(Any, None), cast(Any, None), settings).compile()
        return cast(str, graph.get_graph().draw_mermaid())
    except Exception:
        return None


def _factory(kind: str) -> GraphFactory | None:
    """The graph factory a run recorded: "solve", or `graph:MODULE:NAME`."""
    if kind == "solve":
        return solve_graph
    module, _, name = kind.removeprefix("graph:").partition(":")
    try:
        return cast(GraphFactory, getattr(importlib.import_module(module), name))
    except (ImportError, AttributeError, ValueError):
        return None
