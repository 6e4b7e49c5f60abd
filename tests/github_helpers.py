"""Helpers for the tests that talk to the GitHub emulator: tokens, clients, corpus PRs, git."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.diff.parse import parse_diff
from bot.github.api import ClientOptions, GitHubApi, make_github
from bot.types import Finding, ParsedDiff, RunResult, RunStats, Severity, Side, Skipped, SourceInfo
from tests.conftest import corpus_case
from tests.servers.github_server import GitHubServer

REPO = "octo-org/octo-repo"
BOT_TOKEN = "ghs_bot_write_token"  # installation token of github-actions[bot]: GET /user -> 403
READ_TOKEN = "ghs_bot_read_token"  # what a fork PR gets under `pull_request`
USER_TOKEN = "ghp_alice_personal"  # a personal token: GET /user answers alice
FAST = ClientOptions(timeout_s=10, retries=2, backoff_s=0.0, max_wait_s=5.0, secondary_rate_wait_s=0.5,
                     seconds_between_requests=0.0, seconds_between_writes=0.0)


@contextmanager
def emulator() -> Iterator[GitHubServer]:
    with GitHubServer() as srv:
        srv.add_token(BOT_TOKEN)
        srv.add_token(READ_TOKEN, scope="read")
        srv.add_token(USER_TOKEN, login="alice", installation=False)
        srv.add_repo(REPO)
        yield srv


def api_for(srv: GitHubServer, token: str = BOT_TOKEN, options: ClientOptions = FAST) -> GitHubApi:
    return GitHubApi(make_github(token, srv.url, options), REPO)


@dataclass(frozen=True)
class CorpusPR:
    name: str
    diff_text: str
    base: str
    head: str

    @property
    def parsed(self) -> ParsedDiff:
        return parse_diff(self.diff_text)


def corpus_pr(name: str) -> CorpusPR:
    """One jinja corpus case as a pull request (the test skips if the case is not here)."""
    folder = corpus_case(name)
    oracle = json.loads((folder / "oracle.json").read_text(encoding="utf-8"))
    return CorpusPR(name, (folder / "pr.diff").read_text(encoding="utf-8"), oracle["base"], oracle["head"])


def add_corpus_pull(srv: GitHubServer, number: int, case: CorpusPR, **kwargs: object) -> None:
    srv.add_pull(REPO, number, case.diff_text, base_sha=case.base, head_sha=case.head, **kwargs)  # type: ignore[arg-type]


def fingerprint(*parts: object) -> str:
    return hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()[:12]


def commentable_spots(diff: ParsedDiff, side: Side = "RIGHT") -> list[tuple[str, int]]:
    """Every (path, line) of the diff GitHub accepts a comment on, in diff order."""
    spots: list[tuple[str, int]] = []
    for file in diff.files:
        for hunk in file.hunks:
            spots += [(file.path, n) for n in sorted(hunk.commentable(side))]
    return spots


def findings_on(diff: ParsedDiff, count: int, severity: Severity = "warning",
                tag: str = "") -> tuple[Finding, ...]:
    """`count` findings on distinct real lines of `diff` (RIGHT side), spread over the files."""
    spots = commentable_spots(diff)
    if count > len(spots):
        raise ValueError(f"the diff has only {len(spots)} commentable lines")
    step = max(1, len(spots) // count)
    chosen = [spots[i * step] for i in range(count)]
    return tuple(Finding(path=p, line=n, side="RIGHT", start_line=None, severity=severity,
                         message=f"possible bug {tag}{i}: check this value", suggestion=None,
                         fingerprint=fingerprint(p, n, tag, i))
                 for i, (p, n) in enumerate(chosen))


def run_result(findings: tuple[Finding, ...], head: str, pr: int, base: str = "0" * 40,
               skipped: tuple[Skipped, ...] = ()) -> RunResult:
    info = SourceInfo(kind="pull_request", repo=REPO, pr=pr, base_sha=base, head_sha=head)
    return RunResult(findings=findings, skipped=skipped, stats=RunStats(files=1, hunks=1, hunks_reviewed=1,
                                                                        requests=1),
                     source_info=info, model="bigcode/starcoder2-15b", template="review")


# -- real git repositories for incremental reviews -------------------------------------------

def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com",
                           "-c", "commit.gpgsign=false", *args], cwd=repo, capture_output=True,
                          text=True, check=True)
    return done.stdout


def git_history(repo: Path, versions: list[Mapping[str, str]]) -> list[str]:
    """Commit each version of the files (path -> text) in turn; return the commit shas."""
    repo.mkdir(parents=True, exist_ok=True)
    _git(repo, "init", "-q")
    shas: list[str] = []
    for i, files in enumerate(versions):
        for path, text in files.items():
            target = repo / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "--allow-empty", "-m", f"v{i}")
        shas.append(_git(repo, "rev-parse", "HEAD").strip())
    return shas


def git_diff(repo: Path, base: str, head: str) -> str:
    return _git(repo, "diff", "--no-color", "--no-ext-diff", "--find-renames", base, head)
