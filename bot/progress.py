"""Progress and diagnostics on stderr. Everything untrusted passes through escape_log."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

from bot.logsafe import escape_log

if TYPE_CHECKING:
    from bot.backends.client import ModelEvent


class Progress:
    def __init__(self, verbosity: int = 0, stream: TextIO | None = None):
        self.verbosity = verbosity
        self.stream = stream if stream is not None else sys.stderr
        # When the command started (time.monotonic): the run's wall-clock budget counts from here.
        self.started = time.monotonic()

    def _write(self, line: str) -> None:
        self.stream.write(escape_log(line) + "\n")
        self.stream.flush()

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
        """One line per request step; with -q only a request that failed for good."""
        if self.verbosity >= 0 or event.kind == "failed":
            self.stream.write(escape_log(event.describe()) + "\n")
            self.stream.flush()
