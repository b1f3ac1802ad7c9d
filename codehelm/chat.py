"""Chat turns as models and prompt templates exchange them (a leaf: no codehelm imports)."""

from __future__ import annotations

ChatMessage = dict[str, str]
"""One chat turn: `{"role": "system" | "user" | "assistant", "content": "..."}`."""
