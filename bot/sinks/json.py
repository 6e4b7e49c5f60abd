"""`--format json`: the documented machine-readable result (DESIGN section 4)."""

from __future__ import annotations

import json

from bot.types import RunResult


class JsonFormatter:
    name = "json"

    def render(self, result: RunResult) -> str:
        # ensure_ascii keeps control and bidi characters escaped, so the output is log-safe too.
        return json.dumps(result.to_json(), indent=2, ensure_ascii=True) + "\n"
