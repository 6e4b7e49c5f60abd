"""A loopback model server speaking HF, TGI and OpenAI completions, with scripted faults.

    with ModelServer(responder=lambda prompt, payload: "a.py:1: warning: x") as srv:
        srv.script([Fault("loading", estimated_time=0.5), None, Fault("rate_limited", retry_after=1)])
        ... point a backend at srv.url (hf), srv.url + "/generate" (TGI) or srv.url (openai) ...
        assert srv.requests[0].headers.get("authorization") is None

Routes (POST): `/` and `/models/<id>` answer the HF list form `[{"generated_text"}]`;
`/generate` the TGI form `{"generated_text"}`, with `details` only when the request asks
(`parameters.details`), as real TGI does; `/v1/completions` the OpenAI form and
`/v1/chat/completions` the OpenAI chat form (the responder sees the messages' contents
joined by blank lines). GET `/info` (TGI), `/v1/models` (vLLM) and `/props` (llama.cpp)
advertise `context_tokens` when it is set, and a too-long refusal states it.
A "token" is a whitespace-separated word: answers are cut at max_new_tokens / max_tokens
words (finish_reason "length"), usage counts words.

Fault choice for each request, first match wins: a fault scripted for its arrival index
(`script`, `fault_on`), then one queued for a prompt substring (`fault_on_prompt`, stable
under concurrency), then the random 429 storm (`refuse_ratio`), then the concurrency cap.
"""

from __future__ import annotations

import io
import json
import math
import random
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Responder = Callable[[str, dict[str, Any]], str]
FaultKind = Literal[
    "loading",  # 503 {"error": "... is currently loading", "estimated_time"}
    "rate_limited",  # 429, Retry-After if retry_after is set (as an HTTP-date if http_date)
    "overloaded",  # TGI's 429 {"error_type": "overloaded"}
    "server_error",  # 500
    "bad_gateway",  # 502 with an HTML body, as proxies answer
    "hang",  # answer only after hang_s (past the client's timeout)
    "reset",  # close the connection without an answer (TCP RST)
    "malformed",  # 200 with a body that is not JSON
    "empty",  # 200 with an empty generated text
    "length",  # 200 with the text cut in half, finish_reason "length"
    "unauthorized", "forbidden", "not_found", "gone",  # 401, 403, 404, 410
    "too_long",  # 422 (HF/TGI wording) or 400 (vLLM wording)
]
DEFAULT_TEXT = "src/app.py:3: warning: the result of open() is never closed"
_HANG_LIMIT_S = 30.0


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    estimated_time: float = 1.0  # loading
    retry_after: float | None = None  # rate_limited, overloaded, server_error: the Retry-After header
    http_date: bool = False  # send Retry-After as an HTTP-date instead of seconds
    hang_s: float = 5.0  # hang
    message: str | None = None  # replaces the error text of server_error and the 4xx faults


@dataclass(frozen=True)
class RecordedRequest:
    index: int  # arrival order, from 0
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    json: Any  # None if the body is not JSON
    time: float  # time.monotonic() at arrival
    status: int = 0  # what the server answered (0: no answer, e.g. reset)
    fault: str = ""  # the fault applied, "" if none

    @property
    def prompt(self) -> str:
        data = self.json if isinstance(self.json, dict) else {}
        messages = data.get("messages")
        if isinstance(messages, list):
            return "\n\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
        value = data.get("inputs", data.get("prompt", ""))
        return value if isinstance(value, str) else ""


class ModelServer:
    """ThreadingHTTPServer on 127.0.0.1:<free port> in a background thread."""

    def __init__(self, responder: Responder | None = None, *, token: str | None = None,
                 model_id: str | None = None, latency_s: float = 0.0, max_concurrency: int | None = None,
                 over_capacity: Literal["overloaded", "retry_after"] = "overloaded",
                 over_capacity_retry_after: float = 1.0, refuse_ratio: float = 0.0,
                 refuse_retry_after: float = 1.0, seed: int = 0, max_prompt_chars: int | None = None,
                 context_tokens: int | None = None,
                 advertises: tuple[str, ...] = ("/info", "/v1/models", "/props")) -> None:
        self.responder: Responder = responder or (lambda prompt, payload: DEFAULT_TEXT)
        self.token = token
        self.model_id = model_id  # when set, other model ids answer 404
        self.latency_s = latency_s
        self.max_concurrency = max_concurrency
        self.over_capacity = over_capacity
        self.over_capacity_retry_after = over_capacity_retry_after
        self.refuse_ratio = refuse_ratio
        self.refuse_retry_after = refuse_retry_after
        self.max_prompt_chars = max_prompt_chars
        self.context_tokens = context_tokens  # advertised by GET /info, /v1/models, /props when set
        self.gets: list[str] = []  # paths of GET requests, in arrival order
        self.advertises = advertises  # which of the describing routes tell the limit
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._records: list[RecordedRequest] = []
        self._by_index: dict[int, Fault | None] = {}
        self._by_prompt: list[tuple[str, list[Fault | None]]] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> ModelServer:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.model_server = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="model-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the model server is not running")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # -- scripting ---------------------------------------------------------------------------
    def script(self, faults: Sequence[Fault | None]) -> None:
        """Faults for the next requests by arrival index (counting from the first request ever)."""
        with self._lock:
            start = len(self._records)
            self._by_index = {start + i: f for i, f in enumerate(faults)}

    def fault_on(self, index: int, fault: Fault | None) -> None:
        with self._lock:
            self._by_index[index] = fault

    def fault_on_prompt(self, substring: str, *faults: Fault | None) -> None:
        """The next len(faults) requests whose prompt contains `substring` get these, in order."""
        with self._lock:
            self._by_prompt.append((substring, list(faults)))

    def clear(self) -> None:
        """Forget recorded requests and scripted faults (counters restart from 0)."""
        with self._lock:
            self._records.clear()
            self._by_index.clear()
            self._by_prompt.clear()
            self._max_in_flight = 0

    # -- observations ------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    @property
    def max_in_flight(self) -> int:
        with self._lock:
            return self._max_in_flight

    # -- request handling (called from handler threads) --------------------------------------
    def _arrive(self, record: RecordedRequest) -> tuple[RecordedRequest, Fault | None]:
        with self._lock:
            record = replace(record, index=len(self._records))
            self._records.append(record)
            if record.index in self._by_index:
                return record, self._by_index.pop(record.index)
            for substring, queue in self._by_prompt:
                if queue and substring in record.prompt:
                    return record, queue.pop(0)
            if self.refuse_ratio and self._random.random() < self.refuse_ratio:
                return record, Fault("rate_limited", retry_after=self.refuse_retry_after)
            return record, None

    def _finish(self, index: int, status: int, fault: str) -> None:
        with self._lock:
            self._records[index] = replace(self._records[index], status=status, fault=fault)

    def _admit(self) -> bool:
        with self._lock:
            if self.max_concurrency is not None and self._in_flight >= self.max_concurrency:
                return False
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            return True

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(min(seconds, _HANG_LIMIT_S))


def _words(text: str) -> int:
    return len(text.split())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ModelServer/1"
    # Real inference servers answer without Nagle's algorithm; with it, a kept-alive
    # connection stalls ~40 ms per answer on the client's delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return

    @property
    def srv(self) -> ModelServer:
        return self.server.model_server  # type: ignore[attr-defined,no-any-return]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        srv = self.srv
        limit = srv.context_tokens if self.path in srv.advertises else None
        with srv._lock:  # kept apart from `requests`, whose indices scripted faults use
            srv.gets.append(self.path)
        if self.path == "/health":
            self._json(200, {"status": "ok"})
        elif self.path == "/info":  # TGI's shape; max_* only when the server has a limit to tell
            info: dict[str, Any] = {"model_id": srv.model_id or "bigcode/starcoder2-15b",
                                    "router": "text-generation-router"}
            if limit is not None:
                info.update(max_input_tokens=limit - 1, max_total_tokens=limit, max_stop_sequences=4)
            self._json(200, info)
        elif self.path == "/v1/models" and limit is not None:  # vLLM's shape
            self._json(200, {"object": "list", "data": [{"id": srv.model_id or "m", "object": "model",
                                                         "max_model_len": limit}]})
        elif self.path == "/props" and limit is not None:  # llama.cpp server's shape
            self._json(200, {"default_generation_settings": {"n_ctx": limit}, "total_slots": 1})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        record = RecordedRequest(index=-1, method="POST", path=self.path,
                                 headers={k.lower(): v for k, v in self.headers.items()},
                                 body=body, json=payload, time=time.monotonic())
        record, fault = self.srv._arrive(record)
        # Hold the answer until its status is recorded: a client that has its answer may
        # look at `srv.requests` at once, and must find the request complete there.
        real, self.wfile = self.wfile, io.BytesIO()
        try:
            status, applied = self._serve(record, payload, fault)
        finally:
            answer, self.wfile = self.wfile.getvalue(), real  # type: ignore[attr-defined]
        self.srv._finish(record.index, status, applied)
        if answer:
            real.write(answer)
            real.flush()

    def _serve(self, record: RecordedRequest, payload: Any, fault: Fault | None) -> tuple[int, str]:
        srv, path = self.srv, self.path.split("?", 1)[0]
        flavour = ("openai" if path.rstrip("/").endswith("/v1/completions")
                   else "chat" if path.rstrip("/").endswith("/v1/chat/completions")
                   else "tgi" if path == "/generate"
                   else "hf" if path == "/" or path.startswith("/models/") else None)
        if flavour is None:
            return self._json(404, {"error": f"no route {path}"}), ""
        if srv.token is not None and record.headers.get("authorization") != f"Bearer {srv.token}":
            return self._json(401, {"error": "Invalid credentials in Authorization header"}), ""
        if not isinstance(payload, dict):
            return self._json(400, {"error": "body is not a JSON object"}), ""
        model = (payload.get("model") if flavour in ("openai", "chat")
                 else path[len("/models/"):] if path.startswith("/models/") else None)
        if srv.model_id is not None and model is not None and model != srv.model_id:
            return self._error(flavour, 404, f"The model `{model}` does not exist."), ""
        if fault is not None:
            result = self._fault(fault, record, payload, flavour)
            if result is not None:
                return result, fault.kind
        if srv.max_prompt_chars is not None and len(record.prompt) > srv.max_prompt_chars:
            return self._too_long(flavour, record.prompt), "too_long"
        if not srv._admit():
            if srv.over_capacity == "overloaded":
                overloaded = {"error": "Model is overloaded", "error_type": "overloaded"}
                return self._json(429, overloaded), "capacity"
            return self._json(429, {"error": "Rate limit reached"},
                              {"Retry-After": f"{srv.over_capacity_retry_after:g}"}), "capacity"
        try:
            if srv.latency_s:
                srv._wait(srv.latency_s)
            return self._generate(flavour, payload), ""
        finally:
            srv._leave()

    def _fault(self, fault: Fault, record: RecordedRequest, payload: dict[str, Any],
               flavour: str) -> int | None:
        """Answer a fault; None means the fault lets the request through (possibly altered)."""
        srv, kind = self.srv, fault.kind
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            seconds = f"{fault.retry_after:g}"
            # An HTTP-date has whole seconds: round up so the client never waits less than asked.
            when = formatdate(math.ceil(time.time() + fault.retry_after), usegmt=True)
            headers["Retry-After"] = when if fault.http_date else seconds
        if kind == "loading":
            if record.headers.get("x-wait-for-model", "").lower() == "true":
                srv._wait(fault.estimated_time)  # HF holds the request until the model is up
                return None
            model = srv.model_id or "bigcode/starcoder2-15b"
            return self._json(503, {"error": f"Model {model} is currently loading",
                                    "estimated_time": fault.estimated_time}, headers)
        if kind == "rate_limited":
            return self._json(429, {"error": "Rate limit reached. Please slow down."}, headers)
        if kind == "overloaded":
            return self._json(429, {"error": "Model is overloaded", "error_type": "overloaded"}, headers)
        if kind == "server_error":
            return self._json(500, {"error": fault.message or "Internal Server Error"}, headers)
        if kind == "bad_gateway":
            return self._raw(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
        if kind == "hang":
            srv._wait(fault.hang_s)
            return self._generate(flavour, payload)
        if kind == "reset":
            # SO_LINGER 0: close() sends RST instead of FIN, like a crashed proxy.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return 0
        if kind == "malformed":
            return self._raw(200, b'{"generated_text": "unterminated', "application/json")
        if kind in ("empty", "length"):
            return self._generate(flavour, payload, override=kind)
        statuses = {"unauthorized": (401, "Invalid credentials in Authorization header"),
                    "forbidden": (403, "You don't have access to this model"),
                    "not_found": (404, "Model not found"),
                    "gone": (410, "The requested API is no longer supported, please use the router")}
        if kind in statuses:
            status, message = statuses[kind]
            message = fault.message or message
            return self._error(flavour, status, message)
        if kind == "too_long":
            return self._too_long(flavour, record.prompt)
        raise ValueError(f"unknown fault kind {kind!r}")

    def _generate(self, flavour: str, payload: dict[str, Any], override: str = "") -> int:
        openai_like = flavour in ("openai", "chat")
        if flavour == "chat":
            prompt: Any = RecordedRequest(0, "POST", "", {}, b"", payload, 0.0).prompt
        else:
            prompt = payload.get("prompt" if flavour == "openai" else "inputs", "")
        params = payload if openai_like else payload.get("parameters") or {}
        limit = params.get("max_tokens" if openai_like else "max_new_tokens")
        text = self.srv.responder(prompt if isinstance(prompt, str) else "", payload)
        words = text.split(" ")
        finish = "stop"
        if override == "empty":
            text = ""
        elif override == "length":
            text, finish = " ".join(words[: max(1, len(words) // 2)]), "length"
        elif isinstance(limit, int) and _words(text) > limit:
            text, finish = " ".join(words[:limit]), "length"
        usage = {"prompt_tokens": _words(str(prompt)), "completion_tokens": _words(text),
                 "total_tokens": _words(str(prompt)) + _words(text)}
        if flavour == "chat":
            return self._json(200, {
                "id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()),
                "model": payload.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": finish, "logprobs": None}], "usage": usage})
        if flavour == "openai":
            return self._json(200, {
                "id": "cmpl-1", "object": "text_completion", "created": int(time.time()),
                "model": payload.get("model"),
                "choices": [{"index": 0, "text": text, "finish_reason": finish, "logprobs": None}],
                "usage": {"prompt_tokens": _words(str(prompt)), "completion_tokens": _words(text),
                          "total_tokens": _words(str(prompt)) + _words(text)}})
        answer: dict[str, Any] = {"generated_text": text}
        if params.get("details") is True:  # TGI sends details only when asked
            answer["details"] = {"finish_reason": "length" if finish == "length" else "eos_token",
                                 "generated_tokens": _words(text), "seed": None}
        return self._json(200, answer if flavour == "tgi" else [answer])

    def _too_long(self, flavour: str, prompt: str) -> int:
        """The refusal states the limit and the prompt's tokens (counted as 2 characters each)."""
        limit = self.srv.context_tokens or 16384
        given = max(math.ceil(len(prompt) / 2), limit + 1)
        if flavour in ("openai", "chat"):  # vLLM's wording
            return self._error(flavour, 400, f"This model's maximum context length is {limit} tokens. However, "
                                             f"you requested {given + 512} tokens ({given} in the messages, "
                                             "512 in the completion). Please reduce the length.")
        return self._json(422, {"error": "Input validation error: `inputs` tokens + `max_new_tokens` must be "
                                         f"<= {limit}. Given: {given} `inputs` tokens and 512 `max_new_tokens`",
                                "error_type": "validation"})

    def _error(self, flavour: str, status: int, message: str) -> int:
        if flavour in ("openai", "chat"):
            return self._json(status, {"object": "error", "message": message, "type": "BadRequestError",
                                       "code": status})
        return self._json(status, {"error": message})

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> int:
        return self._raw(status, json.dumps(body).encode(), "application/json", headers)

    def _raw(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> int:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. after its timeout)
        return status
