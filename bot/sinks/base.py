"""Output sinks: each one small class behind one Protocol, chosen from the FORMATTERS registry
(bot/sinks/__init__.py)."""

from __future__ import annotations

from typing import Protocol

from bot.types import RunResult


class Formatter(Protocol):
    """Turns a run into text for stdout or --output (text, json, markdown, sarif, github)."""

    name: str

    def render(self, result: RunResult) -> str: ...
