"""The GitHub emulator, driven over real HTTP by PyGithub and requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import unidiff
from github import Auth, Github, GithubException
from github.GithubException import BadCredentialsException, RateLimitExceededException, UnknownObjectException

from tests.conftest import CORPUS, EVENTS, JINJA_CASES, UNIDIFF_SAMPLES, corpus_case
from tests.servers.github_server import LINE_ERROR_LEGACY, GitHubServer
from tests.servers.github_state import parse_diff

REPO = "octo/widgets"
TOKEN = "ghs_write_token"
READ_TOKEN = "ghs_read_token"
BASE = "b" * 40
HEAD = "a" * 40
HEAD2 = "c" * 40
DIFF_MEDIA = "application/vnd.github.v3.diff"

# Two hunks in src/app.py and an added README.md ("\x20" is an empty context line).
# RIGHT-commentable: 1-5 and 21-24; LEFT-commentable: 1-4 and 20-22; README.md RIGHT 1-2.
SMALL_DIFF = """\
diff --git a/src/app.py b/src/app.py
index 1111111..2222222 100644
--- a/src/app.py
+++ b/src/app.py
@@ -1,4 +1,5 @@
 import os
-import sys
+import sys, re
+import json
\x20
 def main():
@@ -20,3 +21,4 @@ def main():
     x = 1
     y = 2
+    z = 3
     return x
diff --git a/README.md b/README.md
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/README.md
@@ -0,0 +1,2 @@
+# Title
+text
"""

PUSH_DIFF = """\
diff --git a/src/app.py b/src/app.py
index 1111111..4444444 100644
--- a/src/app.py
+++ b/src/app.py
@@ -40,2 +40,3 @@ def other():
     a = 1
+    b = 2
     return a
"""


def read_diff(path: Path) -> str:
    # Bytes, not read_text(): universal newlines would turn a CR inside a diff line into a line break.
    return path.read_bytes().decode("utf-8", errors="surrogateescape")


@pytest.fixture
def srv() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        server.add_token(TOKEN)
        server.add_token(READ_TOKEN, scope="read")
        server.add_repo(REPO)
        server.add_pull(REPO, 7, SMALL_DIFF, base_sha=BASE, head_sha=HEAD, title="Add things", body=None)
        yield server


def gh(server: GitHubServer, token: str = TOKEN) -> Github:
    return Github(
        base_url=server.url,
        auth=Auth.Token(token),
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )


def api(
    server: GitHubServer, method: str, path: str, token: str | None = TOKEN, **kw: Any
) -> requests.Response:
    headers = dict(kw.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, server.url + path, headers=headers, timeout=10, **kw)


def content_of(repo: Any, path: str, ref: str) -> bytes:
    found = repo.get_contents(path, ref=ref)
    assert not isinstance(found, list)
    return bytes(found.decoded_content)


def review_payload(comments: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"commit_id": HEAD, "body": "bot review", "event": "COMMENT", "comments": comments, **extra}


# ---- the diff oracle ------------------------------------------------------------------


@pytest.mark.parametrize("case", JINJA_CASES, ids=lambda p: p.name)
def test_commentable_lines_match_the_real_file_contents(case: Path) -> None:
    oracle = json.loads((case / "oracle.json").read_text(encoding="utf-8"))["files"]
    files = parse_diff(read_diff(case / "pr.diff"))
    assert {f.filename for f in files} == set(oracle)
    status_of = {"M": "modified", "A": "added", "D": "removed", "R": "renamed", "C": "copied"}
    for f in files:
        truth = oracle[f.filename]
        assert f.status == status_of[truth["status"][0]], f.filename
        if f.status == "renamed":
            assert f.previous_filename == truth["old_path"]
        new = truth["new"].split("\n") if truth["new"] is not None else []
        old = truth["old"].split("\n") if truth["old"] is not None else []
        for no, pl in f.right.items():
            assert pl.kind in "+ "
            assert (
                f.hunks[pl.hunk].text[pl.position - f.hunks[pl.hunk].lines[0].position + 1][1:] == new[no - 1]
            )
        for no, pl in f.left.items():
            assert pl.kind in "- "
            assert (
                f.hunks[pl.hunk].text[pl.position - f.hunks[pl.hunk].lines[0].position + 1][1:] == old[no - 1]
            )
        assert sum(1 for pl in f.right.values() if pl.kind == "+") == f.additions


# Plain git diffs only: unidiff keeps quoted names quoted, and git_rename.diff's header is hand-made.
GIT_SAMPLES = [
    p
    for p in UNIDIFF_SAMPLES
    if read_diff(p).startswith("diff --git") and "quoted" not in p.name and p.name != "git_rename.diff"
]


@pytest.mark.parametrize("sample", GIT_SAMPLES, ids=lambda p: p.name)
def test_file_split_agrees_with_unidiff_on_git_samples(sample: Path) -> None:
    text = read_diff(sample)
    ours = [(f.filename, f.additions, f.deletions) for f in parse_diff(text)]
    theirs = [(f.path, f.added, f.removed) for f in unidiff.PatchSet(text)]
    assert ours == theirs


def test_quoted_and_spaced_names_are_decoded() -> None:
    by_name = {s.name: s for s in UNIDIFF_SAMPLES}
    assert [f.filename for f in parse_diff(read_diff(by_name["git_quoted_filename.diff"]))] == [
        "A \u00e2 B.py"
    ]
    assert [f.filename for f in parse_diff(read_diff(by_name["git_filenames_with_spaces.diff"]))] == [
        "has spaces/t.sql"
    ]


def test_positions_count_later_hunk_headers() -> None:
    app = parse_diff(SMALL_DIFF)[0]
    assert app.by_position[1].new_no == 1
    assert app.by_position[2].kind == "-" and app.by_position[2].old_no == 2
    assert 7 not in app.by_position  # the second @@ line
    assert app.by_position[10].new_no == 23
    assert sorted(app.right) == [1, 2, 3, 4, 5, 21, 22, 23, 24]
    assert sorted(app.left) == [1, 2, 3, 4, 20, 21, 22]


def test_malformed_hunk_is_refused() -> None:
    with pytest.raises(ValueError, match="malformed hunk"):
        parse_diff("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n-b\n-c\n")


# ---- pull requests, diffs, files ----------------------------------------------------------


def test_pygithub_reads_the_pull_request(srv: GitHubServer) -> None:
    pr = gh(srv).get_repo(REPO).get_pull(7)
    assert (pr.number, pr.title, pr.body, pr.draft, pr.state) == (7, "Add things", None, False, "open")
    assert pr.head.sha == HEAD and pr.base.sha == BASE and pr.base.ref == "main"
    assert pr.head.repo.full_name == REPO and pr.head.repo.fork is False
    assert pr.user.login == "octocat"
    assert (pr.changed_files, pr.additions, pr.deletions) == (2, 5, 1)
    assert pr.url == f"{srv.url}/repos/{REPO}/pulls/7"


def test_fork_pull_request_has_a_fork_head_repo(srv: GitHubServer) -> None:
    srv.add_pull(REPO, 8, SMALL_DIFF, BASE, HEAD, title="From a fork", fork=True, user="stranger", draft=True)
    pr = gh(srv).get_repo(REPO).get_pull(8)
    assert pr.head.repo.fork is True and pr.head.repo.full_name == "stranger/widgets"
    assert pr.base.repo.full_name == REPO and pr.draft is True


def test_diff_media_type_returns_the_raw_diff(srv: GitHubServer) -> None:
    for accept in (DIFF_MEDIA, "application/vnd.github.diff"):
        r = api(srv, "GET", f"/repos/{REPO}/pulls/7", headers={"Accept": accept})
        assert r.status_code == 200 and r.text == SMALL_DIFF
        assert "x-ratelimit-remaining" in r.headers


def test_too_large_diff_answers_406_like_github(srv: GitHubServer) -> None:
    srv.diff_limit_lines = 10
    r = api(srv, "GET", f"/repos/{REPO}/pulls/7", headers={"Accept": DIFF_MEDIA})
    assert r.status_code == 406
    body = r.json()
    assert body["message"] == "Sorry, the diff exceeded the maximum number of lines (10)"
    assert body["errors"] == [{"resource": "PullRequest", "field": "diff", "code": "too_large"}]
    srv.diff_limit_lines, srv.diff_limit_files = 20000, 1
    body = api(srv, "GET", f"/repos/{REPO}/pulls/7", headers={"Accept": DIFF_MEDIA}).json()
    assert body["message"].startswith("Sorry, the diff exceeded the maximum number of files (1).")
    # The JSON representation and the files list still work.
    assert api(srv, "GET", f"/repos/{REPO}/pulls/7/files").status_code == 200


def test_files_are_paginated_with_link_headers(srv: GitHubServer) -> None:
    text = read_diff(corpus_case("range-40e70b82-8") / "pr.diff")
    expected = parse_diff(text)
    assert len(expected) > 60
    srv.add_pull(REPO, 9, text, BASE, HEAD, title="big")
    files = list(gh(srv).get_repo(REPO).get_pull(9).get_files())
    assert [f.filename for f in files] == [f.filename for f in expected]
    assert [f.patch for f in files] == [f.patch for f in expected]
    assert len(srv.calls_to("GET", r"/pulls/9/files$")) == -(-len(expected) // 30)

    first = api(srv, "GET", f"/repos/{REPO}/pulls/9/files", params={"per_page": 30})
    links = requests.utils.parse_header_links(first.headers["Link"])
    assert [link["rel"] for link in links] == ["next", "last"]
    assert links[0]["url"].endswith("/pulls/9/files?per_page=30&page=2")
    assert "/repositories/" in links[0]["url"]
    last = requests.get(links[1]["url"], headers={"Authorization": f"token {TOKEN}"}, timeout=10)
    assert [link["rel"] for link in requests.utils.parse_header_links(last.headers["Link"])] == [
        "prev",
        "first",
    ]
    assert [f["filename"] for f in last.json()] == [f.filename for f in expected[60:]]


def test_files_entries_match_github_shapes() -> None:
    with GitHubServer() as server:
        server.add_token(TOKEN)
        case = CORPUS / "jinja"
        server.add_pull(REPO, 1, read_diff(case / "4b6077a8c0" / "pr.diff"), BASE, HEAD)
        server.add_pull(
            REPO,
            2,
            read_diff(case / "180816e571-R" / "pr.diff"),
            BASE,
            HEAD,
            files_override={"pre-commit.yaml": {}},
        )
        binary = {f["filename"]: f for f in api(server, "GET", f"/repos/{REPO}/pulls/1/files").json()}
        assert binary["tests/res/package.zip"]["status"] == "added"
        assert "patch" not in binary["tests/res/package.zip"]
        assert binary["CHANGES.rst"]["patch"].startswith("@@ ")
        (renamed,) = api(server, "GET", f"/repos/{REPO}/pulls/2/files").json()
        assert renamed["status"] == "renamed" and renamed["previous_filename"] == "pre-commit.yaml"
        assert renamed["filename"] == ".github/workflows/pre-commit.yaml" and "patch" not in renamed
        server.add_pull(REPO, 3, SMALL_DIFF, BASE, HEAD, files_override={"src/app.py": {"patch": None}})
        app = api(server, "GET", f"/repos/{REPO}/pulls/3/files").json()[0]
        assert "patch" not in app and app["changes"] == 4


# ---- reviews ------------------------------------------------------------------------------------


def test_valid_review_with_comments_lands_once(srv: GitHubServer) -> None:
    g = gh(srv)
    repo = g.get_repo(REPO)
    pr = repo.get_pull(7)
    comments: list[Any] = [
        {"path": "src/app.py", "line": 3, "side": "RIGHT", "body": "unused import"},
        {"path": "src/app.py", "line": 2, "side": "LEFT", "body": "why drop sys?"},
        {"path": "src/app.py", "start_line": 21, "line": 23, "body": "range"},
        {"path": "README.md", "line": 1, "body": "title"},
    ]
    review = pr.create_review(
        commit=repo.get_commit(HEAD), body="Summary", event="COMMENT", comments=comments
    )
    assert (
        review.state == "COMMENTED"
        and review.commit_id == HEAD
        and review.user.login == "github-actions[bot]"
    )
    assert len(srv.calls_to("POST", r"/pulls/7/reviews$")) == 1
    posted = srv.calls_to("POST", r"/pulls/7/reviews$")[0].json
    assert posted["event"] == "COMMENT" and posted["comments"] == comments
    listed = list(pr.get_review_comments())
    assert [(c.path, c.line, c.side, c.start_line) for c in listed] == [
        ("src/app.py", 3, "RIGHT", None),
        ("src/app.py", 2, "LEFT", None),
        ("src/app.py", 23, "RIGHT", 21),
        ("README.md", 1, "RIGHT", None),
    ]
    assert all(c.pull_request_review_id == review.id and c.commit_id == HEAD for c in listed)
    assert listed[0].diff_hunk == "@@ -1,4 +1,5 @@\n import os\n-import sys\n+import sys, re\n+import json"
    assert [r.id for r in pr.get_reviews()] == [review.id]
    assert pr.get_review(review.id).body == "Summary"
    assert len(list(pr.get_single_review_comments(review.id))) == 4


@pytest.mark.parametrize(
    ("comment", "error"),
    [
        ({"path": "src/app.py", "line": 10, "body": "outside any hunk"}, "Line could not be resolved"),
        (
            {"path": "src/app.py", "line": 5, "side": "LEFT", "body": "LEFT has no line 5"},
            "Line could not be resolved",
        ),
        (
            {"path": "src/app.py", "line": 23, "side": "LEFT", "body": "added line on LEFT"},
            "Line could not be resolved",
        ),
        ({"path": "nope.py", "line": 1, "body": "not in the PR"}, "Path could not be resolved"),
        (
            {"path": "src/app.py", "start_line": 4, "line": 22, "body": "crosses hunks"},
            "Pull request review thread start line must be part of the same hunk as the line.",
        ),
        (
            {"path": "src/app.py", "start_line": 3, "line": 3, "body": "empty range"},
            "Pull request review thread start line must precede the end line.",
        ),
    ],
)
def test_one_off_diff_comment_refuses_the_whole_review(
    srv: GitHubServer, comment: dict[str, Any], error: str
) -> None:
    good = {"path": "src/app.py", "line": 1, "body": "fine"}
    r = api(srv, "POST", f"/repos/{REPO}/pulls/7/reviews", json=review_payload([good, comment]))
    assert r.status_code == 422
    assert r.json()["message"] == "Unprocessable Entity" and r.json()["errors"] == [error]
    assert "documentation_url" in r.json()
    assert srv.reviews(REPO, 7) == [] and srv.review_comments(REPO, 7) == []


def test_off_diff_comment_through_pygithub_and_legacy_wording(srv: GitHubServer) -> None:
    srv.line_error = LINE_ERROR_LEGACY
    pr = gh(srv).get_repo(REPO).get_pull(7)
    with pytest.raises(GithubException) as info:
        pr.create_review(
            body="x", event="COMMENT", comments=[{"path": "src/app.py", "line": 99, "body": "b"}]
        )
    assert info.value.status == 422
    assert info.value.data["errors"] == [LINE_ERROR_LEGACY]
    assert srv.reviews(REPO, 7) == []


def test_legacy_position_is_mapped_to_line_and_side(srv: GitHubServer) -> None:
    comments = [
        {"path": "src/app.py", "position": 2, "body": "deleted"},
        {"path": "src/app.py", "position": 10, "body": "z"},
    ]
    assert (
        api(srv, "POST", f"/repos/{REPO}/pulls/7/reviews", json=review_payload(comments)).status_code == 200
    )
    assert [(c["line"], c["side"], c["position"]) for c in srv.review_comments(REPO, 7)] == [
        (2, "LEFT", 2),
        (23, "RIGHT", 10),
    ]
    bad = [{"path": "src/app.py", "position": 7, "body": "a hunk header"}]
    assert api(srv, "POST", f"/repos/{REPO}/pulls/7/reviews", json=review_payload(bad)).status_code == 422


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {"body": None, "event": "COMMENT"},
            "Invalid request.\n\nFor 'properties/body', nil is not a string.",
        ),
        (
            {"body": "x", "event": "SHOUT"},
            "Invalid request.\n\nFor 'properties/event', \"SHOUT\" is not one of",
        ),
        (
            {"body": "x", "event": "COMMENT", "comments": [{"path": "a", "line": "3", "body": "b"}]},
            "Invalid request.\n\nFor 'properties/line', \"3\" is not an integer.",
        ),
        (
            {"body": "x", "event": "COMMENT", "comments": [{"line": 3, "body": "b"}]},
            'Invalid request.\n\n"path" wasn\'t supplied.',
        ),
    ],
)
def test_schema_errors_read_like_github(srv: GitHubServer, payload: dict[str, Any], message: str) -> None:
    r = api(srv, "POST", f"/repos/{REPO}/pulls/7/reviews", json=payload)
    assert r.status_code == 422 and r.json()["message"].startswith(message)


def test_review_rules_for_body_commit_and_json(srv: GitHubServer) -> None:
    url = f"/repos/{REPO}/pulls/7/reviews"
    r = api(srv, "POST", url, json={"event": "COMMENT", "body": "  "})
    assert r.status_code == 422 and r.json()["errors"] == ["Review body is required"]
    r = api(srv, "POST", url, json={"event": "COMMENT", "body": "x", "commit_id": "f" * 40})
    assert r.status_code == 422 and r.json()["errors"] == ["The commitOID is not part of the pull request"]
    r = api(srv, "POST", url, json={"event": "COMMENT", "body": "x" * 65537})
    assert r.status_code == 422 and "too long" in r.json()["errors"][0]
    r = api(srv, "POST", url, data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["message"] == "Problems parsing JSON"
    r = api(srv, "POST", url, json={"event": "APPROVE"})
    assert r.status_code == 422 and r.json()["errors"] == [
        "GitHub Actions is not permitted to approve pull requests."
    ]
    assert srv.reviews(REPO, 7) == []
    # Approving without a body is fine once the repository allows it.
    srv.actions_can_approve = True
    assert api(srv, "POST", url, json={"event": "APPROVE"}).json()["state"] == "APPROVED"


def test_pending_review_blocks_the_next_one(srv: GitHubServer) -> None:
    pr = gh(srv).get_repo(REPO).get_pull(7)
    pending = pr.create_review(body="draft")  # PyGithub sends no event: GitHub keeps it PENDING
    assert "event" not in srv.calls_to("POST", r"/reviews$")[0].json
    assert pending.state == "PENDING"
    with pytest.raises(GithubException) as info:
        pr.create_review(body="real", event="COMMENT")
    assert info.value.status == 422
    assert info.value.data["errors"] == ["User can only have one pending review per pull request"]
    # Only its author sees a pending review.
    srv.add_token("ghp_other", login="someone", installation=False)
    assert list(gh(srv, "ghp_other").get_repo(REPO).get_pull(7).get_reviews()) == []
    assert [r.id for r in pr.get_reviews()] == [pending.id]
    # Deleting it unblocks the next review; a submitted one cannot be deleted.
    assert api(srv, "DELETE", f"/repos/{REPO}/pulls/7/reviews/{pending.id}").status_code == 200
    done = pr.create_review(body="real", event="COMMENT")
    r = api(srv, "DELETE", f"/repos/{REPO}/pulls/7/reviews/{done.id}")
    assert r.status_code == 422


def test_pending_review_can_be_submitted(srv: GitHubServer) -> None:
    url = f"/repos/{REPO}/pulls/7/reviews"
    pending = api(srv, "POST", url, json={"comments": [{"path": "README.md", "line": 2, "body": "x"}]}).json()
    assert pending["state"] == "PENDING" and "submitted_at" not in pending
    assert api(srv, "GET", f"/repos/{REPO}/pulls/7/comments").json() == []  # not public yet
    r = api(srv, "POST", f"{url}/{pending['id']}/events", json={"event": "COMMENT"})
    assert r.status_code == 200 and r.json()["state"] == "COMMENTED" and "submitted_at" in r.json()
    assert [c["line"] for c in api(srv, "GET", f"/repos/{REPO}/pulls/7/comments").json()] == [2]


def test_read_only_token_cannot_post(srv: GitHubServer) -> None:
    pr = gh(srv, READ_TOKEN).get_repo(REPO).get_pull(7)
    with pytest.raises(GithubException) as info:
        pr.create_review(body="x", event="COMMENT")
    assert info.value.status == 403
    assert info.value.data["message"] == "Resource not accessible by integration"
    r = api(srv, "POST", f"/repos/{REPO}/issues/7/comments", token=READ_TOKEN, json={"body": "hi"})
    assert r.status_code == 403
    assert srv.reviews(REPO, 7) == [] and srv.issue_comments(REPO, 7) == []


def test_authentication(srv: GitHubServer) -> None:
    with pytest.raises(BadCredentialsException):
        gh(srv, "ghs_unknown").get_repo(REPO)
    r = api(srv, "GET", f"/repos/{REPO}", token=None)
    assert r.status_code == 401 and r.json()["message"] == "Requires authentication"
    r = api(srv, "GET", f"/repos/{REPO}", headers={"Authorization": f"token {TOKEN}"}, token=None)
    assert r.status_code == 200 and r.json()["permissions"]["push"] is True


def test_synchronize_moves_the_head_and_old_commit_still_validates(srv: GitHubServer) -> None:
    srv.push(REPO, 7, PUSH_DIFF, HEAD2)
    pr = gh(srv).get_repo(REPO).get_pull(7)
    assert pr.head.sha == HEAD2
    assert [f.filename for f in pr.get_files()] == ["src/app.py"]
    url = f"/repos/{REPO}/pulls/7/reviews"
    new_line = [{"path": "src/app.py", "line": 41, "body": "b"}]
    assert api(srv, "POST", url, json={"commit_id": HEAD2, "event": "COMMENT", "comments": new_line}).ok
    # Against the old head, line 41 is not on the diff but README.md line 1 is.
    r = api(srv, "POST", url, json={"commit_id": HEAD, "event": "COMMENT", "comments": new_line})
    assert r.status_code == 422
    old_line = [{"path": "README.md", "line": 1, "body": "b"}]
    assert api(srv, "POST", url, json={"commit_id": HEAD, "event": "COMMENT", "comments": old_line}).ok
    # Without commit_id the review goes on the current head.
    assert api(srv, "POST", url, json={"event": "COMMENT", "body": "x"}).json()["commit_id"] == HEAD2


# ---- faults and rate limits -----------------------------------------------------------------


def test_502_after_the_review_landed(srv: GitHubServer) -> None:
    srv.fail_next("POST", r"/pulls/7/reviews$", 502, after_effect=True)
    pr = gh(srv).get_repo(REPO).get_pull(7)
    with pytest.raises(GithubException) as info:
        pr.create_review(body="once", event="COMMENT")
    assert info.value.status == 502
    assert [r["body"] for r in srv.reviews(REPO, 7)] == ["once"]
    # The fault is spent: a blind retry would now post a duplicate.
    pr.create_review(body="once", event="COMMENT")
    assert len(srv.reviews(REPO, 7)) == 2


def test_fault_before_effect_changes_nothing(srv: GitHubServer) -> None:
    srv.fail_next("POST", r"/reviews$", 500, body="<html>unicorn</html>", times=2)
    url = f"/repos/{REPO}/pulls/7/reviews"
    for _ in range(2):
        r = api(srv, "POST", url, json={"event": "COMMENT", "body": "x"})
        assert r.status_code == 500 and r.text == "<html>unicorn</html>"
    assert srv.reviews(REPO, 7) == []
    assert api(srv, "POST", url, json={"event": "COMMENT", "body": "x"}).status_code == 200


def test_secondary_rate_limit(srv: GitHubServer) -> None:
    srv.fail_secondary_rate_limit("POST", r"/reviews$", retry_after=1)
    r = api(srv, "POST", f"/repos/{REPO}/pulls/7/reviews", json={"event": "COMMENT", "body": "x"})
    assert r.status_code == 403 and r.headers["Retry-After"] == "1"
    assert r.json()["message"].startswith("You have exceeded a secondary rate limit")
    assert srv.reviews(REPO, 7) == []


def test_primary_rate_limit(srv: GitHubServer) -> None:
    srv.set_rate_limit(remaining=2)
    g = gh(srv)
    repo = g.get_repo(REPO)
    assert repo.get_pull(7).number == 7
    with pytest.raises(RateLimitExceededException):
        repo.get_pull(7)
    r = api(srv, "GET", "/rate_limit")
    assert r.status_code == 200 and r.json()["resources"]["core"]["remaining"] == 0
    assert r.headers["x-ratelimit-remaining"] == "0"
    srv.set_rate_limit(remaining=100)
    srv.fail_primary_rate_limit("GET", r"/pulls/7$", status=429)
    r = api(srv, "GET", f"/repos/{REPO}/pulls/7")
    assert r.status_code == 429 and r.headers["x-ratelimit-remaining"] == "0"
    assert int(r.headers["x-ratelimit-reset"]) > 0
    assert r.json()["message"].startswith("API rate limit exceeded")


# ---- other endpoints ---------------------------------------------------------------------------


def test_contents_api(srv: GitHubServer) -> None:
    toml = '[review]\nmin_severity = "warning"\n'
    srv.add_file(REPO, "main", ".github/review-bot.toml", toml)
    srv.add_file(REPO, HEAD, ".github/review-bot.toml", "[review]\nevil = true\n")
    repo = gh(srv).get_repo(REPO)
    assert content_of(repo, ".github/review-bot.toml", "main").decode() == toml
    assert content_of(repo, ".github/review-bot.toml", BASE).decode() == toml  # base sha = base branch
    assert b"evil" in content_of(repo, ".github/review-bot.toml", HEAD)
    with pytest.raises(UnknownObjectException):
        repo.get_contents("missing.toml", ref="main")
    r = api(srv, "GET", f"/repos/{REPO}/contents/.github/review-bot.toml", params={"ref": "nope"})
    assert r.status_code == 404 and r.json()["message"] == "No commit found for the ref nope"
    raw = api(
        srv,
        "GET",
        f"/repos/{REPO}/contents/.github/review-bot.toml",
        headers={"Accept": "application/vnd.github.raw"},
    )
    assert raw.text == toml
    listing = api(srv, "GET", f"/repos/{REPO}/contents/.github").json()
    assert [(e["name"], e["type"]) for e in listing] == [("review-bot.toml", "file")]


def test_compare_api(srv: GitHubServer) -> None:
    srv.push(REPO, 7, PUSH_DIFF, HEAD2)
    srv.add_compare(REPO, HEAD, HEAD2, PUSH_DIFF)
    cmp = gh(srv).get_repo(REPO).compare(HEAD, HEAD2)
    assert (cmp.status, cmp.ahead_by, cmp.behind_by) == ("ahead", 1, 0)
    assert [(f.filename, f.patch) for f in cmp.files] == [
        ("src/app.py", PUSH_DIFF.split("\n", 4)[4].rstrip("\n"))
    ]
    assert cmp.merge_base_commit.sha == HEAD
    r = api(srv, "GET", f"/repos/{REPO}/compare/{HEAD}...{HEAD2}", headers={"Accept": DIFF_MEDIA})
    assert r.text == PUSH_DIFF
    # A force push leaves the old head unreachable.
    assert api(srv, "GET", f"/repos/{REPO}/compare/{'d' * 40}...{HEAD2}").status_code == 404


def test_issue_comments(srv: GitHubServer) -> None:
    pr = gh(srv).get_repo(REPO).get_pull(7)
    made = pr.create_issue_comment("summary v1")
    assert made.user.login == "github-actions[bot]"
    made.edit("summary v2")
    assert [c.body for c in pr.get_issue_comments()] == ["summary v2"]
    r = api(srv, "POST", f"/repos/{REPO}/issues/7/comments", json={"body": " "})
    assert r.status_code == 422 and r.json()["errors"][0]["message"] == "Body cannot be blank"
    assert api(srv, "DELETE", f"/repos/{REPO}/issues/comments/{made.id}").status_code == 204
    assert srv.issue_comments(REPO, 7) == []


def test_user_commit_and_unknown_routes(srv: GitHubServer) -> None:
    r = api(srv, "GET", "/user")
    assert r.status_code == 403 and r.json()["message"] == "Resource not accessible by integration"
    srv.add_token("ghp_person", login="octocat", installation=False)
    assert gh(srv, "ghp_person").get_user().login == "octocat"
    assert gh(srv).get_repo(REPO).get_commit(HEAD).sha == HEAD
    r = api(srv, "GET", f"/repos/{REPO}/commits/{'e' * 40}")
    assert r.status_code == 422 and r.json()["message"] == f"No commit found for SHA: {'e' * 40}"
    for path in ("/nope", f"/repos/{REPO}/pulls/99", "/repos/other/repo"):
        r = api(srv, "GET", path)
        assert r.status_code == 404 and r.json()["message"] == "Not Found"
    assert gh(srv).get_rate_limit().resources.core.limit == 5000


def test_seeded_review_and_call_log(srv: GitHubServer) -> None:
    srv.add_review(REPO, 7, review_payload([{"path": "README.md", "line": 2, "body": "seen"}]))
    with pytest.raises(ValueError, match="Line could not be resolved"):
        srv.add_review(REPO, 7, review_payload([{"path": "README.md", "line": 9, "body": "x"}]))
    listed = api(srv, "GET", f"/repos/{REPO}/pulls/7/comments", params={"per_page": 1}).json()
    assert [c["body"] for c in listed] == ["seen"]
    call = srv.calls[-1]
    assert (call.method, call.path, call.query) == (
        "GET",
        f"/repos/{REPO}/pulls/7/comments",
        {"per_page": "1"},
    )
    assert call.headers["authorization"] == f"Bearer {TOKEN}" and call.json is None


def test_files_list_stops_at_3000(srv: GitHubServer) -> None:
    diff = "".join(
        f"diff --git a/f{i}.txt b/f{i}.txt\nnew file mode 100644\n"
        f"--- /dev/null\n+++ b/f{i}.txt\n@@ -0,0 +1 @@\n+x\n"
        for i in range(3005)
    )
    srv.add_pull(REPO, 10, diff, BASE, HEAD)
    assert gh(srv).get_repo(REPO).get_pull(10).get_files().totalCount == 3000
    r = api(srv, "GET", f"/repos/{REPO}/pulls/10/files", params={"per_page": 100, "page": 30})
    assert [f["filename"] for f in r.json()][-1] == "f2999.txt"
    assert [link["rel"] for link in requests.utils.parse_header_links(r.headers["Link"])] == ["prev", "first"]
    r = api(srv, "GET", f"/repos/{REPO}/pulls/10", headers={"Accept": DIFF_MEDIA})
    assert r.status_code == 406 and "maximum number of files (300)" in r.json()["message"]


@pytest.mark.parametrize("name", ["pull_request.opened.json", "pull_request.opened.null-body.json"])
def test_pull_from_a_real_event_payload(srv: GitHubServer, name: str) -> None:
    event = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    repo_name, number = srv.add_pull_from_event(event, SMALL_DIFF)
    pr = gh(srv).get_repo(repo_name).get_pull(number)
    assert (
        pr.head.sha == event["pull_request"]["head"]["sha"]
        and pr.base.ref == event["pull_request"]["base"]["ref"]
    )
    assert pr.body == event["pull_request"]["body"] and pr.title == event["pull_request"]["title"]
    review = pr.create_review(
        body="ok", event="COMMENT", comments=[{"path": "README.md", "line": 2, "body": "b"}]
    )
    assert review.commit_id == event["pull_request"]["head"]["sha"]
