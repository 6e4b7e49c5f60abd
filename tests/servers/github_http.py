"""The HTTP side of the GitHub emulator: record, inject faults, dispatch, answer.

``GitHubServer.start`` subclasses ``EmulatorHandler`` with ``emulator`` set to itself.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.servers.github_routes import Reply, dispatch
from tests.servers.github_state import DOCS, ApiError, Call, Fault

if TYPE_CHECKING:
    from tests.servers.github_server import GitHubServer

__all__ = ["EmulatorHandler"]


def error_reply(e: ApiError) -> Reply:
    body: dict[str, Any] = {"message": e.message}
    if e.errors is not None:
        body["errors"] = e.errors
    body["documentation_url"] = e.doc
    body["status"] = str(e.status)
    return Reply(e.status, body, dict(e.headers))


def fault_reply(f: Fault) -> Reply:
    if f.body is None:
        phrase = BaseHTTPRequestHandler.responses.get(f.status, ("Error",))[0]
        return Reply(f.status, {"message": phrase, "documentation_url": DOCS}, dict(f.headers))
    if isinstance(f.body, str):
        return Reply(f.status, f.body, dict(f.headers), "text/html; charset=utf-8")
    return Reply(f.status, f.body, dict(f.headers))


class EmulatorHandler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # no ~40 ms delayed-ACK stall per answer on kept-alive connections
    protocol_version = "HTTP/1.1"
    emulator: GitHubServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Keep test output clean; ``srv.calls`` is the log."""

    def _serve(self) -> None:
        emu = self.emulator
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        emu.record(Call(self.command, path, query, headers, parsed))
        fault = emu.take_fault(self.command, path)
        if fault is not None and not fault.after_effect:
            reply = fault_reply(fault)
        else:
            with emu._lock:
                try:
                    reply = dispatch(emu, self.command, path, query, headers, raw, parts.query)
                except ApiError as e:
                    reply = error_reply(e)
            if fault is not None:
                reply = fault_reply(fault)
        hook = emu.take_hook(self.command, path, headers.get("accept", ""))
        if hook is not None:
            with emu._lock:
                hook.action(emu)
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        if isinstance(reply.body, str):
            data = reply.body.encode("utf-8")
        else:
            data = json.dumps(reply.body).encode("utf-8")
        headers = {"Content-Type": reply.content_type, "X-GitHub-Media-Type": "github.v3; format=json",
                   "X-GitHub-Api-Version-Selected": "2022-11-28",
                   "X-GitHub-Request-Id": f"EMU:{id(self):X}"}
        with self.emulator._lock:
            headers.update(self.emulator.rate_headers())
        headers.update(reply.headers)
        self.send_response(reply.status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
