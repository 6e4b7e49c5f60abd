"""What every model backend is: a prompt in, a Completion out, typed errors for the client.

HTTP backends (hf, openai) only build payloads and read answers; retries, waits, rate
limits and concurrency live in `client.py` and serve every backend alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.errors import ModelError
from bot.types import Completion


@dataclass(frozen=True)
class GenerationParams:
    max_new_tokens: int
    temperature: float
    top_p: float
    stop: tuple[str, ...] = ()  # at most 4 (TGI's limit)


def usage_count(value: object) -> int | None:
    """A token count from a server's usage fields: an int (not a bool), else unknown."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class Backend(Protocol):
    """One model request. Raises the errors below; never sleeps or retries itself."""

    name: str

    def complete(self, prompt: str, params: GenerationParams) -> Completion: ...


class RetryableModelError(ModelError):
    """A fault worth retrying: cold start, rate limit, overload, 5xx, timeout, bad body."""

    def __init__(self, message: str, kind: str, wait_s: float | None = None, wait_for_model: bool = False):
        super().__init__(message)
        self.kind = kind  # "loading", "rate_limited", "overloaded", "server_error", "timeout", ...
        self.wait_s = wait_s  # what the server asked for (Retry-After, estimated_time), if anything
        self.wait_for_model = wait_for_model  # retry with x-wait-for-model: true


class InputTooLongError(ModelError):
    """The server says the prompt is too long (TGI 422, vLLM 400): re-plan smaller once."""
