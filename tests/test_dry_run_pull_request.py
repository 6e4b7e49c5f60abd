"""`review-bot dry-run --repo OWNER/NAME --pr N` as a user runs it: a subprocess against the GitHub
emulator and the loopback model (issue 17, item 1).

It reads the pull request (a read-only token, or none for a public repository), posts nothing,
and prints what `review --dry-run` prints: the same pipeline, the review command's path.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping

from tests.conftest import REPO_ROOT
from tests.github_helpers import BOT_TOKEN, READ_TOKEN, REPO, add_corpus_pull, corpus_pr, emulator
from tests.servers.model_server import ModelServer
from tests.test_review_command import diagnostics_for


def run_cli(argv: list[str], env: Mapping[str, str]) -> tuple[int, str, str]:
    """`python -m bot ...` from the worktree: what a user sees."""
    done = subprocess.run([sys.executable, "-m", "bot", *argv], capture_output=True, cwd=REPO_ROOT,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), **env}, timeout=120)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def _model_flags(url: str) -> list[str]:
    return ["--api", "hf", "--endpoint", url, "--min-severity", "info", "--rpm", "6000", "--format", "json"]


def test_dry_run_on_a_pull_request_prints_what_review_would_post_and_writes_nothing() -> None:
    case = corpus_pr("483b62eec2")
    with emulator() as srv, ModelServer(responder=diagnostics_for) as model:
        srv.anonymous_reads = True  # a public repository, as github.com serves it without a token
        add_corpus_pull(srv, 7, case, title="Fix things", body="Please review.")
        github = {"GITHUB_API_URL": srv.url}
        code, review_out, err = run_cli(["review", "--repo", REPO, "--pr", "7", "--dry-run",
                                         *_model_flags(model.url)], {**github, "GITHUB_TOKEN": BOT_TOKEN})
        assert code == 0, err
        would_post = json.loads(review_out)["findings"]
        assert would_post, "the model flags a line of each file: there is something to post"
        for token in (READ_TOKEN, None):  # a fork's read-only token; none at all for a public repository
            env = {**github, "GITHUB_TOKEN": token} if token else github
            code, out, err = run_cli(["dry-run", "--repo", REPO, "--pr", "7", *_model_flags(model.url)], env)
            assert code == 0, err
            assert json.loads(out)["findings"] == would_post
            assert json.loads(out)["source"]["pr"] == 7
            if token is None:
                assert "anonymously" in err
        writes = [(c.method, c.path) for c in srv.calls if c.method != "GET"]
        assert writes == [], writes
        # What the dry run printed is what a real review posts, line for line.
        code, _, err = run_cli(["review", "--repo", REPO, "--pr", "7", *_model_flags(model.url)],
                               {**github, "GITHUB_TOKEN": BOT_TOKEN})
        assert code == 0, err
        [post] = srv.calls_to("POST", r"/pulls/7/reviews$")
        posted = sorted((c["path"], c["line"]) for c in post.json["comments"])
        assert posted == sorted((f["path"], f["line"]) for f in would_post)


def test_a_pull_request_and_a_local_source_together_is_a_usage_error(tmp_path: object) -> None:
    for local in (["--diff", "x.diff"], ["--git", "a..b"]):
        for pr in (["--repo", REPO, "--pr", "7"], ["--pr", "7"], ["--repo", REPO]):
            code, out, err = run_cli(["dry-run", *local, *pr], {})
            assert code == 2 and out == ""
            lines = [line for line in err.splitlines() if line.strip()]
            assert len(lines) == 1 and "Traceback" not in err, err
            assert local[0] in lines[0] and pr[0] in lines[0], lines[0]
