"""The run's wall-clock budget (`budget.max_minutes`): may a request still start?

The run ends at a deadline (the command's start plus max_minutes). A request may start when
the speed measured on the requests done so far says it ends by then: seconds per estimated
prompt token (prompt reading dominates an in-process request and scales with its length),
and never less than the quickest request done (the answer costs time whatever the prompt).
Before any request has ended there is nothing to measure: only a deadline already past stops
one. Over HTTP and in process alike, the time measured is the request's own, from sending to
its answer (waits for another request's turn at an in-process model included: the next one
waits the same way).
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class TimeBudget:
    def __init__(self, deadline: float | None, max_minutes: float, clock: Callable[[], float]) -> None:
        self.deadline = deadline  # clock time by which every request must have ended; None: no limit
        self.max_minutes = max_minutes
        self.clock = clock
        self._lock = threading.Lock()
        self._timed: list[tuple[float, int]] = []  # (seconds, estimated prompt tokens) of requests done

    def record(self, seconds: float, est_tokens: int) -> None:
        with self._lock:
            self._timed.append((seconds, est_tokens))

    def needed_s(self, est_tokens: int) -> float | None:
        """What a request of `est_tokens` should take at the speed measured so far (None: not measured)."""
        with self._lock:
            timed = list(self._timed)
        if not timed:
            return None
        per_token = sum(s for s, _ in timed) / max(1, sum(t for _, t in timed))
        return max(per_token * est_tokens, min(s for s, _ in timed))

    def refusal(self, est_tokens: int) -> str | None:
        """None when a request of `est_tokens` may start now; else why not, in one line."""
        if self.deadline is None:
            return None
        left = self.deadline - self.clock()
        if left <= 0:
            return f"budget.max_minutes ({self.max_minutes:g}) spent"
        needed = self.needed_s(est_tokens)
        if needed is None or needed <= left:
            return None
        return (f"~{needed:.0f} s needed at the speed measured so far, {left:.0f} s left of "
                f"budget.max_minutes ({self.max_minutes:g})")
