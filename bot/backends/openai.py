"""`api = "openai"`: the OpenAI-compatible `/v1/completions` of vLLM, TGI, llama-server, Ollama.

Payload: `{"model", "prompt", "max_tokens", "temperature", "top_p", "stop"}`; answer
`choices[0].text`, `choices[0].finish_reason`, `usage.prompt_tokens/completion_tokens`.
`max_tokens` is always sent: vLLM defaults to 16 tokens, llama.cpp to no limit at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.backends.base import GenerationParams, RetryableModelError, usage_count
from bot.backends.http import HttpTransport
from bot.config import Settings
from bot.types import Completion


def completions_url(endpoint: str) -> str:
    """`{endpoint}/v1/completions`, without doubling a `/v1` (or the whole path) already given."""
    parts = urlsplit(endpoint)
    path = parts.path.rstrip("/")
    if not path.endswith("/v1/completions"):
        path += "/completions" if path.endswith("/v1") else "/v1/completions"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def openai_payload(model: str, prompt: str, params: GenerationParams) -> dict[str, Any]:
    return {"model": model, "prompt": prompt, "max_tokens": params.max_new_tokens,
            "temperature": params.temperature, "top_p": params.top_p, "stop": list(params.stop)}


def parse_openai_answer(body: Any, where: str) -> Completion:
    choices = body.get("choices") if isinstance(body, dict) else None
    choice = choices[0] if isinstance(choices, list) and choices else None
    if not isinstance(choice, dict) or not isinstance(choice.get("text"), str):
        raise RetryableModelError(f"{where} answered without choices[0].text: is --api right "
                                  "(openai expects /v1/completions answers)?", "bad_response")
    finish = choice.get("finish_reason")
    usage = body.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    return Completion(text=choice["text"], finish_reason=finish if isinstance(finish, str) else None,
                      prompt_tokens=usage_count(usage.get("prompt_tokens")),
                      completion_tokens=usage_count(usage.get("completion_tokens")))


class OpenAIBackend:
    name = "openai"

    def __init__(self, transport: HttpTransport) -> None:
        self._transport = transport
        self._url = completions_url(transport.url)

    @property
    def endpoint(self) -> str:
        return self._transport.display

    def complete(self, prompt: str, params: GenerationParams, *, wait_for_model: bool = False) -> Completion:
        body = self._transport.post_json(self._url, openai_payload(self._transport.model, prompt, params),
                                         wait_for_model=wait_for_model)
        return parse_openai_answer(body, self._transport.display)

    def close(self) -> None:
        self._transport.close()


def make(settings: Settings, env: Mapping[str, str]) -> OpenAIBackend:
    return OpenAIBackend(HttpTransport.from_settings(settings, settings.endpoint_url, env))
