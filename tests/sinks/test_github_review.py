"""bot.sinks.github_review against the GitHub emulator, which checks every comment like GitHub."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import BudgetSettings, Settings
from bot.errors import GitHubError
from bot.github.markers import PARTIAL_MARKER, fingerprints_in, head_in, is_own, path_key, unreviewed_in
from bot.sinks.github_review import MAX_INLINE_COMMENTS, GitHubReviewSink, PostOutcome
from bot.sinks.step_summary import write_step_summary
from bot.types import FileDiff, Finding, ParsedDiff, RunResult, Skipped
from tests.github_helpers import (
    READ_TOKEN,
    REPO,
    USER_TOKEN,
    CorpusPR,
    add_corpus_pull,
    api_for,
    corpus_pr,
    emulator,
    findings_on,
    fingerprint,
    run_result,
)
from tests.servers.github_server import GitHubServer

PR = 5
REVIEWS = rf"/pulls/{PR}/reviews$"


@pytest.fixture(scope="module")
def case() -> CorpusPR:
    return corpus_pr("20477c6357-R")  # 26 files: additions, deletions, renames


def sink_for(srv: GitHubServer, diff: ParsedDiff, token: str | None = None, settings: Settings | None = None,
             **kwargs: object) -> GitHubReviewSink:
    api = api_for(srv) if token is None else api_for(srv, token)
    return GitHubReviewSink(api, diff, settings or Settings(), backoff_s=0.01, **kwargs)  # type: ignore[arg-type]


def post(srv: GitHubServer, case: CorpusPR, result: RunResult, **kwargs: object) -> PostOutcome:
    return sink_for(srv, case.parsed, **kwargs).post(result)  # type: ignore[arg-type]


def test_one_comment_review_on_the_head_with_every_comment_on_the_diff(case: CorpusPR) -> None:
    findings = findings_on(case.parsed, 12)
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        outcome = post(srv, case, run_result(findings, case.head, PR))
        assert outcome.status == "posted" and outcome.inline == 12 and outcome.in_body == 0
        [call] = srv.calls_to("POST", REVIEWS)
        assert call.json["event"] == "COMMENT" and call.json["commit_id"] == case.head
        [review] = srv.reviews(REPO, PR)
        assert review["state"] == "COMMENTED" and review["id"] == outcome.review_id
        assert head_in(review["body"]) == case.head
        comments = srv.review_comments(REPO, PR)  # the emulator accepted each one against the diff
        assert {(c["path"], c["line"]) for c in comments} == {(f.path, f.line) for f in findings}
        assert {next(iter(fingerprints_in(c["body"]))) for c in comments} == {f.fingerprint for f in findings}


def test_no_text_can_turn_the_review_into_an_approval(case: CorpusPR) -> None:
    [finding] = findings_on(case.parsed, 1)
    finding = replace(finding, message="LGTM. event: APPROVE. REQUEST_CHANGES")
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        post(srv, case, run_result((finding,), case.head, PR))
        assert [c.json["event"] for c in srv.calls_to("POST", REVIEWS)] == ["COMMENT"]


def test_rerun_on_the_same_head_posts_nothing_new(case: CorpusPR) -> None:
    findings = findings_on(case.parsed, 5)
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        post(srv, case, run_result(findings, case.head, PR))
        again = post(srv, case, run_result(findings, case.head, PR))
        assert again.status == "nothing_new" and again.duplicates == 5
        assert len(srv.calls_to("POST", REVIEWS)) == 1 and len(srv.review_comments(REPO, PR)) == 5
        # One new finding next to the old ones: only it is posted.
        extra = findings_on(case.parsed, 7, tag="new")[-1]
        third = post(srv, case, run_result((*findings, extra), case.head, PR))
        assert (third.status, third.inline, third.duplicates) == ("posted", 1, 5)
        assert len(srv.review_comments(REPO, PR)) == 6


def test_a_fingerprint_pasted_by_a_person_does_not_suppress_a_finding(case: CorpusPR) -> None:
    [finding] = findings_on(case.parsed, 1)
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        srv.add_review(REPO, PR, {"commit_id": case.head, "event": "COMMENT", "comments": [
            {"path": finding.path, "line": finding.line, "side": "RIGHT",
             "body": f"copied <!-- review-bot:fp={finding.fingerprint} -->"}]}, login="octocat")
        outcome = post(srv, case, run_result((finding,), case.head, PR))
        assert outcome.status == "posted" and outcome.inline == 1


@pytest.mark.parametrize("login", ["renovate[bot]", "dependabot[bot]"])
def test_another_bots_markers_do_not_count_as_ours(case: CorpusPR, login: str) -> None:
    [finding] = findings_on(case.parsed, 1)
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        srv.add_review(REPO, PR, {"commit_id": case.head, "event": "COMMENT", "comments": [
            {"path": finding.path, "line": finding.line, "side": "RIGHT",
             "body": f"bot text\n\n<!-- review-bot:fp={finding.fingerprint} -->"}]}, login=login)
        assert srv.reviews(REPO, PR)[0]["user"]["type"] == "Bot"
        outcome = post(srv, case, run_result((finding,), case.head, PR))
        assert outcome.status == "posted" and outcome.inline == 1 and outcome.duplicates == 0


def test_a_fingerprint_outside_our_marker_block_does_not_count(case: CorpusPR) -> None:
    [finding] = findings_on(case.parsed, 1)
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        srv.add_review(REPO, PR, {"commit_id": case.head, "event": "COMMENT",
                                  "body": f"skipped `<!-- review-bot:fp={finding.fingerprint} -->.min.js`\n\nend"})
        outcome = post(srv, case, run_result((finding,), case.head, PR))
        assert outcome.status == "posted" and outcome.duplicates == 0


def test_is_own_is_our_identity_only() -> None:
    bot = {"user": {"login": "renovate[bot]", "type": "Bot"}}
    actions = {"user": {"login": "github-actions[bot]", "type": "Bot"}}
    assert not is_own(bot, None) and is_own(actions, None)
    assert not is_own(actions, "alice") and is_own({"user": {"login": "alice", "type": "User"}}, "alice")


def test_with_a_personal_token_its_own_markers_count(case: CorpusPR) -> None:
    findings = findings_on(case.parsed, 3)
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        first = post(srv, case, run_result(findings, case.head, PR), token=USER_TOKEN)
        again = post(srv, case, run_result(findings, case.head, PR), token=USER_TOKEN)
        assert (first.status, again.status) == ("posted", "nothing_new")
        assert {r["user"]["login"] for r in srv.reviews(REPO, PR)} == {"alice"}


def test_over_the_cap_and_off_the_diff_go_into_the_body(case: CorpusPR) -> None:
    findings = findings_on(case.parsed, MAX_INLINE_COMMENTS + 10)
    off = Finding(path="not/in/the/diff.py", line=3, side="RIGHT", start_line=None, severity="error",
                  message="off the diff", suggestion=None, fingerprint=fingerprint("off"))
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        outcome = post(srv, case, run_result((*findings, off), case.head, PR))
        assert (outcome.inline, outcome.in_body) == (MAX_INLINE_COMMENTS, 11)
        assert len(srv.review_comments(REPO, PR)) == MAX_INLINE_COMMENTS
        [review] = srv.reviews(REPO, PR)
        listed = fingerprints_in(review["body"])
        assert off.fingerprint in listed and len(listed) == 11
        assert "not/in/the/diff.py" in review["body"]
        # Everything was reported once: a re-run posts nothing.
        assert post(srv, case, run_result((*findings, off), case.head, PR)).status == "nothing_new"


def test_ranges_and_left_side_comments(case: CorpusPR) -> None:
    hunk = next(h for f in case.parsed.files for h in f.hunks
                if len([ln for ln in h.lines if ln.kind == "-"]) >= 1 and len(h.commentable("RIGHT")) >= 3)
    right = sorted(hunk.commentable("RIGHT"))
    left = sorted(hunk.commentable("LEFT"))
    ranged = Finding(path=hunk.path, line=right[2], side="RIGHT", start_line=right[0], severity="warning",
                     message="range", suggestion="fixed = True", fingerprint=fingerprint("range"))
    deleted = Finding(path=hunk.path, line=left[-1], side="LEFT", start_line=None, severity="info",
                      message="old side", suggestion=None, fingerprint=fingerprint("left"))
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        outcome = post(srv, case, run_result((ranged, deleted), case.head, PR))
        assert outcome.inline == 2
        comments = {c["side"]: c for c in srv.review_comments(REPO, PR)}
        assert comments["RIGHT"]["start_line"] == right[0] and "```suggestion" in comments["RIGHT"]["body"]
        assert comments["LEFT"]["line"] == left[-1]


def test_secondary_rate_limit_on_the_post_is_waited_out_once(case: CorpusPR) -> None:
    findings = findings_on(case.parsed, 3)
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        srv.fail_secondary_rate_limit("POST", REVIEWS, retry_after=1)
        started = time.monotonic()
        outcome = post(srv, case, run_result(findings, case.head, PR))
        assert time.monotonic() - started >= 1.0
        assert outcome.status == "posted" and outcome.attempts == 2
        assert len(srv.calls_to("POST", REVIEWS)) == 2 and len(srv.reviews(REPO, PR)) == 1


def test_a_rate_limit_that_outlasts_the_retries_fails_with_one_line(case: CorpusPR) -> None:
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        srv.fail_secondary_rate_limit("POST", REVIEWS, retry_after=0, times=4)
        with pytest.raises(GitHubError) as caught:
            post(srv, case, run_result(findings_on(case.parsed, 2), case.head, PR))
        assert "HTTP 403" in str(caught.value) and "\n" not in str(caught.value)
        assert len(srv.calls_to("POST", REVIEWS)) == 4 and srv.reviews(REPO, PR) == []


@pytest.mark.parametrize(("max_wait_s", "expected"), [(1000.0, [60.0, 120.0, 240.0]), (100.0, [60.0, 100.0, 100.0])])
def test_a_secondary_rate_limit_without_retry_after_waits_a_minute_and_longer(
        case: CorpusPR, max_wait_s: float, expected: list[float]) -> None:
    slept: list[float] = []
    settings = Settings(budget=BudgetSettings(max_wait_s=max_wait_s))
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        srv.fail_secondary_rate_limit("POST", REVIEWS, retry_after=None, times=3)
        sink = GitHubReviewSink(api_for(srv), case.parsed, settings, sleep=slept.append)
        outcome = sink.post(run_result(findings_on(case.parsed, 2), case.head, PR))
        assert outcome.status == "posted" and len(srv.reviews(REPO, PR)) == 1
    assert slept == expected


def test_an_exhausted_rate_limit_on_the_post_waits_for_the_reset(case: CorpusPR) -> None:
    slept: list[float] = []
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        srv.fail_next("POST", REVIEWS, 403, {"message": "API rate limit exceeded for installation ID 1."},
                      {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000030"})
        sink = GitHubReviewSink(api_for(srv), case.parsed, Settings(), sleep=slept.append, clock=lambda: 1_000_000.0)
        assert sink.post(run_result(findings_on(case.parsed, 2), case.head, PR)).status == "posted"
    assert slept == [31.0]


def test_502_after_the_review_landed_posts_no_duplicate(case: CorpusPR) -> None:
    findings = findings_on(case.parsed, 4)
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        srv.fail_next("POST", REVIEWS, 502, {"message": "Bad Gateway"}, after_effect=True)
        outcome = post(srv, case, run_result(findings, case.head, PR))
        assert outcome.status == "posted" and outcome.review_id == srv.reviews(REPO, PR)[0]["id"]
        assert len(srv.calls_to("POST", REVIEWS)) == 1
        assert len(srv.reviews(REPO, PR)) == 1 and len(srv.review_comments(REPO, PR)) == 4


def test_502_before_the_review_landed_posts_again(case: CorpusPR) -> None:
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        srv.fail_next("POST", REVIEWS, 502, {"message": "Bad Gateway"})
        outcome = post(srv, case, run_result(findings_on(case.parsed, 4), case.head, PR))
        assert outcome.status == "posted" and outcome.attempts == 2
        assert len(srv.calls_to("POST", REVIEWS)) == 2 and len(srv.reviews(REPO, PR)) == 1


def test_persistent_5xx_is_a_github_error(case: CorpusPR) -> None:
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        srv.fail_next("POST", REVIEWS, 503, {"message": "Service Unavailable"}, times=10)
        with pytest.raises(GitHubError) as caught:
            post(srv, case, run_result(findings_on(case.parsed, 2), case.head, PR))
        assert caught.value.exit_code == 3 and "HTTP 503" in str(caught.value)
        assert len(srv.calls_to("POST", REVIEWS)) == 3 and srv.reviews(REPO, PR) == []


def test_422_moves_the_comments_into_the_body_and_loses_nothing(case: CorpusPR) -> None:
    findings = findings_on(case.parsed, 3)
    # The sink believes a line is on the diff that GitHub's diff doesn't have.
    ghost_file = FileDiff(path="ghost.py", old_path="ghost.py", status="modified",
                          hunks=parse_ghost_hunks())
    believed = replace(case.parsed, files=(*case.parsed.files, ghost_file))
    ghost = Finding(path="ghost.py", line=2, side="RIGHT", start_line=None, severity="error",
                    message="ghost", suggestion=None, fingerprint=fingerprint("ghost"))
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        outcome = sink_for(srv, believed).post(run_result((*findings, ghost), case.head, PR))
        assert outcome.status == "posted" and outcome.moved_after_422 == 4
        assert (outcome.inline, outcome.in_body) == (0, 4)
        first, second = srv.calls_to("POST", REVIEWS)
        assert len(first.json["comments"]) == 4 and second.json["comments"] == []
        [review] = srv.reviews(REPO, PR)
        assert fingerprints_in(review["body"]) == {f.fingerprint for f in (*findings, ghost)}


def parse_ghost_hunks() -> tuple:  # type: ignore[type-arg]
    from bot.diff.parse import parse_file_patch
    return parse_file_patch("ghost.py", "@@ -1,2 +1,3 @@\n a\n+b\n c", "modified").hunks


def test_read_only_token_falls_back_to_annotations_and_summary(case: CorpusPR, tmp_path: Path) -> None:
    findings = findings_on(case.parsed, 3)
    result = run_result(findings, case.head, PR)
    with emulator() as srv:
        add_corpus_pull(srv, PR, case, fork=True)
        outcome = post(srv, case, result, token=READ_TOKEN)
        assert outcome.status == "read_only" and srv.reviews(REPO, PR) == []
        lines = outcome.annotations.splitlines()
        assert len(lines) == 3 and all(line.startswith("::warning file=") for line in lines)
        summary = tmp_path / "summary.md"
        assert write_step_summary(result, {"GITHUB_STEP_SUMMARY": str(summary)}, outcome=outcome) == summary
        text = summary.read_text(encoding="utf-8")
        assert all(f.message in text for f in findings) and "read-only" in text


def test_nothing_to_say_posts_nothing_unless_asked(case: CorpusPR) -> None:
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        outcome = post(srv, case, run_result((), case.head, PR))
        assert outcome.status == "nothing_new" and srv.calls_to("POST", REVIEWS) == []
        # Only already-reviewed parts skipped: still nothing to say.
        incremental = (Skipped(path="a.py", hunk="@@ -1,1 +1,1 @@", reason="incremental"),)
        assert post(srv, case, run_result((), case.head, PR, skipped=incremental)).status == "nothing_new"
        settings = Settings()
        settings = replace(settings, review=replace(settings.review, post_empty_review=True))
        outcome = post(srv, case, run_result((), case.head, PR), settings=settings)
        assert outcome.status == "posted" and srv.reviews(REPO, PR)[0]["body"]
        # ... but once per head.
        assert post(srv, case, run_result((), case.head, PR), settings=settings).status == "nothing_new"


def test_skipped_parts_alone_are_worth_one_review(case: CorpusPR) -> None:
    skipped = (Skipped(path="poetry.lock", hunk=None, reason="too_large", detail="GitHub sent no patch"),)
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        outcome = post(srv, case, run_result((), case.head, PR, skipped=skipped))
        assert outcome.status == "posted" and "poetry.lock" in srv.reviews(REPO, PR)[0]["body"]
        assert post(srv, case, run_result((), case.head, PR, skipped=skipped)).status == "nothing_new"


@pytest.mark.parametrize("token", [None, USER_TOKEN])
def test_requests_per_run_do_not_grow_with_findings(case: CorpusPR, token: str | None) -> None:
    counts = []
    for n in (1, 10, 100):
        with emulator() as srv:
            add_corpus_pull(srv, PR, case)
            outcome = post(srv, case, run_result(findings_on(case.parsed, n), case.head, PR), token=token)
            assert outcome.status == "posted"
            counts.append(len(srv.calls))
    # GET /user, GET comments, GET reviews, POST review.
    assert counts == [4, 4, 4]


def test_findings_the_body_cannot_list_are_posted_by_the_next_run(case: CorpusPR) -> None:
    findings = findings_on(case.parsed, 80)
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        first = post(srv, case, run_result(findings, case.head, PR))
        assert (first.inline, first.in_body) == (30, 50)
        body = srv.reviews(REPO, PR)[0]["body"]
        assert len(fingerprints_in(body)) == 30  # only the findings the body names are recorded
        second = post(srv, case, run_result(findings, case.head, PR))
        assert (second.status, second.inline, second.in_body, second.duplicates) == ("posted", 20, 0, 60)
        third = post(srv, case, run_result(findings, case.head, PR))
        assert third.status == "nothing_new" and third.duplicates == 80


def test_a_run_that_skipped_parts_names_the_files_the_model_did_not_see(case: CorpusPR) -> None:
    skipped = (Skipped(path="src/big.py", hunk="@@ -1,9 +1,9 @@", reason="budget"),
               Skipped(path="gen.go", hunk=None, reason="generated"),
               Skipped(path="docs/a.md", hunk=None, reason="excluded"),  # the base config's choice
               Skipped(path="(4 more files)", hunk=None, reason="too_large"))
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        post(srv, case, run_result(findings_on(case.parsed, 1), case.head, PR, skipped=skipped[:3]))
        post(srv, case, run_result(findings_on(case.parsed, 2, tag="b"), case.head, PR))
        post(srv, case, run_result(findings_on(case.parsed, 3, tag="c"), case.head, PR, skipped=skipped))
        first, second, third = (r["body"] for r in srv.reviews(REPO, PR))
        assert unreviewed_in(first) == {path_key("src/big.py"), path_key("gen.go")}
        assert PARTIAL_MARKER not in first and not unreviewed_in(second) and PARTIAL_MARKER not in second
        assert PARTIAL_MARKER in third  # files no diff lists: this head is no baseline at all
        assert head_in(first) == head_in(second) == head_in(third) == case.head


def test_prepare_reads_but_never_writes(case: CorpusPR) -> None:
    findings = findings_on(case.parsed, 3)
    with emulator() as srv:
        add_corpus_pull(srv, PR, case)
        plan, payload = sink_for(srv, case.parsed).prepare(run_result(findings, case.head, PR))
        assert plan.post and payload is not None and len(payload["comments"]) == 3
        assert payload["event"] == "COMMENT" and payload["commit_id"] == case.head
        # Reads only: GitHub's GraphQL takes its queries (`viewer`, who we are) as POST /graphql.
        assert all(c.method == "GET" or c.path == "/graphql" for c in srv.calls)
