"""A custom workflow: planner -> coder -> executor -> your own reviewer, in about 20 lines.

The reviewer is a plain async function: it accepts a run only if the program printed an
integer, and otherwise sends the coder back with its reason. Runs offline on the embedded
model:  python examples/custom_reviewer.py "What is 2**40 - 1?"
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from langgraph.graph import END, START, StateGraph

from codehelm import LocalSandbox, SolveState, agent_node, make_model, run_graph
from codehelm.agents.coder import Coder
from codehelm.agents.executor import Executor
from codehelm.agents.planner import Planner
from codehelm.messages import Answer, Verdict
from codehelm.state import Attempt


async def integer_reviewer(state: SolveState) -> dict[str, Any]:
    """Pass when the last printed line is an integer; otherwise say why, for the coder."""
    execution, action = state.execution, state.action
    assert execution is not None and action is not None
    lines = execution.stdout.strip().splitlines()
    printed = lines[-1].strip() if lines else ""
    ok = execution.ok and printed.lstrip("-").isdigit()
    answer = Answer(content=printed, mode="code", rationale=action.code, sender="reviewer")
    reason = "" if ok else f"expected an integer, got {printed or execution.stderr[-200:]!r}"
    verdict = Verdict(target_id=answer.id, outcome="pass" if ok else "fail", reasons=[reason])
    update: dict[str, Any] = {
        "candidate": answer,
        "verdict": verdict,
        "messages": [answer, verdict],
    }
    if ok:
        update["answer"] = answer
    else:
        update["attempts"] = [
            *state.attempts,
            Attempt(mode="code", content=action.code, feedback=reason),
        ]
    return update


def after_review(state: SolveState) -> str:
    return END if state.answer is not None or len(state.attempts) > 2 else "coder"


async def main(question: str) -> None:
    model = make_model("local/smollm2")
    async with LocalSandbox() as sandbox:
        graph = StateGraph(SolveState)
        graph.add_node("planner", agent_node("planner", Planner(model)))
        graph.add_node("coder", agent_node("coder", Coder(model)))
        graph.add_node("executor", agent_node("executor", Executor(sandbox)))
        graph.add_node("reviewer", agent_node("reviewer", integer_reviewer))
        graph.add_edge(START, "planner")
        graph.add_edge("planner", "coder")
        graph.add_edge("coder", "executor")
        graph.add_edge("executor", "reviewer")
        graph.add_conditional_edges("reviewer", after_review, ["coder", END])
        state = await run_graph(graph.compile(), question)
    print("answer:", state.answer.content if state.answer else None)
    print("attempts:", len(state.attempts) + 1, "| tokens:", state.usage.total_tokens)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "What is 2**40 - 1?"))
