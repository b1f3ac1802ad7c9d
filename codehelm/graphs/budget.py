"""Budgets are enforced: the graph's routers ask the guard before every next step."""

from __future__ import annotations

from codehelm.messages import Budget
from codehelm.state import SolveState


def budget_exceeded(budget: Budget, state: SolveState) -> str | None:
    """Why the run must stop now, or None while it is within every limit."""
    if state.steps >= budget.max_steps:
        return f"budget: reached {budget.max_steps} steps"
    if budget.max_tokens is not None and state.usage.total_tokens >= budget.max_tokens:
        return f"budget: used {state.usage.total_tokens} of {budget.max_tokens} tokens"
    cost = state.usage.cost_usd
    if budget.max_cost_usd is not None and cost is not None and cost >= budget.max_cost_usd:
        return f"budget: spent ${cost:.4f} of ${budget.max_cost_usd:.4f}"
    if budget.max_seconds is not None and state.elapsed_ms / 1000 >= budget.max_seconds:
        return f"budget: worked {state.elapsed_ms / 1000:.1f} s of {budget.max_seconds:g} s"
    return None
