"""`api = "hf"`: Hugging Face Inference Endpoints, TGI (`/` or `/generate`) and the router.

Payload: `{"inputs", "parameters": {"max_new_tokens", "temperature", "top_p", "stop",
"return_full_text": false, "do_sample", "details": true}}`. Answer: `[{"generated_text"}]`
(HF, TGI `/`) or `{"generated_text", "details": {...}}` (TGI `/generate`). TGI sends `details`
(finish_reason, generated_tokens) only when asked, so we ask: without it a line cut by the
token limit cannot be told from a whole one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.backends.base import COMPLETION, GenerationParams, Prompt, RetryableModelError, completion_text, usage_count
from bot.backends.http import HttpTransport
from bot.config import Settings
from bot.types import Completion

TGI_MAX_STOP = 4  # TGI answers 422 past four stop sequences


def hf_payload(prompt: str, params: GenerationParams) -> dict[str, Any]:
    sampling = params.temperature > 0
    parameters: dict[str, Any] = {
        "max_new_tokens": params.max_new_tokens,
        "stop": list(params.stop[:TGI_MAX_STOP]),
        "return_full_text": False,
        "do_sample": sampling,
        "details": True,
    }
    # TGI rejects temperature <= 0 whatever do_sample says, and a top_p (valid only in (0, 1))
    # switches sampling on even with do_sample false: greedy means sending neither.
    if sampling:
        parameters["temperature"] = params.temperature
        if 0 < params.top_p < 1:
            parameters["top_p"] = params.top_p
    return {"inputs": prompt, "parameters": parameters}


def parse_hf_answer(body: Any, prompt: str, where: str) -> Completion:
    item = body[0] if isinstance(body, list) and body else body
    if not isinstance(item, dict) or not isinstance(item.get("generated_text"), str):
        raise RetryableModelError(f"{where} answered without a generated_text: is --api right "
                                  "(hf expects HF/TGI answers)?", "bad_response")
    text: str = item["generated_text"]
    # Some deployments ignore return_full_text=false; the prompt is never part of the answer.
    if prompt and text.startswith(prompt):
        text = text[len(prompt):]
    details = item.get("details")
    details = details if isinstance(details, dict) else {}
    finish = details.get("finish_reason")
    return Completion(text=text, finish_reason=finish if isinstance(finish, str) else None,
                      prompt_tokens=None, completion_tokens=usage_count(details.get("generated_tokens")))


def _info_url(endpoint: str) -> str:
    """TGI serves /info beside / and /generate."""
    parts = urlsplit(endpoint)
    path = parts.path.rstrip("/")
    for tail in ("/generate", "/generate_stream"):
        path = path.removesuffix(tail)
    return urlunsplit((parts.scheme, parts.netloc, path + "/info", "", ""))


def tgi_context_limit(info: Any) -> int | None:
    """TGI's max_total_tokens: the prompt and the answer together."""
    if not isinstance(info, dict):
        return None
    total = usage_count(info.get("max_total_tokens"))
    return total if total and total > 0 else None


class HfBackend:
    """One POST to the endpoint per prompt; the endpoint URL is used exactly as configured."""

    name = "hf"
    modes = frozenset({COMPLETION})

    def __init__(self, transport: HttpTransport) -> None:
        self._transport = transport

    @property
    def endpoint(self) -> str:
        return self._transport.display

    def complete(self, prompt: Prompt, params: GenerationParams, *, wait_for_model: bool = False) -> Completion:
        text = completion_text(prompt, self.name)
        body = self._transport.post_json(self._transport.url, hf_payload(text, params),
                                         wait_for_model=wait_for_model)
        return parse_hf_answer(body, text, self._transport.display)

    def context_limit(self) -> int | None:
        """What TGI's /info advertises (prompt and answer), or None (the router, HF endpoints)."""
        return tgi_context_limit(self._transport.get_json(_info_url(self._transport.url)))

    def close(self) -> None:
        self._transport.close()


def make(settings: Settings, env: Mapping[str, str]) -> HfBackend:
    return HfBackend(HttpTransport.from_settings(settings, settings.endpoint_url, env))
