"""Thread-safe pacing primitives for the model client: rpm bucket, adaptive in-flight cap, backoff."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

BACKOFF_START_S = 0.5
BACKOFF_CAP_S = 8.0


def backoff_delay(attempt: int, rng: random.Random, start: float = BACKOFF_START_S,
                  cap: float = BACKOFF_CAP_S) -> float:
    """Exponential backoff after the `attempt`-th failure, with jitter so workers drift apart."""
    ceiling = min(cap, start * 2 ** max(0, attempt - 1))
    return ceiling / 2 + rng.random() * ceiling / 2


class TokenBucket:
    """`per_minute` tokens a minute, at most `burst` saved up. Reserving may mean waiting.

    A reservation always succeeds and returns the wait; tokens may go negative, so callers
    queue in arrival order without holding the lock while they sleep.
    """

    def __init__(self, per_minute: float, burst: float, clock: Callable[[], float]) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self._rate = per_minute / 60.0
        self._capacity = max(1.0, burst)
        self._tokens = self._capacity
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token; return the seconds to wait before using it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
            self._last = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self._rate


class Admission:
    """How many requests may be in flight at once.

    Starts at `ceiling` (budget.concurrency). Each throttled answer (429) lowers the limit to one
    below what was in flight; every `limit` successes in a row raise it by one again. A server
    that admits fewer requests than we have workers is thus asked at about its own pace.
    """

    def __init__(self, ceiling: int) -> None:
        self.ceiling = max(1, ceiling)
        self.limit = self.ceiling
        self._in_flight = 0
        self._streak = 0
        self._cond = threading.Condition()

    def acquire(self, stop: threading.Event) -> bool:
        """Wait for a free place; False if `stop` was set meanwhile."""
        with self._cond:
            while self._in_flight >= self.limit and not stop.is_set():
                self._cond.wait(0.05)  # poll: `stop` is set without notifying us
            if stop.is_set():
                return False
            self._in_flight += 1
            return True

    def release(self, *, throttled: bool = False, succeeded: bool = False) -> None:
        with self._cond:
            if throttled:
                self.limit = max(1, min(self.limit, self._in_flight) - 1)
                self._streak = 0
            elif succeeded and self.limit < self.ceiling:
                self._streak += 1
                if self._streak >= self.limit:
                    self.limit += 1
                    self._streak = 0
            self._in_flight -= 1
            self._cond.notify_all()
