"""Sampler: K candidate programs and generated tests for a code step, one chosen by
execution (CodeT's dual agreement), then run by the executor as usual.

The coder writes K programs (the first greedy, the others sampled); each runs apart from
the run, from the state the step starts from, in its own sibling sandbox, concurrently.
The model writes check programs the way the verifier's self-check does (the answer in a
variable), sampled too; every check runs on every distinct output, and only a discriminating
verdict counts (see `verifier.judge`). The pass matrix (program x check) goes to
the selector: `select_codet` (the programs that agree on an output and the checks that
output passes support each other) or `select_b4` (the most probable set of right programs
and right checks under B4's Beta-Bernoulli model, which also weighs who fails what).
With K = 1 the solve graph keeps the plain coder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from codehelm.agents.check_sandbox import CheckSandbox
from codehelm.agents.coder import Coder, extract_code
from codehelm.agents.verifier import final_output, hard_codes, judge
from codehelm.messages import Check, Usage
from codehelm.models import ModelClient
from codehelm.policy import Selector
from codehelm.prompts import render
from codehelm.selection.programs import PassMatrix, Selection, select_b4, select_codet
from codehelm.selection.voting import normalize_answer
from codehelm.state import ProgramTests, SolveState
from codehelm.tools.sandbox.base import Sandbox

SELECT: dict[Selector, Callable[[PassMatrix], Selection]] = {
    "codet": select_codet,
    "b4": select_b4,
}


class Sampler:
    """Writes `k` programs and `tests` checks, and puts the chosen program in `action`."""

    name = "coder"  # it stands in for the coder node

    def __init__(
        self,
        model: ModelClient,
        sandbox: Sandbox,
        *,
        k: int,
        tests: int | None = None,
        selector: Selector = "codet",
        temperature: float = 0.8,
        timeout: float = 10.0,
    ) -> None:
        if k < 2:
            raise ValueError(f"a sampler needs k >= 2 programs, got {k}")
        self.model, self.sandbox, self.k, self.timeout = model, sandbox, k, timeout
        self.tests = tests if tests is not None else k
        if selector not in SELECT:
            raise ValueError(f"unknown selector {selector!r}; choose one of {sorted(SELECT)}")
        self.select = SELECT[selector]
        sampled = Coder(model, temperature=temperature)
        self.coders = [Coder(model), *[sampled] * (k - 1)]
        self.temperature = temperature

    async def __call__(self, state: SolveState) -> dict[str, Any]:
        usage = Usage()
        drafts = []
        for coder in self.coders:
            update = await coder(state)
            usage = usage + update["usage"]
            drafts.append(update)
        programs = [d["action"] for d in drafts if d.get("action") is not None]
        if not programs:  # every draft was refused: the first one's feedback revises the step
            return {**drafts[0], "usage": usage}
        start = state.model_copy(update={"snapshot_before": state.snapshot, "execution": None})
        outputs = await asyncio.gather(*(self._run(start, p.code) for p in programs))
        answers = [o for o in dict.fromkeys(outputs) if o]
        checks, spent = await self._checks(state, answers)
        usage = usage + spent
        verdicts = await self._verdicts(checks, answers)
        rows = [[bool(out) and verdicts[(j, out)] for j in range(len(checks))] for out in outputs]
        if any(any(row) for row in rows):
            chosen = self.select(rows).indices[0]
        else:  # no check accepted anything: the output most programs agree on
            counts = [outputs.count(o) if o else 0 for o in outputs]
            chosen = counts.index(max(counts))
        action = programs[chosen]
        agree = sum(normalize_answer(o) == normalize_answer(outputs[chosen]) for o in outputs)
        passed = sum(rows[chosen])
        evidence = Check(
            name="tests",
            passed=True if passed and outputs[chosen] else None,
            detail=f"{agree} of {len(programs)} programs print {outputs[chosen]!r};"
            f" it passes {passed} of {len(checks)} generated checks",
        )
        return {
            "action": action,
            "execution": None,
            "messages": [action],
            "usage": usage,
            "program_tests": ProgramTests(output=outputs[chosen], check=evidence),
        }

    async def _run(self, start: SolveState, code: str) -> str:
        """The output of `code` run apart, from the step's starting state ("" if it failed)."""
        async with CheckSandbox(self.sandbox, start, timeout=self.timeout) as apart:
            box = (await apart.at_start()).sandbox
            run = await box.run_code(code, timeout=self.timeout)
        return final_output(run) if run.ok else ""

    async def _checks(self, state: SolveState, answers: list[str]) -> tuple[list[str], Usage]:
        """Check programs, written against the most common output, kept unless they write
        some candidate output as a literal."""
        usage = Usage()
        if not answers:
            return [], usage
        prompt = render("self_check", task=state.task.prompt, answer=answers[0])
        found = []
        for i in range(self.tests):
            params = {"temperature": self.temperature} if i else {}
            reply = await self.model.complete(prompt, agent="tester", **params)
            usage = usage + reply.usage
            code = extract_code(reply.text)
            if code and not any(hard_codes(code, a, state.task.prompt) for a in answers):
                found.append(code)
        return list(dict.fromkeys(found)), usage

    async def _verdicts(self, checks: list[str], answers: list[str]) -> dict[tuple[int, str], bool]:
        """Whether check j accepts output a, for every pair (undecided counts as not)."""
        verdicts = {}
        async with self.sandbox.sibling() as box:
            for j, code in enumerate(checks):
                for answer in answers:
                    passed, _ = await judge(box, code, answer, self.timeout)
                    verdicts[(j, answer)] = passed is True
        return verdicts
