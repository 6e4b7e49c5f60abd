"""Commit statuses in the emulator: GitHub's validation, newest first, and PyGithub reads them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.github_server import GitHubServer
from tests.servers.test_github_server import BASE, HEAD, READ_TOKEN, REPO, SMALL_DIFF, TOKEN, api, gh


@pytest.fixture
def srv() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        server.add_token(TOKEN)
        server.add_token(READ_TOKEN, scope="read")
        server.add_repo(REPO)
        server.add_pull(REPO, 7, SMALL_DIFF, base_sha=BASE, head_sha=HEAD)
        yield server


def test_a_status_is_created_and_listed_newest_first(srv: GitHubServer) -> None:
    for description in ("first", "second"):
        answer = api(srv, "POST", f"/repos/{REPO}/statuses/{HEAD}",
                     json={"state": "success", "context": "review-bot", "description": description})
        assert answer.status_code == 201, answer.text
        assert answer.json()["creator"]["login"] == "github-actions[bot]"
    listed = api(srv, "GET", f"/repos/{REPO}/commits/{HEAD}/statuses").json()
    assert [s["description"] for s in listed] == ["second", "first"]
    statuses = list(gh(srv).get_repo(REPO).get_commit(HEAD).get_statuses())
    assert [s.context for s in statuses] == ["review-bot", "review-bot"]


@pytest.mark.parametrize(("payload", "sha", "status", "needle"), [
    ({"state": "done"}, HEAD, 422, "state is not included in the list"),
    ({}, HEAD, 422, "state is not included in the list"),
    ({"state": "success"}, "f" * 40, 422, "No commit found for SHA"),
    ({"state": "success", "description": "x" * 141}, HEAD, 422, "description is too long"),
    ({"state": "success", "target_url": "javascript:x"}, HEAD, 422, "target_url"),
])
def test_invalid_statuses_are_refused_like_github(srv: GitHubServer, payload: dict[str, object], sha: str,
                                                  status: int, needle: str) -> None:
    answer = api(srv, "POST", f"/repos/{REPO}/statuses/{sha}", json=payload)
    assert answer.status_code == status and needle in answer.text
    assert srv.statuses(REPO, HEAD) == []


def test_a_read_only_token_may_not_set_a_status(srv: GitHubServer) -> None:
    answer = api(srv, "POST", f"/repos/{REPO}/statuses/{HEAD}", token=READ_TOKEN, json={"state": "success"})
    assert answer.status_code == 403 and "Resource not accessible by integration" in answer.text
    assert api(srv, "GET", f"/repos/{REPO}/commits/{'e' * 40}/statuses").status_code == 404
