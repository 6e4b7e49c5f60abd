"""A loopback stand-in for the Hugging Face Hub serving one LFS file, as huggingface.co does.

    with HubServer({"owner/repo/model.gguf@<40-hex commit>": Path("model.gguf")}) as hub:
        env = {"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp)}
        ... hub.downloads, hub.requests ...

What huggingface_hub (file_download.py, utils/_http.py) expects, and what this does:

- `HEAD|GET {endpoint}/{repo}/resolve/{revision}/{file}`: an LFS file answers `302 Found` with
  `Location` on another origin (the CDN; here the same server's second port, so
  huggingface_hub treats it as off-Hub: it stops following and reads the metadata from the
  302 itself), `X-Repo-Commit` (the commit the revision resolves to), `ETag` and
  `X-Linked-Etag` (`"<sha256>"`, the LFS object id), `X-Linked-Size`. An unknown repo
  answers 404 with `X-Error-Code: RepoNotFound`, an unknown revision `RevisionNotFound`,
  an unknown file `EntryNotFound` (with `X-Repo-Commit`).
- `GET {cdn}/lfs/{sha256}`: the bytes with `Content-Length`, `ETag`, `Accept-Ranges: bytes`;
  `Range: bytes=N-` answers `206 Partial Content` with `Content-Range`.

Faults: `corrupt=True` serves bytes that differ from the stated sha256 (same length);
`cut_once_at=N` sends the first full-body GET's headers and N bytes, then drops the
connection (huggingface_hub resumes with a Range request).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

_CHUNK = 1 << 20


@dataclass(frozen=True)
class HubFile:
    repo_id: str
    filename: str
    commit: str
    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class HubRequest:
    method: str
    path: str
    range: str | None
    port: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class HubServer:
    """Two ThreadingHTTPServers on 127.0.0.1: the Hub (`url`) and its CDN (`cdn_url`)."""

    def __init__(self, files: dict[str, Path], *, corrupt: bool = False, cut_once_at: int | None = None) -> None:
        self.files: list[HubFile] = []
        for spec, path in files.items():
            name, _, commit = spec.partition("@")
            parts = name.split("/")
            self.files.append(HubFile("/".join(parts[:2]), "/".join(parts[2:]), commit, path, _sha256(path),
                                      path.stat().st_size))
        self.corrupt = corrupt
        self.cut_once_at = cut_once_at
        self._lock = threading.Lock()
        self._requests: list[HubRequest] = []
        self._servers: list[ThreadingHTTPServer] = []

    def start(self) -> HubServer:
        for role in ("hub", "cdn"):
            httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
            httpd.daemon_threads = True
            httpd.hub = self  # type: ignore[attr-defined]
            httpd.role = role  # type: ignore[attr-defined]
            threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True,
                             name=f"hub-{role}").start()
            self._servers.append(httpd)
        return self

    def stop(self) -> None:
        for httpd in self._servers:
            httpd.shutdown()
            httpd.server_close()
        self._servers = []

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def cdn_url(self) -> str:
        return f"http://127.0.0.1:{self._servers[1].server_address[1]}"

    @property
    def requests(self) -> list[HubRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def downloads(self) -> list[HubRequest]:
        """GETs of file bytes (the CDN's), the ones that cost bandwidth."""
        cdn_port = self._servers[1].server_address[1]
        return [r for r in self.requests if r.method == "GET" and r.port == cdn_port]

    def _record(self, request: HubRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _take_cut(self) -> int | None:
        with self._lock:
            cut, self.cut_once_at = self.cut_once_at, None
            return cut


_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<file>.+)$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    @property
    def hub(self) -> HubServer:
        return self.server.hub  # type: ignore[attr-defined,no-any-return]

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._route(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._route(body=True)

    def _route(self, body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        self.hub._record(HubRequest(self.command, path, self.headers.get("Range"), self.server.server_address[1]))
        if self.server.role == "cdn":  # type: ignore[attr-defined]
            return self._cdn(path, body)
        match = _RESOLVE.match(path)
        if match is None:
            return self._empty(404, {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"})
        repo, revision, filename = match["repo"], match["revision"], match["file"]
        files = [f for f in self.hub.files if f.repo_id == repo]
        if not files:
            return self._empty(404, {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"})
        files = [f for f in files if revision in (f.commit, "main")]
        if not files:
            return self._empty(404, {"X-Error-Code": "RevisionNotFound", "X-Error-Message": "Invalid rev id"})
        found = [f for f in files if f.filename == filename]
        if not found:
            return self._empty(404, {"X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found",
                                     "X-Repo-Commit": files[0].commit})
        hub_file = found[0]
        self._empty(302, {
            "Location": f"{self.hub.cdn_url}/lfs/{hub_file.sha256}?X-Amz-Signature=loopback",
            "X-Repo-Commit": hub_file.commit,
            "ETag": f'"{hub_file.sha256}"',
            "X-Linked-Etag": f'"{hub_file.sha256}"',
            "X-Linked-Size": str(hub_file.size),
            "Accept-Ranges": "bytes",
        })

    def _cdn(self, path: str, body: bool) -> None:
        found = [f for f in self.hub.files if path == f"/lfs/{f.sha256}"]
        if not found:
            return self._empty(404, {})
        hub_file = found[0]
        start, status = 0, 200
        match = _RANGE.match(self.headers.get("Range") or "")
        if match is not None:
            start, status = int(match[1]), 206
            if start >= hub_file.size:
                return self._empty(416, {"Content-Range": f"bytes */{hub_file.size}"})
        length = hub_file.size - start
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("ETag", f'"{hub_file.sha256}"')
        self.send_header("Accept-Ranges", "bytes")
        name = hub_file.filename.rpartition("/")[2]
        self.send_header("Content-Disposition", f"attachment; filename*=UTF-8''{name}; filename=\"{name}\"")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{hub_file.size - 1}/{hub_file.size}")
        self.end_headers()
        if not body:
            return
        cut = self.hub._take_cut() if start == 0 else None
        self._send_bytes(hub_file, start, cut)

    def _send_bytes(self, hub_file: HubFile, start: int, cut: int | None) -> None:
        sent = start
        middle = hub_file.size // 2
        with hub_file.path.open("rb") as handle:
            handle.seek(start)
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                if self.hub.corrupt and sent <= middle < sent + len(chunk):
                    at = middle - sent
                    chunk = chunk[:at] + bytes([chunk[at] ^ 0xFF]) + chunk[at + 1:]
                if cut is not None and sent + len(chunk) >= cut:
                    self.wfile.write(chunk[:cut - sent])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(chunk)
                sent += len(chunk)

    def _empty(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()


def gguf_bytes_under(root: Path) -> list[Path]:
    """Every regular file under `root` that starts like a GGUF (what a test checks is gone)."""
    found = []
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if path.is_symlink():
                continue
            with path.open("rb") as handle:
                if handle.read(4) == b"GGUF":
                    found.append(path)
    return found
