"""Names of the steering policies and program selectors (a leaf module, so settings need
not load the agents).

How each policy works is in `codehelm.agents.steerer`.
"""

from __future__ import annotations

from typing import Literal

SteeringPolicy = Literal["steer", "plan", "code", "text", "self-estimate"]
POLICIES: tuple[SteeringPolicy, ...] = ("steer", "plan", "code", "text", "self-estimate")

Selector = Literal["codet", "b4"]
"""How `--candidates K` programs are chosen from their pass matrix (`codehelm.agents.sampler`)."""
SELECTORS: tuple[Selector, ...] = ("codet", "b4")
