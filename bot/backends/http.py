"""The HTTP transport the hf and openai backends share: one Session, one answer -> one typed error.

Backends only build payloads and read bodies; this module turns every status code and
socket failure into RetryableModelError / InputTooLongError / ModelError with a one-line
message that names the endpoint (never the token) and says what to do.
"""

from __future__ import annotations

import email.utils
import json
import re
import socket
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from bot.backends.base import InputTooLongError, RetryableModelError, stated_limits
from bot.config import Settings
from bot.errors import ConfigError, ModelError, redact_tokens
from bot.logsafe import escape_log

ROUTER_URL = "https://router.huggingface.co/hf-inference/models/{model}"
USER_AGENT = "review-bot/0.1"

# TGI 422, vLLM 400, llama.cpp 400, HF 400: the wording differs, the subject is always the length.
_TOO_LONG = re.compile(
    r"context (length|size|window)|too long|too large|must be <= ?\d+|less than \d+ tokens"
    r"|exceeds?\b.*\b(context|tokens|limit)|maximum\b.*\btokens",
    re.IGNORECASE,
)
_SERVER_TEXT_LIMIT = 200


def display_url(url: str) -> str:
    """The URL as we may print it: no user:password, no query string (either may hold a key)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return escape_log(urlunsplit((parts.scheme, host, parts.path, "", "")))


def needs_hf_token(url: str) -> bool:
    """huggingface.co itself (the router, the retired API) always wants a token."""
    host = (urlsplit(url).hostname or "").lower()
    return host == "huggingface.co" or host.endswith(".huggingface.co")


def check_endpoint(url: str, token: str | None, token_env: str) -> None:
    """Refuse, before anything is sent, an endpoint we cannot use."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"model endpoint {display_url(url)!r} is not an http(s) URL: check --endpoint")
    if token is None and needs_hf_token(url):
        # A missing token is a configuration problem (exit 2), not an unreachable model (exit 3).
        raise ConfigError(
            f"{token_env} is not set; {display_url(url)} needs a Hugging Face token: set the {token_env} "
            f"secret in the workflow, or export {token_env} for a local run")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds to wait: delta-seconds (fractions tolerated) or an HTTP-date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = datetime.now(timezone.utc).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


def _seconds(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


def _exception_chain(err: BaseException) -> list[BaseException]:
    """Every exception urllib3 and requests wrapped around the socket error, outermost first."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [err]
    while todo:
        current = todo.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        for nxt in (current.__cause__, current.__context__, getattr(current, "reason", None),
                    *(a for a in current.args if isinstance(a, BaseException))):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return seen


def _connection_kind(err: BaseException) -> str:
    chain = _exception_chain(err)
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "refused"
    if any(isinstance(e, socket.gaierror) or type(e).__name__ == "NameResolutionError" for e in chain):
        return "unresolved"
    return "connection"


class HttpTransport:
    """POSTs JSON to one model server over one pooled Session; maps every failure to our errors."""

    def __init__(self, url: str, *, model: str, token: str | None, token_env: str = "HF_TOKEN",
                 connect_timeout_s: float = 10.0, timeout_s: float = 120.0, pool_size: int = 10) -> None:
        check_endpoint(url, token, token_env)
        self.url = url
        self.display = display_url(url)
        self.model = model
        self._token_env = token_env
        self._secrets = [token] if token else []
        self._timeout = (connect_timeout_s, timeout_s)
        self._session = requests.Session()
        # Workers share the Session; a pool smaller than the worker count would drop connections.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(10, pool_size))
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def from_settings(cls, settings: Settings, url: str, env: Mapping[str, str]) -> HttpTransport:
        model = settings.model
        return cls(url, model=model.model, token=settings.token(env), token_env=model.token_env,
                   connect_timeout_s=model.connect_timeout_s, timeout_s=model.timeout_s,
                   pool_size=settings.budget.concurrency)

    def close(self) -> None:
        self._session.close()

    def post_json(self, url: str, payload: Mapping[str, Any], *, wait_for_model: bool = False) -> Any:
        """POST `payload`; return the decoded JSON of a 2xx answer, or raise a typed error."""
        headers = {"x-wait-for-model": "true"} if wait_for_model else {}
        where = display_url(url)
        try:
            response = self._session.post(url, json=payload, headers=headers, timeout=self._timeout,
                                          allow_redirects=False)
        except requests.exceptions.ConnectTimeout:
            raise RetryableModelError(
                f"cannot connect to {where} within {self._timeout[0]:g} s: check --endpoint and the network",
                "timeout") from None
        except requests.exceptions.ReadTimeout:
            raise RetryableModelError(f"no answer from {where} within {self._timeout[1]:g} s "
                                      "([model] timeout_s)", "timeout") from None
        except requests.exceptions.SSLError:
            raise ModelError(f"TLS handshake with {where} failed: check the URL's scheme and the server's "
                             "certificate") from None
        except requests.exceptions.ConnectionError as err:
            kind = _connection_kind(err)
            if kind == "refused":
                message = (f"cannot reach {where} (connection refused): is the server running? "
                           "check --endpoint")
            elif kind == "unresolved":
                message = f"cannot reach {where} (host name not found): check --endpoint"
            else:
                message = f"the connection to {where} broke before an answer: the server may have restarted"
            raise RetryableModelError(message, kind) from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as err:
            raise RetryableModelError(f"the answer from {where} broke off ({type(err).__name__})",
                                      "connection") from None
        except requests.exceptions.RequestException as err:
            # Invalid URL or header: nothing a retry could change. The exception text may hold the token.
            raise ModelError(f"cannot send a request to {where} ({type(err).__name__}): check --endpoint "
                             f"and {self._token_env}") from None
        return self._answer(response, where)

    def get_json(self, url: str) -> Any:
        """GET a server's description (TGI /info, llama.cpp /props, vLLM /v1/models); None on any failure.

        Only ever asked to learn the model's limits: a server that does not say is no error.
        """
        try:
            response = self._session.get(url, timeout=self._timeout, allow_redirects=False)
            return response.json() if response.status_code == 200 else None
        except (requests.exceptions.RequestException, ValueError):
            return None

    def _server_says(self, response: requests.Response) -> tuple[Any, str]:
        """The decoded error body (if JSON) and a short, escaped, token-free version of its text."""
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        text = response.text
        if isinstance(body, dict):
            for key in ("error", "message", "detail"):
                value = body.get(key)
                if isinstance(value, dict):
                    value = value.get("message")
                if isinstance(value, list) and all(isinstance(v, str) for v in value):
                    value = "; ".join(value)
                if isinstance(value, str):
                    text = value
                    break
        if body is None and text.lstrip().startswith("<"):
            text = "an HTML error page"  # a proxy's page says nothing the status does not
        text = " ".join(text.split())
        if len(text) > _SERVER_TEXT_LIMIT:
            text = text[:_SERVER_TEXT_LIMIT] + "..."
        return body, escape_log(redact_tokens(text, self._secrets)) or "no details"

    def _answer(self, response: requests.Response, where: str) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            try:
                return response.json()
            except ValueError:
                raise RetryableModelError(f"{where} answered HTTP {status} with a body that is not JSON",
                                          "bad_response") from None
        body, says = self._server_says(response)
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=time.time())
        if 300 <= status < 400:
            location = display_url(response.headers.get("Location", "")) or "elsewhere"
            raise ModelError(f"{where} redirects (HTTP {status}) to {location}: use that URL as --endpoint")
        if status in (401, 403):
            raise ModelError(f"token missing or without access to {self.model} at {where} (HTTP {status}): "
                             f"set {self._token_env} to a token with access")
        if status == 404:
            raise ModelError(f"no model at {where} (HTTP 404, model {self.model}): check --endpoint/--model")
        if status == 410:
            raise ModelError(
                f"{where} answered 410 Gone: the serverless api-inference.huggingface.co API is retired; "
                "use a dedicated Inference Endpoint, a self-hosted TGI/vLLM/llama.cpp llama-server/Ollama "
                f"(--api openai), or the router {ROUTER_URL.format(model=self.model)} (--endpoint)")
        if status == 413 or (status in (400, 422) and _TOO_LONG.search(says)):
            limit, given = stated_limits(f"{says} {json.dumps(body) if body is not None else ''}")
            raise InputTooLongError(f"{where} says the prompt is too long (HTTP {status}: {says})",
                                    limit=limit, prompt_tokens=given)
        if status == 429:
            overloaded = isinstance(body, dict) and body.get("error_type") == "overloaded"
            kind = "overloaded" if overloaded else "rate_limited"
            what = "is overloaded" if overloaded else "rate-limits us"
            raise RetryableModelError(f"{where} {what} (HTTP 429: {says})", kind, wait_s=retry_after)
        loading = isinstance(body, dict) and ("estimated_time" in body or "loading" in says.lower())
        if status == 503 and isinstance(body, dict) and loading:
            estimate = _seconds(body.get("estimated_time"))
            raise RetryableModelError(f"the model at {where} is loading (HTTP 503)", "loading",
                                      wait_s=estimate if estimate is not None else retry_after,
                                      wait_for_model=True)
        if status == 408:
            raise RetryableModelError(f"{where} timed out the request (HTTP 408)", "timeout",
                                      wait_s=retry_after)
        if status >= 500:
            raise RetryableModelError(f"{where} failed (HTTP {status}: {says})", "server_error",
                                      wait_s=retry_after)
        if 400 <= status < 500:
            raise ModelError(f"{where} rejected the request (HTTP {status}: {says}): check the [model] "
                             "settings (--api, --model, max_new_tokens, temperature)")
        raise RetryableModelError(f"{where} answered an unexpected HTTP {status}", "bad_response")
