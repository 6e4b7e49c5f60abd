"""What every model backend is: a prompt in, a Completion out, typed errors for the client.

HTTP backends (hf, openai) only build payloads and read answers; retries, waits, rate
limits and concurrency live in `client.py` and serve every backend alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bot.errors import ConfigError, ModelError
from bot.types import ChatMessage, Completion

# A completion template's prompt, or a chat template's messages (see bot.prompts.templates).
Prompt = str | Sequence[ChatMessage]
COMPLETION, CHAT = "completion", "chat"


@dataclass(frozen=True)
class GenerationParams:
    max_new_tokens: int
    temperature: float
    top_p: float
    stop: tuple[str, ...] = ()  # at most 4 (TGI's limit)
    # Report the first answer token's N likeliest tokens with their probabilities (Completion.first_token);
    # 0: none. A backend that cannot (only llama-cpp can, today) reports none.
    first_token_top: int = 0


def usage_count(value: object) -> int | None:
    """A token count from a server's usage fields: an int (not a bool), else unknown."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class Backend(Protocol):
    """One model request. Raises the errors below; never sleeps or retries itself.

    `modes` says what a backend sends: a completion prompt (a str), chat messages, or both.
    """

    name: str
    modes: frozenset[str]

    def complete(self, prompt: Prompt, params: GenerationParams) -> Completion: ...


@runtime_checkable
class KnowsContext(Protocol):
    """A backend that can tell the model's context window (input and answer, in tokens)."""

    def context_limit(self) -> int | None: ...


class ScoresText(Protocol):
    """A backend that can tell the model's surprise at each token of a text ([review] rank_by = "surprise").

    `scores_text` is True where it can (in process, today); a wrapper (the eval's answer cache)
    says what the backend it wraps can. `token_surprisal` gives (byte offset in the text's UTF-8
    where a token starts, its negative log-probability in nats given the tokens before it) for
    every token but the first.
    """

    scores_text: bool

    def token_surprisal(self, text: str) -> tuple[tuple[int, float], ...]: ...


def scores_text(backend: object) -> bool:
    return getattr(backend, "scores_text", False) is True


def check_mode(backend: Backend, mode: str, template: str) -> None:
    """A chat template needs a chat backend and a completion template a completion one."""
    modes = getattr(backend, "modes", frozenset({COMPLETION}))
    if mode in modes:
        return
    if mode == CHAT:
        raise ConfigError(f"template {template!r} is a chat template (mode: chat) and api {backend.name!r} "
                          "sends plain prompts: use --api openai-chat (or llama-cpp), or a completion template")
    raise ConfigError(f"template {template!r} is a completion template and api {backend.name!r} sends chat "
                      "messages: use a chat template (review-chat) or --api openai")


def completion_text(prompt: Prompt, backend: str) -> str:
    """The prompt of a completion backend; chat messages never reach one (see check_mode)."""
    if not isinstance(prompt, str):
        raise ConfigError(f"api {backend!r} cannot send chat messages; use --api openai-chat or llama-cpp")
    return prompt


def chat_messages(prompt: Prompt, backend: str) -> list[dict[str, str]]:
    if isinstance(prompt, str):
        raise ConfigError(f"api {backend!r} sends chat messages; use a chat template (review-chat)")
    return [{"role": m.role, "content": m.content} for m in prompt]


class RetryableModelError(ModelError):
    """A fault worth retrying: cold start, rate limit, overload, 5xx, timeout, bad body."""

    def __init__(self, message: str, kind: str, wait_s: float | None = None, wait_for_model: bool = False):
        super().__init__(message)
        self.kind = kind  # "loading", "rate_limited", "overloaded", "server_error", "timeout", ...
        self.wait_s = wait_s  # what the server asked for (Retry-After, estimated_time), if anything
        self.wait_for_model = wait_for_model  # retry with x-wait-for-model: true


class InputTooLongError(ModelError):
    """The server says the prompt is too long (TGI 422, vLLM 400): re-plan smaller once.

    `limit` is the context (prompt and answer, in tokens) the server stated, `prompt_tokens`
    what it counted in our prompt, when it said so: the re-plan sizes the parts by them.
    """

    def __init__(self, message: str, limit: int | None = None, prompt_tokens: int | None = None) -> None:
        super().__init__(message)
        self.limit = limit
        self.prompt_tokens = prompt_tokens


# How servers state their limit: TGI "must be <= 4096. Given: 4000 `inputs` tokens", vLLM "maximum
# context length is 4096 tokens. However, you requested 4600 tokens (4088 in the messages",
# llama.cpp server "n_ctx": 4096 and "n_prompt_tokens": 5000 in its error object.
_LIMIT = re.compile(r"(?:must be <= ?|maximum context length is |context (?:size|window|length)(?: of| is)? )(\d+)",
                    re.IGNORECASE)
_GIVEN = re.compile(r"Given: (\d+) `inputs` tokens|\((\d+) in the (?:messages|prompt)|n_prompt_tokens\W+(\d+)",
                    re.IGNORECASE)
_N_CTX = re.compile(r"n_ctx\W+(\d+)")


def stated_limits(text: str) -> tuple[int | None, int | None]:
    """(context limit, prompt tokens) from a server's too-long message, each None when not said."""
    limit = _LIMIT.search(text) or _N_CTX.search(text)
    given = _GIVEN.search(text)
    prompt_tokens = next((int(g) for g in given.groups() if g), None) if given else None
    return (int(limit.group(1)) if limit else None), prompt_tokens
