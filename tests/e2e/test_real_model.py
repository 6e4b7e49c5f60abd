"""`review-bot dry-run` end to end on a real (tiny) language model, both local routes.

SmolLM2-135M-Instruct is no code reviewer: it is a real model whose output the bot must
survive. Whatever it writes, the run completes, every finding it keeps sits on a line the
diff lets GitHub comment on, and the request budget, the token budget and the template's
stop strings hold. Route 1 runs the GGUF in-process (`api = "llama-cpp"`); route 2 runs it
behind `python -m llama_cpp.server` (`api = "openai"`), with a recording proxy in between
so the test sees exactly what went over the wire.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from unidiff import PatchSet

from tests.conftest import CORPUS

CASE = CORPUS / "jinja" / "range-75775669-3"  # 4 files (3 Python), 5 hunks: more than the budget
MAX_REQUESTS = 3
MAX_NEW_TOKENS = 128
CONTEXT_WINDOW = 1280  # small enough that this case needs more than MAX_REQUESTS requests
SERVER_ALIAS = "smollm2"
RUN_TIMEOUT_S = 600


# --- the truth about which lines are commentable, from unidiff and the oracle ---------------------

@dataclass(frozen=True)
class Commentable:
    right: dict[str, dict[int, str]]  # path -> new line number -> text, added or context
    left: dict[str, dict[int, str]]  # path -> old line number -> text, deleted or context


def commentable_lines(case: Path) -> Commentable:
    right: dict[str, dict[int, str]] = {}
    left: dict[str, dict[int, str]] = {}
    for patched in PatchSet(case.joinpath("pr.diff").read_text(encoding="utf-8")):
        for hunk in patched:
            for line in hunk:
                text = line.value.rstrip("\r\n")
                if line.target_line_no is not None:
                    right.setdefault(patched.path, {})[line.target_line_no] = text
                if line.source_line_no is not None:
                    left.setdefault(patched.path, {})[line.source_line_no] = text
    return Commentable(right, left)


def assert_grounded(findings: list[dict[str, Any]], case: Path) -> None:
    """Every finding on an added/context line of the diff, which the oracle's file really has."""
    truth = commentable_lines(case)
    files = json.loads(case.joinpath("oracle.json").read_text(encoding="utf-8"))["files"]
    for finding in findings:
        path, line, side = finding["path"], finding["line"], finding["side"]
        assert path in files, f"finding on a file outside the diff: {finding}"
        lines = truth.right if side == "RIGHT" else truth.left
        content = files[path]["new"] if side == "RIGHT" else files[path]["old"]
        assert content is not None, f"finding on a side the file does not have: {finding}"
        assert isinstance(line, int) and line in lines.get(path, {}), f"finding off the diff: {finding}"
        assert content.splitlines()[line - 1] == lines[path][line], f"diff and oracle disagree: {finding}"
        start = finding.get("start_line")
        if start is not None:
            assert start in lines[path] and start < line, f"bad range: {finding}"
        assert finding["severity"] in ("error", "warning", "info")
        assert isinstance(finding["message"], str) and finding["message"].strip()


# --- running the CLI ---------------------------------------------------------------------------------

def write_config(directory: Path, model: dict[str, object]) -> Path:
    def value(v: object) -> str:
        return json.dumps(v)  # a JSON string or number is a valid TOML one

    model = {"context_window": CONTEXT_WINDOW, "max_new_tokens": MAX_NEW_TOKENS, "temperature": 0.2,
             "timeout_s": 300, **model}
    text = "[model]\n" + "".join(f"{k} = {value(v)}\n" for k, v in model.items())
    text += (f"[budget]\nmax_requests = {MAX_REQUESTS}\nconcurrency = 2\nrequests_per_minute = 600\n"
             "[review]\nmin_severity = \"info\"\n")
    path = directory / "review-bot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def clean_env() -> dict[str, str]:
    """This environment without anything that would steer the bot from outside the test."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("REVIEW_BOT_", "GITHUB_", "HF_")) or k == "REVIEW_BOT_SHARED"}


@dataclass(frozen=True)
class DryRun:
    result: dict[str, Any]
    stderr: str
    elapsed_s: float


def bot_command(command: str, config: Path, workdir: Path) -> tuple[dict[str, Any], str, float]:
    started = time.monotonic()
    child = subprocess.run(
        [sys.executable, "-m", "bot", command, "--diff", str(CASE / "pr.diff"), "--config", str(config),
         "--format", "json"],
        cwd=workdir, env=clean_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    elapsed = time.monotonic() - started
    assert child.returncode == 0, f"{command}: exit {child.returncode}\nstderr:\n{child.stderr[-3000:]}"
    try:
        return json.loads(child.stdout), child.stderr, elapsed
    except json.JSONDecodeError as err:
        raise AssertionError(f"{command}: stdout is not JSON ({err}):\n{child.stdout[:2000]}") from None


def dry_run(config: Path, workdir: Path) -> DryRun:
    result, stderr, elapsed = bot_command("dry-run", config, workdir)
    return DryRun(result, stderr, elapsed)


def check_run(run: DryRun, config: Path, workdir: Path) -> None:
    result = run.result
    assert result["version"] == 1 and result["source"]["kind"] == "diff"
    stats = result["stats"]
    assert 1 <= stats["requests"] <= MAX_REQUESTS
    # Retries are not extra budget: each retry is one more attempt of a planned request.
    assert stats["completion_tokens"] <= (stats["requests"] + stats["retries"]) * MAX_NEW_TOKENS
    assert "Traceback" not in run.stderr
    assert_grounded(result["findings"], CASE)
    # What the plan left out for the budget is listed as skipped by the run, not silently lost.
    plan, _, _ = bot_command("prompts", config, workdir)
    assert len(plan["requests"]) <= MAX_REQUESTS
    run_skips = {(s["path"], s["hunk"], s["reason"]) for s in result["skipped"]}
    plan_skips = {(s["path"], s["hunk"], s["reason"]) for s in plan["skipped"]}
    assert plan_skips <= run_skips, plan_skips - run_skips


def report(capsys: pytest.CaptureFixture[str], route: str, run: DryRun) -> None:
    stats = run.result["stats"]
    with capsys.disabled():
        print(f"\n[e2e {route}] findings kept={len(run.result['findings'])} "
              f"dropped_ungrounded={stats['dropped_ungrounded']} dropped_capped={stats['dropped_capped']} "
              f"requests={stats['requests']} retries={stats['retries']} hunks={stats['hunks_reviewed']}/"
              f"{stats['hunks']} skipped_budget={sum(s['reason'] == 'budget' for s in run.result['skipped'])} "
              f"prompt_tokens={stats['prompt_tokens']} "
              f"completion_tokens={stats['completion_tokens']} run={run.elapsed_s:.1f}s")


# --- route 1: in-process ----------------------------------------------------------------------------

def test_dry_run_in_process_llama_cpp(llama_model_path: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, {"api": "llama-cpp", "model_path": str(llama_model_path),
                                     "model": "SmolLM2-135M-Instruct"})
    run = dry_run(config, tmp_path)
    check_run(run, config, tmp_path)
    report(capsys, "llama-cpp", run)


# --- route 2: llama_cpp.server behind a recording proxy ---------------------------------------------

@dataclass
class Exchange:
    path: str
    request: Any
    status: int
    response: Any


class RecordingProxy:
    """Loopback HTTP proxy in front of the model server that keeps every exchange."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = requests.post(proxy.upstream + self.path, data=body,
                                       headers={"Content-Type": "application/json"}, timeout=RUN_TIMEOUT_S)
                with proxy._lock:
                    proxy.exchanges.append(Exchange(self.path, json.loads(body or b"null"),
                                                    answer.status_code, _json_or_text(answer)))
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _json_or_text(answer: requests.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return answer.text


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(llama_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` on 127.0.0.1, ready to answer; stopped after the module."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(llama_model_path),
             "--model_alias", SERVER_ALIAS, "--host", "127.0.0.1", "--port", str(port),
             "--n_ctx", str(CONTEXT_WINDOW), "--seed", "1234"],
            stdout=log, stderr=subprocess.STDOUT, env=clean_env())
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {server.returncode}:\n"
                            + log_path.read_text(errors="replace")[-3000:])
            try:
                if requests.get(url + "/v1/models", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not answer /v1/models within 180 s:\n"
                            + log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.25)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_dry_run_through_llama_cpp_server(llama_server: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    proxy = RecordingProxy(llama_server)
    try:
        config = write_config(tmp_path, {"api": "openai", "endpoint": proxy.url, "model": SERVER_ALIAS})
        run = dry_run(config, tmp_path)
    finally:
        proxy.close()
    check_run(run, config, tmp_path)
    report(capsys, "openai/llama_cpp.server", run)

    completions = [e for e in proxy.exchanges if e.path.endswith("/v1/completions")]
    assert 1 <= len(completions) == len(proxy.exchanges)
    assert len({json.dumps(e.request["prompt"]) for e in completions}) <= MAX_REQUESTS
    for exchange in completions:
        sent = exchange.request
        assert sent["model"] == SERVER_ALIAS and sent["max_tokens"] == MAX_NEW_TOKENS
        assert isinstance(sent["stop"], list) and len(sent["stop"]) <= 4
        if exchange.status != 200:
            continue
        choice = exchange.response["choices"][0]
        assert exchange.response["usage"]["completion_tokens"] <= MAX_NEW_TOKENS
        for stop in sent["stop"]:
            assert stop not in choice["text"], f"stop string {stop!r} in the answer"
    ok = [e for e in completions if e.status == 200]
    assert ok, f"no request succeeded: {[(e.status, e.response) for e in completions]}"
    assert run.result["stats"]["completion_tokens"] == sum(
        e.response["usage"]["completion_tokens"] for e in ok)


# --- the openai backend alone, against the same server --------------------------------------------

COUNTING = "1, 2, 3, 4, 5, 6, 7, 8,"


def openai_backend(url: str) -> Any:
    from bot.backends.openai import make
    from bot.config import ModelSettings, Settings

    return make(Settings(model=ModelSettings(api="openai", endpoint=url, model=SERVER_ALIAS,
                                             context_window=CONTEXT_WINDOW, max_new_tokens=64)), {})


def test_openai_backend_honours_max_tokens_and_stop_on_llama_server(llama_server: str) -> None:
    from bot.backends.base import GenerationParams

    backend = openai_backend(llama_server)
    short = backend.complete(COUNTING, GenerationParams(max_new_tokens=3, temperature=0.0, top_p=1.0))
    assert short.completion_tokens is not None and short.completion_tokens <= 3
    assert short.prompt_tokens is not None and short.prompt_tokens > 5

    free = backend.complete(COUNTING, GenerationParams(max_new_tokens=24, temperature=0.0, top_p=1.0)).text
    assert len(free.strip()) >= 4, f"the model wrote too little to test stops: {free!r}"
    start = len(free) - len(free.lstrip())
    stop = free[start + 2:start + 4]
    stopped = backend.complete(COUNTING, GenerationParams(max_new_tokens=24, temperature=0.0, top_p=1.0,
                                                          stop=("<never-written>", stop)))
    assert stop not in stopped.text
    assert stopped.text == free[:free.index(stop)]  # greedy decoding repeats itself exactly
    assert stopped.finish_reason == "stop"


def test_openai_backend_maps_a_too_long_prompt_from_llama_server(llama_server: str) -> None:
    from bot.backends.base import GenerationParams, InputTooLongError

    backend = openai_backend(llama_server)
    with pytest.raises(InputTooLongError):
        backend.complete("word " * (CONTEXT_WINDOW + 100),
                         GenerationParams(max_new_tokens=8, temperature=0.0, top_p=1.0))
