"""GitHub requests per run vs the number of findings (1, 10, 100): the count must stay flat.

Two figures, both against the GitHub emulator (tests/servers/github_server.py), counting every
API call it receives:
- the review sink alone (`GitHubReviewSink.post` with N findings spread over a real diff);
- a whole `review-bot review` run (bot.cli.main) against the loopback model server, whose
  answers name every line of the prompt, with the config's caps lifted so N findings survive.
Each is a ratio to the same measurement with one finding.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import replace
from typing import Any

from bench import CORPUS, BenchConfig, Row
from bot.config import ReviewSettings, Settings
from bot.github.api import ClientOptions, GitHubApi, make_github
from bot.sinks.github_review import GitHubReviewSink
from bot.types import RunResult, RunStats, SourceInfo
from tests.github_helpers import CorpusPR, corpus_pr, findings_on
from tests.servers.github_server import GitHubServer
from tests.servers.model_server import ModelServer

COUNTS = (1, 10, 100)
GOAL = 1.0  # flat: no more requests for 100 findings than for one
REPO = "bench-org/bench-repo"
TOKEN = "ghs_bench_write_token"
# 60 files: room for 100 findings on distinct lines. Without ../shared, the largest vendored case
# (26 files) holds them too.
CASE = "range-c4b8d066-40" if (CORPUS / "jinja" / "range-c4b8d066-40").is_dir() else "20477c6357-R"
OPTIONS = ClientOptions(timeout_s=10, retries=2, backoff_s=0.0, max_wait_s=5.0, secondary_rate_wait_s=0.5,
                        seconds_between_requests=0.0, seconds_between_writes=0.0)
_NUMBERED = re.compile(r"^\s*(\d+) [+ ] ", re.MULTILINE)
_FILE = re.compile(r"^\+\+\+ b/(.+)$", re.MULTILINE)


def emulator(pull: CorpusPR, numbers: range) -> GitHubServer:
    srv = GitHubServer()
    srv.start()
    srv.add_token(TOKEN)
    srv.add_repo(REPO)
    for number in numbers:
        srv.add_pull(REPO, number, pull.diff_text, base_sha=pull.base, head_sha=pull.head)
    return srv


def calls_during(srv: GitHubServer, action: Callable[[], Any]) -> tuple[int, int]:
    """(API calls, POSTs of a review) the emulator received while `action` ran."""
    before = len(srv.calls)
    action()
    made = srv.calls[before:]
    return len(made), sum(1 for c in made if c.method == "POST" and c.path.endswith("/reviews"))


def sink_rows(pull: CorpusPR) -> list[Row]:
    diff = pull.parsed
    settings = replace(Settings(), review=replace(ReviewSettings(), max_comments=max(COUNTS)))
    srv = emulator(pull, range(1, len(COUNTS) + 1))
    counts: dict[int, tuple[int, int]] = {}
    try:
        for number, count in enumerate(COUNTS, 1):
            api = GitHubApi(make_github(TOKEN, srv.url, OPTIONS), REPO)
            info = SourceInfo(kind="pull_request", repo=REPO, pr=number, base_sha=pull.base, head_sha=pull.head)
            result = RunResult(findings=findings_on(diff, count), skipped=(), stats=RunStats(), source_info=info)
            sink = GitHubReviewSink(api, diff, settings)
            counts[count] = calls_during(srv, lambda: sink.post(result))  # noqa: B023 - called at once
    finally:
        srv.stop()
    return _rows("review sink", counts)


def diagnostics_for(prompt: str, payload: dict[str, Any]) -> str:
    """A model that names every numbered new line of the prompt (the `review` template's listing)."""
    out = []
    for section in re.split(r"^(?=\+\+\+ b/)", prompt, flags=re.MULTILINE)[1:]:
        path = _FILE.match(section)
        if path:
            out += [f"{path.group(1)}:{n}: warning: value {n} may be wrong" for n in _NUMBERED.findall(section)]
    return "\n".join(out[:80]) + "\n"


def whole_run_rows(pull: CorpusPR) -> list[Row]:
    from bot.cli import main

    srv = emulator(pull, range(1, len(COUNTS) + 1))
    counts: dict[int, tuple[int, int]] = {}
    posted: dict[int, int] = {}
    try:
        with ModelServer(diagnostics_for) as model:
            env = {"GITHUB_API_URL": srv.url, "GITHUB_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"}
            for number, count in enumerate(COUNTS, 1):
                srv.add_file(REPO, pull.base, ".github/review-bot.toml",
                             f"[review]\nmax_comments = {count}\nmax_comments_per_file = {count}\n"
                             f'min_severity = "info"\n[budget]\nmax_requests = 100\nrequests_per_minute = 6000\n')
                argv = ["review", "--repo", REPO, "--pr", str(number), "--api", "hf", "--endpoint", model.url,
                        "--format", "json", "-q"]
                out, err = io.StringIO(), io.StringIO()

                def review(argv: list[str] = argv, out: io.StringIO = out, err: io.StringIO = err) -> None:
                    with redirect_stdout(out), redirect_stderr(err):
                        code = main(argv, env=env)
                    if code != 0:
                        raise RuntimeError(f"review-bot review exited {code}: {err.getvalue().strip()[-300:]}")

                counts[count] = calls_during(srv, review)
                posted[count] = len(json.loads(out.getvalue())["findings"])
    finally:
        srv.stop()
    rows = _rows("whole `review-bot review` run", counts)
    mismatch = {c: n for c, n in posted.items() if n != c}
    if mismatch:
        rows[-1] = replace(rows[-1], note=rows[-1].note + f"; findings posted instead: {mismatch}")
    return rows


def _rows(what: str, counts: dict[int, tuple[int, int]]) -> list[Row]:
    one = counts[COUNTS[0]][0]
    summary = ", ".join(f"{calls} for {count}" for count, (calls, _) in counts.items())
    posts = ", ".join(str(p) for _, p in counts.values())
    return [Row(family="github", name=f"{what}: API requests with {count} finding{'s' if count > 1 else ''}",
                value=calls, baseline=one, baseline_name=f"with {COUNTS[0]} finding", unit="requests", goal=GOAL,
                note=(f"{what}: requests by findings: {summary}; review POSTs: {posts}"
                      if count == COUNTS[-1] else ""),
                detail={"findings": count, "requests": calls, "review_posts": posts_made})
            for count, (calls, posts_made) in counts.items()]


def run(config: BenchConfig) -> list[Row]:
    pull = corpus_pr(CASE)
    return sink_rows(pull) + whole_run_rows(pull)

