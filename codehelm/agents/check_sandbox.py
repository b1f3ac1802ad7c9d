"""Where verification runs: a sibling of the run's sandbox, never the run's sandbox itself.

Re-running a program, or running a model-written check, inside the run's own interpreter
would repeat the program's side effects there (a file appended to twice, a list grown
twice) and a check that hangs would restart it, losing the run's variables. So the verifier
works in a new sandbox configured like the run's (`Sandbox.sibling()`), opened on first use
and closed after the verdict.

A re-run there must start from the state the checked program started from. That state is
*exact* when the executor saved it (`SolveState.snapshot_before`). Without snapshots it is
rebuilt by replaying the run's earlier programs that ran cleanly, which is usually the same
but not certainly (randomness, files from outside): `StartingState.doubt` says so, and the
verifier does not let such a re-run fail a possibly correct answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from codehelm.agents.base import purpose
from codehelm.errors import SandboxError
from codehelm.messages import CodeAction, Execution
from codehelm.state import SolveState
from codehelm.tools.sandbox.base import ClosesOnExit, Sandbox
from codehelm.tools.sandbox.snapshot import restore_snapshot


@dataclass(frozen=True)
class StartingState:
    """A sibling sandbox holding (as far as known) the state a program started from."""

    sandbox: Sandbox
    doubt: str = ""  # why it may differ from that state; "" when it is exactly that state
    replayed: int = 0  # earlier programs run to rebuild it


class CheckSandbox(ClosesOnExit):
    """A sibling of `sandbox` for one verification (`async with`); opened on first use."""

    def __init__(self, sandbox: Sandbox, state: SolveState, *, timeout: float) -> None:
        self.main, self.state, self.timeout = sandbox, state, timeout
        self._box: Sandbox | None = None

    async def fresh(self) -> Sandbox:
        """The sibling as it is (for checks that need nothing of the run's state)."""
        if self._box is None:
            self._box = self.main.sibling()
        return self._box

    async def at_start(self) -> StartingState:
        """The sibling holding the state the current program started from. Call it before
        anything else runs there."""
        box = await self.fresh()
        base = self.state.snapshot_before
        if base is not None:
            try:
                with purpose("snapshot"):
                    lost = await restore_snapshot(box, base)
            except SandboxError as exc:
                return StartingState(box, f"its starting state could not be restored ({exc})")
            lost += base.skipped_files
            return StartingState(box, f"its starting state lacks {', '.join(lost)}" if lost else "")
        earlier = self._earlier_programs()
        for code in earlier:
            with purpose("replay"):
                replayed = await box.run_code(code, timeout=self.timeout)
            if not replayed.ok:
                return StartingState(
                    box, "replaying an earlier step's program failed", len(earlier)
                )
        doubt = "there is no snapshot of its starting state"
        return StartingState(box, doubt + (" (rebuilt by replay)" if earlier else ""), len(earlier))

    def _earlier_programs(self) -> list[str]:
        """The code of the run's executions before the current one that ran without error."""
        current = self.state.execution
        actions = {m.id: m.code for m in self.state.messages if isinstance(m, CodeAction)}
        return [
            actions[m.action_id]
            for m in self.state.messages
            if isinstance(m, Execution)
            and m.ok
            and m.action_id in actions
            and (current is None or m.id != current.id)
        ]

    async def close(self) -> None:
        if self._box is not None:
            await self._box.close()
