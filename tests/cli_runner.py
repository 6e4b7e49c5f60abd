"""Run `review-bot` in this process and capture what it printed (no monkeypatching: real streams)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout

from bot.cli import main


def run_main(argv: Sequence[str], env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of one CLI call with exactly `env` as its environment."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv), env=dict(env or {}))
    return code, out.getvalue(), err.getvalue()
