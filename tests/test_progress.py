"""No silence during a long model request (issue 17, item 6): "working" lines at a bounded pace.

The pace is checked with an injected clock (Progress(clock=...)), not with sleeps; the HTTP
case runs a slow loopback model through the real client and pipeline.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from bot.backends.events import ModelEvent, TokenCounts
from bot.config import load_settings
from bot.progress import ACTIONS_INTERVAL_S, TERMINAL_INTERVAL_S, Progress, progress_interval
from bot.run import run_review
from bot.sources.diff_file import read_diff_file
from tests.conftest import CORPUS, REPO_ROOT
from tests.servers.model_server import ModelServer

STAMP = re.compile(r"^\[\s*(\d+\.\d)s\]")


def _event(kind: str, at: float, tokens: TokenCounts | None = None) -> ModelEvent:
    return ModelEvent(kind=kind, index=1, total=1, request_id=1, files=("a.py",), elapsed_s=at,  # type: ignore[arg-type]
                      wait_s=at, tokens=tokens)


@pytest.mark.parametrize(("env", "interval"),
                         [({}, TERMINAL_INTERVAL_S), ({"GITHUB_ACTIONS": "true"}, ACTIONS_INTERVAL_S)])
def test_working_lines_come_at_most_once_per_interval(env: dict[str, str], interval: float) -> None:
    now = [0.0]
    out = io.StringIO()
    progress = Progress(stream=out, interval_s=progress_interval(env), clock=lambda: now[0])
    progress.model_event(_event("sending", 0.0))
    for step in range(1, 1201):  # 300 s of reports every 0.25 s, as an in-process model makes them
        now[0] = step * 0.25
        progress.model_event(_event("working", now[0], TokenCounts(read=step, prompt=2000, written=0)))
    progress.model_event(_event("done", now[0]))
    lines = out.getvalue().splitlines()
    working = [float(STAMP.match(line).group(1)) for line in lines if "reading the prompt" in line]  # type: ignore[union-attr]
    assert len(working) == int(300 // interval)
    assert all(b - a >= interval for a, b in zip([0.0, *working], working, strict=False))
    assert lines[0].endswith("sending") and lines[-1].endswith("done")  # steps are never held back
    assert re.search(r"reading the prompt: [\d,]+ of 2,000 tokens", lines[1])


def test_quiet_prints_no_working_lines() -> None:
    now = [100.0]
    out = io.StringIO()
    progress = Progress(verbosity=-1, stream=out, clock=lambda: now[0])
    now[0] = 1000.0
    progress.model_event(_event("working", 900.0))
    assert out.getvalue() == ""


def test_a_slow_server_is_reported_with_its_elapsed_time() -> None:
    out = io.StringIO()
    progress = Progress(stream=out, interval_s=1.0)
    with ModelServer(latency_s=4.0) as srv:
        settings = load_settings(overrides={"model": {"api": "hf", "endpoint": srv.url},
                                            "budget": {"requests_per_minute": 6000}})
        run_review(read_diff_file(str(CORPUS / "jinja" / "2b9035e2df" / "pr.diff")), settings, {}, progress)
    waiting = [line for line in out.getvalue().splitlines() if "waiting for the answer" in line]
    assert waiting, out.getvalue()
    assert all(re.search(r"waiting for the answer, \d+ s so far$", line) for line in waiting)


def test_a_user_sees_the_wait_at_the_terminal_pace_and_not_faster_in_actions() -> None:
    """As a user runs it (subprocesses, side by side): a 13 s answer shows one "waiting" line
    on a terminal (10 s pace) and none in an Actions log (30 s pace)."""
    argv = [sys.executable, "-m", "bot", "dry-run", "--diff", str(CORPUS / "jinja" / "2b9035e2df" / "pr.diff"),
            "--api", "hf"]
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)}
    with ModelServer(latency_s=13.0) as srv:
        runs = {name: subprocess.Popen([*argv, "--endpoint", srv.url], cwd=REPO_ROOT, env={**base, **extra},
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for name, extra in (("terminal", {}), ("actions", {"GITHUB_ACTIONS": "true"}))}
        errs = {name: run.communicate(timeout=120)[1] for name, run in runs.items()}
    assert all(run.returncode == 0 for run in runs.values()), errs
    waiting = {name: re.findall(r"waiting for the answer, (\d+) s so far", err) for name, err in errs.items()}
    assert len(waiting["terminal"]) == 1 and int(waiting["terminal"][0]) >= 10, errs["terminal"]
    assert waiting["actions"] == [], errs["actions"]
