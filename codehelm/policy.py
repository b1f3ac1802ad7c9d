"""Names of the steering policies (a leaf module, so settings need not load the steerer).

How each policy works is in `codehelm.agents.steerer`.
"""

from __future__ import annotations

from typing import Literal

SteeringPolicy = Literal["steer", "plan", "code", "text", "self-estimate"]
POLICIES: tuple[SteeringPolicy, ...] = ("steer", "plan", "code", "text", "self-estimate")
