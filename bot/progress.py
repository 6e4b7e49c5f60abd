"""Progress and diagnostics on stderr. Everything untrusted passes through escape_log.

A long model request is not silent: the client reports it as "working" (the elapsed time; an
in-process model also its tokens read and written) and this prints those at most one line
per `interval_s` (10 s on a terminal, 30 s in an Actions log, where every line stays in the
job's log), counted from the last line printed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TextIO

from bot.logsafe import escape_log

if TYPE_CHECKING:
    from bot.backends.events import ModelEvent

TERMINAL_INTERVAL_S = 10.0
ACTIONS_INTERVAL_S = 30.0


def progress_interval(env: Mapping[str, str]) -> float:
    """Seconds between "still working" lines: an Actions log keeps every line, a terminal scrolls."""
    return ACTIONS_INTERVAL_S if env.get("GITHUB_ACTIONS") == "true" else TERMINAL_INTERVAL_S


class Progress:
    def __init__(self, verbosity: int = 0, stream: TextIO | None = None, *,
                 interval_s: float = TERMINAL_INTERVAL_S, clock: Callable[[], float] = time.monotonic):
        self.verbosity = verbosity
        self.stream = stream if stream is not None else sys.stderr
        self.interval_s = interval_s
        self.clock = clock  # paces the "working" lines; a test passes its own
        # When the command started (time.monotonic): the run's wall-clock budget counts from here.
        self.started = time.monotonic()
        self._last_line = clock()

    def _write(self, line: str) -> None:
        self.stream.write(escape_log(line) + "\n")
        self.stream.flush()
        self._last_line = self.clock()

    def info(self, line: str) -> None:
        if self.verbosity >= 0:
            self._write(line)

    def debug(self, line: str) -> None:
        if self.verbosity >= 1:
            self._write(line)

    def warning(self, line: str) -> None:
        self._write(f"review-bot: warning: {line}")

    def error(self, line: str) -> None:
        # Always shown, even with -q: a non-zero exit must say why.
        self._write(f"review-bot: error: {line}")

    def model_event(self, event: ModelEvent) -> None:
        """One line per request step, "working" ones at most every interval_s; with -q only a
        request that failed for good."""
        if event.kind == "working" and (self.verbosity < 0 or self.clock() - self._last_line < self.interval_s):
            return
        if self.verbosity >= 0 or event.kind == "failed":
            self._write(event.describe())
