"""`api = "openai-chat"`: `/v1/chat/completions` of vLLM, Ollama, llama.cpp's server and TGI.

For instruct models, which expect their own chat template: the server applies it to our
messages. Payload `{"model", "messages", "max_tokens", "temperature", "top_p", "stop"}`;
answer `choices[0].message.content`, `finish_reason`, `usage`. Only chat templates
(`mode: chat`) are sent this way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.backends.base import CHAT, GenerationParams, Prompt, RetryableModelError, chat_messages
from bot.backends.http import HttpTransport
from bot.backends.openai import OpenAIBackend, openai_completion
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
    return openai_completion(content, choice, body)


class OpenAIChatBackend(OpenAIBackend):
    """The same server as `openai`, its chat route: only the payload and the answer differ."""

    name = "openai-chat"
    modes = frozenset({CHAT})
    route = "chat/completions"

    def _payload(self, prompt: Prompt, params: GenerationParams) -> dict[str, Any]:
        return chat_payload(self._transport.model, chat_messages(prompt, self.name), params)

    def _parse(self, body: Any) -> Completion:
        return parse_chat_answer(body, self._transport.display)


def make(settings: Settings, env: Mapping[str, str]) -> OpenAIChatBackend:
    return OpenAIChatBackend(HttpTransport.from_settings(settings, settings.endpoint_url, env))
