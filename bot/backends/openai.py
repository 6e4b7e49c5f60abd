"""`api = "openai"`: the OpenAI-compatible `/v1/completions` of vLLM, TGI, llama-server, Ollama.

Payload: `{"model", "prompt", "max_tokens", "temperature", "top_p", "stop"}`; answer
`choices[0].text`, `choices[0].finish_reason`, `usage.prompt_tokens/completion_tokens`.
`max_tokens` is always sent: vLLM defaults to 16 tokens, llama.cpp to no limit at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.backends.base import COMPLETION, GenerationParams, Prompt, RetryableModelError, completion_text, usage_count
from bot.backends.http import HttpTransport
from bot.config import Settings
from bot.types import Completion


def api_url(endpoint: str, route: str = "completions") -> str:
    """`{endpoint}/v1/{route}`, without doubling a `/v1` (or the whole path) already given."""
    parts = urlsplit(endpoint)
    path = parts.path.rstrip("/")
    for known in ("/v1/completions", "/v1/chat/completions"):
        path = path.removesuffix(known)
    path = path.removesuffix("/v1") + "/v1/" + route
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def server_root(endpoint: str) -> str:
    """The server's base URL: llama.cpp's /props and the /v1 routes hang below it."""
    parts = urlsplit(api_url(endpoint, "x"))
    return urlunsplit((parts.scheme, parts.netloc, parts.path.removesuffix("/v1/x"), "", ""))


def openai_context_limit(transport: HttpTransport) -> int | None:
    """vLLM's /v1/models max_model_len, else llama.cpp server's /props n_ctx; None when neither says."""
    root = server_root(transport.url)
    models = transport.get_json(root + "/v1/models")
    data = models.get("data") if isinstance(models, dict) else None
    for entry in data if isinstance(data, list) else []:
        if isinstance(entry, dict) and usage_count(entry.get("max_model_len")):
            return usage_count(entry.get("max_model_len"))
    props = transport.get_json(root + "/props")
    if isinstance(props, dict):
        settings = props.get("default_generation_settings")
        n_ctx = usage_count(settings.get("n_ctx")) if isinstance(settings, dict) else None
        return n_ctx or usage_count(props.get("n_ctx"))
    return None


def openai_payload(model: str, prompt: str, params: GenerationParams) -> dict[str, Any]:
    return {"model": model, "prompt": prompt, "max_tokens": params.max_new_tokens,
            "temperature": params.temperature, "top_p": params.top_p, "stop": list(params.stop)}


def parse_openai_answer(body: Any, where: str) -> Completion:
    choices = body.get("choices") if isinstance(body, dict) else None
    choice = choices[0] if isinstance(choices, list) and choices else None
    if not isinstance(choice, dict) or not isinstance(choice.get("text"), str):
        raise RetryableModelError(f"{where} answered without choices[0].text: is --api right "
                                  "(openai expects /v1/completions answers)?", "bad_response")
    return openai_completion(choice["text"], choice, body)


def openai_completion(text: str, choice: Mapping[str, Any], body: Mapping[str, Any]) -> Completion:
    """The Completion of an OpenAI-shaped answer (completion or chat): its text, the choice's
    finish_reason and the body's usage, each only when the server sent it well-formed."""
    finish = choice.get("finish_reason")
    usage = body.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    return Completion(text=text, finish_reason=finish if isinstance(finish, str) else None,
                      prompt_tokens=usage_count(usage.get("prompt_tokens")),
                      completion_tokens=usage_count(usage.get("completion_tokens")))


class OpenAIBackend:
    name = "openai"
    modes = frozenset({COMPLETION})

    route = "completions"  # below /v1 of the server

    def __init__(self, transport: HttpTransport) -> None:
        self._transport = transport
        self._url = api_url(transport.url, self.route)

    @property
    def endpoint(self) -> str:
        return self._transport.display

    def complete(self, prompt: Prompt, params: GenerationParams, *, wait_for_model: bool = False) -> Completion:
        body = self._transport.post_json(self._url, self._payload(prompt, params), wait_for_model=wait_for_model)
        return self._parse(body)

    def _payload(self, prompt: Prompt, params: GenerationParams) -> dict[str, Any]:
        return openai_payload(self._transport.model, completion_text(prompt, self.name), params)

    def _parse(self, body: Any) -> Completion:
        return parse_openai_answer(body, self._transport.display)

    def context_limit(self) -> int | None:
        return openai_context_limit(self._transport)

    def close(self) -> None:
        self._transport.close()


def make(settings: Settings, env: Mapping[str, str]) -> OpenAIBackend:
    return OpenAIBackend(HttpTransport.from_settings(settings, settings.endpoint_url, env))
