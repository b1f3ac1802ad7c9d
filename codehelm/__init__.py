"""codehelm: teams of code-using LLM agents over LangGraph.

Public names are imported lazily, so `import codehelm` (and the CLI) start fast.
"""

from __future__ import annotations

import asyncio
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codehelm.config import Settings
    from codehelm.errors import CodehelmError
    from codehelm.graphs.compose import agent_node, best_answer, by_mode, new_task, run_graph
    from codehelm.graphs.fix import build_fix_graph, create_fix_graph
    from codehelm.graphs.solve import build_solve_graph, create_solve_graph, solve_options
    from codehelm.messages import (
        Answer,
        Approval,
        Budget,
        CodeAction,
        Evidence,
        Execution,
        Plan,
        PlanStep,
        Task,
        Usage,
        Verdict,
    )
    from codehelm.models import ModelClient, ModelGateway, ScriptedModel, make_model
    from codehelm.runtime.fix import FixResult, fix
    from codehelm.runtime.research import ResearchResult, research
    from codehelm.runtime.runner import (
        GraphFactory,
        RunResult,
        resume,
        solve,
        solve_graph,
        solve_once,
    )
    from codehelm.state import SolveState
    from codehelm.tools.sandbox import LocalSandbox, Sandbox

__version__ = "0.1.0"

_EXPORTS = {
    "Settings": "codehelm.config",
    "CodehelmError": "codehelm.errors",
    "agent_node": "codehelm.graphs.compose",
    "best_answer": "codehelm.graphs.compose",
    "by_mode": "codehelm.graphs.compose",
    "new_task": "codehelm.graphs.compose",
    "run_graph": "codehelm.graphs.compose",
    "build_solve_graph": "codehelm.graphs.solve",
    "create_solve_graph": "codehelm.graphs.solve",
    "Answer": "codehelm.messages",
    "Approval": "codehelm.messages",
    "Budget": "codehelm.messages",
    "CodeAction": "codehelm.messages",
    "Evidence": "codehelm.messages",
    "Execution": "codehelm.messages",
    "Plan": "codehelm.messages",
    "PlanStep": "codehelm.messages",
    "Task": "codehelm.messages",
    "Usage": "codehelm.messages",
    "Verdict": "codehelm.messages",
    "ModelClient": "codehelm.models",
    "ModelGateway": "codehelm.models",
    "ScriptedModel": "codehelm.models",
    "make_model": "codehelm.models",
    "FixResult": "codehelm.runtime.fix",
    "fix": "codehelm.runtime.fix",
    "build_fix_graph": "codehelm.graphs.fix",
    "create_fix_graph": "codehelm.graphs.fix",
    "ResearchResult": "codehelm.runtime.research",
    "research": "codehelm.runtime.research",
    "GraphFactory": "codehelm.runtime.runner",
    "RunResult": "codehelm.runtime.runner",
    "solve_graph": "codehelm.runtime.runner",
    "solve_options": "codehelm.graphs.solve",
    "resume": "codehelm.runtime.runner",
    "solve": "codehelm.runtime.runner",
    "solve_once": "codehelm.runtime.runner",
    "SolveState": "codehelm.state",
    "LocalSandbox": "codehelm.tools.sandbox",
    "Sandbox": "codehelm.tools.sandbox",
}

__all__ = [
    "Answer",
    "Approval",
    "Budget",
    "CodeAction",
    "CodehelmError",
    "Evidence",
    "Execution",
    "FixResult",
    "GraphFactory",
    "LocalSandbox",
    "ModelClient",
    "ModelGateway",
    "Plan",
    "PlanStep",
    "ResearchResult",
    "RunResult",
    "Sandbox",
    "ScriptedModel",
    "Settings",
    "SolveState",
    "Task",
    "Usage",
    "Verdict",
    "agent_node",
    "best_answer",
    "build_fix_graph",
    "build_solve_graph",
    "by_mode",
    "create_fix_graph",
    "create_solve_graph",
    "fix",
    "make_model",
    "new_task",
    "research",
    "research_sync",
    "resume",
    "run_graph",
    "solve",
    "solve_graph",
    "solve_once",
    "solve_options",
    "solve_sync",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'codehelm' has no attribute {name!r}")


def solve_sync(prompt: str, **kwargs: Any) -> RunResult:
    """`solve` for scripts and notebooks without an event loop."""
    from codehelm.runtime.runner import solve

    return asyncio.run(solve(prompt, **kwargs))


def research_sync(question: str, **kwargs: Any) -> ResearchResult:
    """`research` for scripts and notebooks without an event loop."""
    from codehelm.runtime.research import research

    return asyncio.run(research(question, **kwargs))
