"""Retrying GitHub reads, and how long to wait when GitHub says "rate limit".

GitHub's documented rules (REST API, "Handle rate limit errors appropriately"): with a
`retry-after` header wait that many seconds; else, when `x-ratelimit-remaining` is 0, wait
until `x-ratelimit-reset`; else (a secondary rate limit that names no time) wait at least
one minute, and longer, exponentially, between further retries. Every wait is capped by the
budget's `max_wait_s`. `rate_limit_wait` is the one implementation, for the read retries
below and for the review POST (bot.sinks.github_review).

The sleep function and the clock come in through the constructor, so tests run these
rules against the loopback emulator without waiting a minute.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from github import GithubRetry
from urllib3.response import BaseHTTPResponse

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_STATUSES = [429, 500, 502, 503, 504]  # GithubRetry adds 403 and retries it only for rate limits
SECONDARY_WAIT_S = 60.0  # GitHub: "wait for at least one minute before retrying"


@dataclass(frozen=True)
class Waits:
    """How a client waits: the cap, the secondary base, and the injected sleep and clock."""

    max_wait_s: float = 120.0
    secondary_wait_s: float = SECONDARY_WAIT_S
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time


def rate_limit_wait(headers: Mapping[str, str], earlier: int, waits: Waits) -> float:
    """Seconds to wait after a rate-limited answer with `headers`, the `earlier`-th in a row
    (0 for the first), before the cap: Retry-After, else the reset, else 1 min doubling."""
    lowered = {k.lower(): v for k, v in headers.items()}
    retry_after = lowered.get("retry-after", "").strip()
    try:
        if retry_after:
            return max(0.0, float(retry_after))
    except ValueError:
        pass
    reset = lowered.get("x-ratelimit-reset", "").strip()
    if lowered.get("x-ratelimit-remaining", "").strip() == "0" and reset.isdigit():
        return max(0.0, int(reset) - waits.clock()) + 1.0  # +1: the reset happens somewhere in that second
    return waits.secondary_wait_s * 2 ** max(0, earlier)


class CappedRetry(GithubRetry):
    """GithubRetry (403 only when it is a rate limit; reads only, see make_retry) whose waits
    follow `rate_limit_wait`, capped, through the injected sleep."""

    def __init__(self, waits: Waits | None = None, **kwargs: Any) -> None:
        self.waits = waits or Waits()
        super().__init__(**kwargs)

    @property
    def retry_after_cap(self) -> float:
        return self.waits.max_wait_s

    def new(self, **kw: Any) -> CappedRetry:
        kw["waits"] = self.waits
        return super().new(**kw)  # type: ignore[return-value]

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.waits.max_wait_s)

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        if response is not None and response.status in (403, 429):
            earlier = sum(1 for h in self.history if h.status in (403, 429)) - 1
            wait = rate_limit_wait(dict(response.headers), earlier, self.waits)
        else:
            wait = self.get_backoff_time()
        if wait > 0:
            self.waits.sleep(min(wait, self.waits.max_wait_s))


def make_retry(retries: int, backoff_s: float, waits: Waits) -> CappedRetry:
    return CappedRetry(
        waits=waits,
        # GithubRetry's own secondary wait only decides whether to give up: never, we cap instead.
        secondary_rate_wait=0.0,
        max_rate_limit_wait=waits.max_wait_s,  # a primary reset further away than the cap: give up now
        total=retries,
        backoff_factor=backoff_s,
        backoff_max=waits.max_wait_s,
        status_forcelist=list(RETRY_STATUSES),
        allowed_methods=READ_METHODS,  # never POST/PATCH/PUT/DELETE: a lost answer may hide a success
        respect_retry_after_header=True,
        raise_on_status=False,  # hand the last answer to PyGithub, which raises GithubException
    )
