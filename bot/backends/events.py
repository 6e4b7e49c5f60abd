"""What the model client reports about each request, for the progress lines on stderr."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from bot.logsafe import escape_log

if TYPE_CHECKING:
    from bot.backends.base import GenerationParams, Prompt
    from bot.types import Completion

# "working": a request is still running (sent by the client at most every TICK_S, and by an
# in-process model as it reads and writes); Progress prints those at its own pace.
EventKind = Literal["sending", "done", "retry", "wait", "failed", "skipped", "resplit", "working"]


@dataclass(frozen=True)
class TokenCounts:
    """How far an in-process model is with one request."""

    read: int  # prompt tokens read so far
    prompt: int  # prompt tokens in all (the chat template's markers estimated)
    written: int  # answer tokens written so far


class CountsTokens(Protocol):
    """A backend (with `reports_tokens = True`, the in-process one) that says as it goes how far
    it has read the prompt and written the answer; the client turns that into "working" events."""

    def complete(self, prompt: Prompt, params: GenerationParams, *,
                 on_tokens: Callable[[TokenCounts], None] | None = None) -> Completion: ...


@dataclass(frozen=True)
class ModelEvent:
    """Progress of one request, for stderr. `detail` is our own message (server text escaped)."""

    kind: EventKind
    index: int  # 1-based position of the request in this run
    total: int  # requests known so far (grows when a request is resplit)
    request_id: int
    files: tuple[str, ...]
    elapsed_s: float  # since the run started
    attempt: int = 1
    retries: int = 0  # retries so far in the whole run
    wait_s: float = 0.0  # "wait", "retry": how long; "working": how long this request has been running
    reason: str = ""  # "loading", "rate_limited", "pacing", "budget", ...
    detail: str = ""
    tokens: TokenCounts | None = None  # "working" with an in-process model: how far it is

    def describe(self) -> str:
        """One escaped line: files come from the diff, details may quote the server."""
        files = ", ".join(self.files[:3]) + (f" +{len(self.files) - 3} more" if len(self.files) > 3 else "")
        head = f"[{self.elapsed_s:6.1f}s] model request {self.index}/{self.total} ({files})"
        tails: dict[str, str] = {
            "sending": "sending" + (f", attempt {self.attempt}" if self.attempt > 1 else ""),
            "done": "done" + (f" after {self.attempt} attempts" if self.attempt > 1 else ""),
            "retry": f"attempt {self.attempt} failed ({self.reason}); retrying in {self.wait_s:.1f} s: "
                     f"{self.detail}",
            "wait": f"waiting {self.wait_s:.1f} s ({self.reason})",
            "failed": f"gave up after {self.attempt} attempts ({self.reason}): {self.detail}",
            "skipped": f"not sent ({self.reason}): {self.detail}",
            "resplit": f"prompt too long; {self.detail}",
            "working": self._working(),
        }
        return escape_log(f"{head}: {tails[self.kind]}").replace("\n", " ")

    def _working(self) -> str:
        counts, running = self.tokens, f"{self.wait_s:.0f} s"
        if counts is None:  # a server says nothing until it answers
            return f"waiting for the answer, {running} so far"
        if counts.written == 0:
            return f"reading the prompt: {counts.read:,} of {counts.prompt:,} tokens, {running}"
        plural = "" if counts.written == 1 else "s"
        return f"writing: {counts.written:,} token{plural} written (prompt of {counts.prompt:,} read), {running}"
