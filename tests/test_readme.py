"""The README's example of extending the prebuilt solve graph runs as written."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

from codehelm.models import ScriptedModel
from codehelm.tools.sandbox.local import LocalSandbox
from tests.conftest import code_reply, plan_reply

README = Path(__file__).parents[1] / "README.md"


def readme_block(containing: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    return next(block for block in blocks if containing in block)


async def test_the_extension_example_adds_a_node_in_under_20_lines(sandbox: LocalSandbox) -> None:
    source = readme_block("create_solve_graph(model, sandbox)")
    assert len([line for line in source.splitlines() if line.strip()]) < 20
    namespace: dict[str, Any] = {}
    wrapped = (
        f"async def example(model, sandbox):\n{textwrap.indent(source, '    ')}\n    return state"
    )
    exec(compile(wrapped, str(README), "exec"), namespace)
    model = ScriptedModel(
        {
            "planner": [plan_reply(("code", "Multiply"))],
            "coder": [code_reply("print(3847 * 2931)")],
            "reasoner": ["Answer: 11275557"],  # steering confirms the program in the other mode
            # the self-check accepts the answer and rejects the verifier's mutated one
            "verifier": {
                "11275557": code_reply("print('Correct')"),
                "*": code_reply("print('Wrong')"),
            },
        }
    )
    state = await namespace["example"](model, sandbox)
    assert state.answer.content == "11,275,557"  # the added node ran after finish
    assert state.stop_reason in ("verified", "reproduced", "unverified")
