"""Two models in one solve graph: one writes the solution, a second one checks it with code.

The checker runs codehelm's verifier first, then asks its own model for a program that tests
the answer against the task (code-based verification: checking in prose helps far less) and
runs it; a printed False rejects the answer and sends the coder back. Any litellm model
strings work, e.g.
    python examples/two_models.py --coder local/smollm2 --checker openai/gpt-4o-mini
Both default to the embedded model, so the example runs offline.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from codehelm import LocalSandbox, SolveState, build_solve_graph, make_model, run_graph
from codehelm.agents.coder import extract_code
from codehelm.agents.verifier import INDEPENDENT, Verifier, final_output, outcome_of
from codehelm.messages import Check
from codehelm.models import ModelClient
from codehelm.state import Attempt

FEW_SHOT = [
    {"role": "system", "content": "You write a Python check that prints True or False."},
    {"role": "user", "content": "Task: What is 12 * 11?\nAnswer: 132"},
    {"role": "assistant", "content": "```python\nprint(12 * 11 == 132)\n```"},
    {"role": "user", "content": "Task: How many r are in strawberry?\nAnswer: 3"},
    {"role": "assistant", "content": "```python\nprint('strawberry'.count('r') == 3)\n```"},
]


class CodeChecker:
    """The standard verifier, then a second model's check program as one more check."""

    def __init__(self, model: ModelClient, sandbox: LocalSandbox) -> None:
        self.model, self.sandbox = model, sandbox
        self.verifier = Verifier(sandbox)

    async def __call__(self, state: SolveState) -> dict[str, Any]:
        update = await self.verifier(state)
        verdict, candidate = update["verdict"], update["candidate"]
        if verdict.outcome == "fail":
            return update
        question = f"Task: {state.task.prompt}\nAnswer: {candidate.content}"
        reply = await self.model.complete(
            [*FEW_SHOT, {"role": "user", "content": question}], agent="checker", max_tokens=120
        )
        check = await self.run_check(extract_code(reply.text), candidate.content)
        checks = [*verdict.checks, check]
        outcome = outcome_of(checks, independent={*INDEPENDENT, "checker_program"})
        verdict = verdict.model_copy(update={"checks": checks, "outcome": outcome})
        update.update(verdict=verdict, usage=reply.usage)
        update["messages"] = [*update["messages"][:-1], verdict]
        if verdict.outcome == "fail":
            attempt = Attempt(mode="code", content=candidate.rationale, feedback=check.detail)
            update["attempts"] = [*state.attempts, attempt]
        return update

    async def run_check(self, code: str | None, answer: str) -> Check:
        """A check program either prints True/False or recomputes the answer independently."""
        if code is None:
            return Check(name="checker_program", passed=None, detail="the checker wrote no code")
        async with self.sandbox.sibling() as apart:  # checks never touch the run's sandbox
            printed = final_output(await apart.run_code(code))
        passed = {"True": True, "False": False, answer: True}.get(
            printed, False if printed else None
        )
        detail = f"{code} printed {printed or 'nothing'}"
        return Check(name="checker_program", passed=passed, detail=detail)


async def main(task: str, coder: str, checker: str) -> None:
    coder_model, checker_model = make_model(coder), make_model(checker)
    async with LocalSandbox() as sandbox:
        graph = build_solve_graph(
            coder_model, sandbox, nodes={"verifier": CodeChecker(checker_model, sandbox)}
        )
        state = await run_graph(graph, task)
    print("answer:", state.answer.content if state.answer else None, f"({state.stop_reason})")
    if state.verdict is not None:
        for check in state.verdict.checks:
            print(f"  {check.name}: {check.passed} {check.detail}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("task", nargs="?", default="What is 1234 * 5678?")
    parser.add_argument("--coder", default="local/smollm2")
    parser.add_argument("--checker", default="local/smollm2")
    args = parser.parse_args()
    asyncio.run(main(args.task, args.coder, args.checker))
