"""`api = "openai-chat"`: `/v1/chat/completions` of vLLM, Ollama, llama.cpp's server and TGI.

For instruct models, which expect their own chat template: the server applies it to our
messages. Payload `{"model", "messages", "max_tokens", "temperature", "top_p", "stop"}`;
answer `choices[0].message.content`, `finish_reason`, `usage`. Only chat templates
(`mode: chat`) are sent this way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.backends.base import CHAT, GenerationParams, Prompt, RetryableModelError, chat_messages, usage_count
from bot.backends.http import HttpTransport
from bot.backends.openai import api_url, openai_context_limit
from bot.config import Settings
from bot.types import Completion


def chat_payload(model: str, messages: list[dict[str, str]], params: GenerationParams) -> dict[str, Any]:
    return {"model": model, "messages": messages, "max_tokens": params.max_new_tokens,
            "temperature": params.temperature, "top_p": params.top_p, "stop": list(params.stop)}


def parse_chat_answer(body: Any, where: str) -> Completion:
    choices = body.get("choices") if isinstance(body, dict) else None
    choice = choices[0] if isinstance(choices, list) and choices else None
    message = choice.get("message") if isinstance(choice, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if content is None and isinstance(message, dict) and "content" in message:
        content = ""  # some servers send null content for an empty answer
    if not isinstance(content, str) or not isinstance(choice, dict):
        raise RetryableModelError(f"{where} answered without choices[0].message.content: is --api right "
                                  "(openai-chat expects /v1/chat/completions answers)?", "bad_response")
    finish = choice.get("finish_reason")
    usage = body.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    return Completion(text=content, finish_reason=finish if isinstance(finish, str) else None,
                      prompt_tokens=usage_count(usage.get("prompt_tokens")),
                      completion_tokens=usage_count(usage.get("completion_tokens")))


class OpenAIChatBackend:
    name = "openai-chat"
    modes = frozenset({CHAT})

    def __init__(self, transport: HttpTransport) -> None:
        self._transport = transport
        self._url = api_url(transport.url, "chat/completions")

    @property
    def endpoint(self) -> str:
        return self._transport.display

    def complete(self, prompt: Prompt, params: GenerationParams, *, wait_for_model: bool = False) -> Completion:
        payload = chat_payload(self._transport.model, chat_messages(prompt, self.name), params)
        body = self._transport.post_json(self._url, payload, wait_for_model=wait_for_model)
        return parse_chat_answer(body, self._transport.display)

    def context_limit(self) -> int | None:
        return openai_context_limit(self._transport)

    def close(self) -> None:
        self._transport.close()


def make(settings: Settings, env: Mapping[str, str]) -> OpenAIChatBackend:
    return OpenAIChatBackend(HttpTransport.from_settings(settings, settings.endpoint_url, env))
