"""bot.sources.pull_request against the GitHub emulator (real HTTP through PyGithub)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.diff.parse import parse_diff
from bot.errors import GitHubError, InputError
from bot.github.markers import PARTIAL_MARKER, head_marker
from bot.sources.event import read_event
from bot.sources.pull_request import (
    CONFIG_PATH,
    diff_from_files,
    fetch_pull_request,
    load_pull_request,
    open_pull_request,
    skip_reason,
)
from bot.types import ParsedDiff
from tests.conftest import EVENTS
from tests.github_helpers import (
    REPO,
    USER_TOKEN,
    add_corpus_pull,
    api_for,
    corpus_pr,
    emulator,
    git_diff,
    git_history,
)
from tests.servers.github_server import GitHubServer

CASES = ["20477c6357-R", "8ee8f90d67-A", "4b6077a8c0", "3487c8e087", "51dbd8977e-D"]


def commentable(diff: ParsedDiff) -> dict[str, tuple[frozenset[int], frozenset[int]]]:
    return {f.path: (f.commentable("RIGHT"), f.commentable("LEFT")) for f in diff.files}


def test_meta_and_config_from_the_base_commit_never_the_head() -> None:
    case = corpus_pr("20477c6357-R")
    with emulator() as srv:
        add_corpus_pull(srv, 5, case, title="Add a thing", body=None)
        srv.add_file(REPO, case.base, CONFIG_PATH, "[review]\nmax_comments = 7\n")
        srv.add_file(REPO, case.head, CONFIG_PATH, "[review]\nmax_comments = 999\n")
        meta = open_pull_request(api_for(srv), 5)
        assert meta.config_text == "[review]\nmax_comments = 7\n"
        assert meta.config_origin == f"{REPO}@{case.base[:12]}:{CONFIG_PATH}"
        assert (meta.head_sha, meta.base_sha, meta.number, meta.repo) == (case.head, case.base, 5, REPO)
        assert (meta.title, meta.body, meta.is_draft, meta.is_fork) == ("Add a thing", "", False, False)
        assert meta.info.kind == "pull_request" and meta.info.head_sha == case.head
        [contents] = srv.calls_to("GET", r"/contents/")
        assert contents.query["ref"] == case.base


def test_missing_config_means_defaults_and_flags_come_through() -> None:
    case = corpus_pr("2b9035e2df")
    with emulator() as srv:
        add_corpus_pull(srv, 6, case, draft=True, fork=True, body="words")
        meta = open_pull_request(api_for(srv), 6)
        assert meta.config_text is None
        assert meta.is_draft and meta.is_fork and meta.body == "words"


def test_unknown_pull_request_is_one_clear_line() -> None:
    with emulator() as srv:
        with pytest.raises(GitHubError) as caught:
            open_pull_request(api_for(srv), 404)
        assert "HTTP 404" in str(caught.value) and "\n" not in str(caught.value)
        with pytest.raises(InputError):
            open_pull_request(api_for(srv), 0)


@pytest.mark.parametrize("name", CASES)
def test_diff_media_type_gives_the_corpus_diff(name: str) -> None:
    case = corpus_pr(name)
    with emulator() as srv:
        add_corpus_pull(srv, 5, case)
        source = fetch_pull_request(api_for(srv), 5)
        assert source.via == "diff"
        assert commentable(source.full_diff) == commentable(case.parsed)
        assert source.review_input.diff == source.full_diff and source.review_input.skipped == ()
        assert len(srv.calls) == 4  # the pull request, the config, the diff, the head again


@pytest.mark.parametrize("name", CASES)
def test_406_falls_back_to_the_files_patches_with_the_same_lines(name: str) -> None:
    case = corpus_pr(name)
    with emulator() as srv:
        add_corpus_pull(srv, 5, case)
        srv.diff_limit_files = 0  # the diff media type answers 406 past this many files
        source = fetch_pull_request(api_for(srv), 5)
        assert source.via == "files"
        assert srv.calls_to("GET", r"/pulls/5/files")
        assert commentable(source.full_diff) == commentable(case.parsed)


def test_422_too_slow_also_falls_back() -> None:
    case = corpus_pr("3487c8e087")
    with emulator() as srv:
        add_corpus_pull(srv, 5, case)
        api = api_for(srv)
        meta = open_pull_request(api, 5)
        srv.diff_too_slow = True  # only the diff media type answers 422, as on GitHub
        source = load_pull_request(api, meta)
        assert source.via == "files"
        diff_calls = [c for c in srv.calls_to("GET", r"/pulls/5$") if "diff" in c.headers.get("accept", "")]
        assert len(diff_calls) == 1 and srv.calls_to("GET", r"/pulls/5/files$")
        assert commentable(source.full_diff) == commentable(case.parsed)


@pytest.mark.parametrize("via", ["diff", "files"])
def test_a_push_between_the_head_and_the_diff_reads_the_new_heads_diff(
        history: tuple[Path, list[str]], via: str) -> None:
    repo, (v0, v1, v2) = history
    with emulator() as srv:
        srv.add_pull(REPO, 9, git_diff(repo, v0, v1), base_sha=v0, head_sha=v1)
        srv.diff_too_slow = via == "files"
        api = api_for(srv)
        meta = open_pull_request(api, 9)
        assert meta.head_sha == v1
        moved = r"/pulls/9$" if via == "diff" else r"/pulls/9/files$"
        srv.after_next("GET", moved, lambda s: s.push(REPO, 9, git_diff(repo, v0, v2), v2),
                       accept="diff" if via == "diff" else None)
        source = load_pull_request(api, meta)
        assert source.meta.head_sha == v2 and source.review_input.info.head_sha == v2
        assert commentable(source.full_diff) == commentable(parse_diff(git_diff(repo, v0, v2)))
        a_py = next(f for f in source.full_diff.files if f.path == "a.py")
        assert 82 in a_py.commentable("RIGHT")  # only v2 changed line 82


def test_a_head_that_keeps_moving_is_one_clear_error(history: tuple[Path, list[str]]) -> None:
    repo, (v0, v1, v2) = history
    with emulator() as srv:
        srv.add_pull(REPO, 9, git_diff(repo, v0, v1), base_sha=v0, head_sha=v1)
        api = api_for(srv)
        meta = open_pull_request(api, 9)
        heads = iter([v2, v1, v2, v1])
        srv.after_next("GET", r"/pulls/9$", lambda s: s.push(REPO, 9, git_diff(repo, v0, v1), next(heads)),
                       accept="diff", times=4)
        with pytest.raises(GitHubError, match="new commits arrived during each of 3 reads"):
            load_pull_request(api, meta)


def test_a_file_without_a_patch_is_skipped_as_too_large() -> None:
    case = corpus_pr("3487c8e087")
    big = case.parsed.files[0].path
    with emulator() as srv:
        add_corpus_pull(srv, 5, case, files_override={big: {"patch": None}})
        srv.diff_limit_lines = 10
        source = fetch_pull_request(api_for(srv), 5)
        assert source.via == "files"
        assert [(s.path, s.hunk, s.reason) for s in source.full_diff.skipped] == [(big, None, "too_large")]
        assert big not in {f.path for f in source.full_diff.files}


def test_files_listing_beyond_3000_is_reported() -> None:
    entries = [{"filename": f"f{i}.txt", "status": "added", "changes": 1, "patch": "@@ -0,0 +1 @@\n+x"}
               for i in range(3000)]
    parsed = diff_from_files(entries, changed_files=3005)
    assert len(parsed.files) == 3000
    assert [(s.reason, s.path) for s in parsed.skipped] == [("too_large", "(5 more files)")]


def test_malformed_patch_skips_only_that_file() -> None:
    entries = [{"filename": "ok.py", "status": "modified", "changes": 2, "patch": "@@ -1 +1 @@\n-a\n+b"},
               {"filename": "bad.py", "status": "modified", "changes": 2, "patch": "garbage\n+b"}]
    parsed = diff_from_files(entries)
    assert [f.path for f in parsed.files] == ["ok.py"]
    assert [(s.path, s.reason) for s in parsed.skipped] == [("bad.py", "unparsable")]


# -- incremental reviews ---------------------------------------------------------------------

def _lines(n: int, changed: dict[int, str]) -> str:
    return "".join(changed.get(i, f"value_{i} = {i}") + "\n" for i in range(1, n + 1))


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, list[str]]:
    """v0 base; v1 changes a.py lines 10 and 80 and b.py line 5; v2 changes a.py line 82 only."""
    repo = tmp_path / "repo"
    shas = git_history(repo, [
        {"a.py": _lines(100, {}), "b.py": _lines(50, {})},
        {"a.py": _lines(100, {10: "value_10 = 'ten'", 80: "value_80 = None"}),
         "b.py": _lines(50, {5: "value_5 = 5.0"})},
        {"a.py": _lines(100, {10: "value_10 = 'ten'", 80: "value_80 = None", 82: "value_82 = value_80 + 1"})},
    ])
    return repo, shas


def _seed(srv: GitHubServer, repo: Path, shas: list[str], reviewer: str = "github-actions[bot]",
          compare: bool = True) -> None:
    v0, v1, v2 = shas
    srv.add_pull(REPO, 9, git_diff(repo, v0, v1), base_sha=v0, head_sha=v1)
    srv.add_review(REPO, 9, {"commit_id": v1, "event": "COMMENT",
                             "body": f"earlier review\n\n{head_marker(v1)}"}, login=reviewer)
    srv.push(REPO, 9, git_diff(repo, v0, v2), v2)
    if compare:
        srv.add_compare(REPO, v1, v2, git_diff(repo, v1, v2))


def test_incremental_reviews_only_hunks_changed_since_the_last_reviewed_head(
        history: tuple[Path, list[str]]) -> None:
    repo, shas = history
    with emulator() as srv:
        _seed(srv, repo, shas)
        source = fetch_pull_request(api_for(srv), 9, incremental=True)
        assert source.last_reviewed_head == shas[1] and source.incremental
        assert source.meta.head_sha == shas[2]
        kept = {(f.path, h.new_start) for f in source.review_input.diff.files for h in f.hunks}
        assert len(kept) == 1 and next(iter(kept))[0] == "a.py"
        hunk = next(h for f in source.review_input.diff.files for h in f.hunks)
        assert 82 in hunk.commentable("RIGHT")
        skipped = {(s.path, s.reason) for s in source.review_input.skipped}
        assert skipped == {("a.py", "incremental"), ("b.py", "incremental")}
        assert all(s.hunk is not None for s in source.review_input.skipped)
        # The full diff stays whole: GitHub validates comments against it.
        assert {f.path for f in source.full_diff.files} == {"a.py", "b.py"}


def test_incremental_after_a_force_push_reviews_everything(history: tuple[Path, list[str]]) -> None:
    repo, shas = history
    with emulator() as srv:
        _seed(srv, repo, shas, compare=False)  # compare answers 404, as after a force push
        source = fetch_pull_request(api_for(srv), 9, incremental=True)
        assert source.last_reviewed_head == shas[1] and not source.incremental
        assert source.review_input.diff == source.full_diff and source.review_input.skipped == ()


def test_a_head_marker_pasted_by_a_person_is_ignored(history: tuple[Path, list[str]]) -> None:
    repo, shas = history
    with emulator() as srv:
        _seed(srv, repo, shas, reviewer="octocat")
        source = fetch_pull_request(api_for(srv), 9, incremental=True)
        assert source.last_reviewed_head is None and not source.incremental


@pytest.mark.parametrize("reviewer", ["renovate[bot]", "octocat"])
def test_another_accounts_head_marker_is_ignored(history: tuple[Path, list[str]], reviewer: str) -> None:
    repo, shas = history
    with emulator() as srv:
        _seed(srv, repo, shas, reviewer=reviewer)
        source = fetch_pull_request(api_for(srv), 9, incremental=True)
        assert source.last_reviewed_head is None and not source.incremental


def test_with_a_personal_token_only_that_users_reviews_count(history: tuple[Path, list[str]]) -> None:
    repo, shas = history
    with emulator() as srv:
        _seed(srv, repo, shas)  # reviewed by github-actions[bot], but we run as alice now
        source = fetch_pull_request(api_for(srv, USER_TOKEN), 9, incremental=True)
        assert source.last_reviewed_head is None
        srv.add_review(REPO, 9, {"commit_id": shas[2], "event": "COMMENT",
                                 "body": f"mine\n{head_marker(shas[2])}"}, login="alice")
        source = fetch_pull_request(api_for(srv, USER_TOKEN), 9, incremental=True)
        assert source.last_reviewed_head == shas[2] and source.incremental
        assert source.review_input.diff.files == ()  # nothing changed since that head


def test_full_mode_ignores_earlier_reviews(history: tuple[Path, list[str]]) -> None:
    repo, shas = history
    with emulator() as srv:
        _seed(srv, repo, shas)
        source = fetch_pull_request(api_for(srv), 9, incremental=False)
        assert source.last_reviewed_head is None and source.review_input.skipped == ()
        assert not srv.calls_to("GET", r"/compare/")


def test_from_the_real_synchronize_payload(history: tuple[Path, list[str]], tmp_path: Path) -> None:
    repo, shas = history
    payload = json.loads((EVENTS / "pull_request.synchronize.json").read_text(encoding="utf-8"))
    payload["number"] = payload["pull_request"]["number"] = 9
    payload["before"], payload["after"] = shas[1], shas[2]
    payload["pull_request"]["head"]["sha"], payload["pull_request"]["base"]["sha"] = shas[2], shas[0]
    for side in ("head", "base"):
        payload["pull_request"][side]["repo"]["full_name"] = REPO
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(payload), encoding="utf-8")
    ctx = read_event({"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event_path),
                      "GITHUB_REPOSITORY": REPO})
    with emulator() as srv:
        _seed(srv, repo, shas)
        source = fetch_pull_request(api_for(srv), ctx.pr, incremental=ctx.mode == "incremental")
        assert source.meta.head_sha == ctx.head_sha and source.incremental
        assert {s.path for s in source.review_input.skipped} == {"a.py", "b.py"}


def test_parse_diff_of_the_emulator_diff_is_stable() -> None:
    # The diff served by the emulator is byte-identical to the corpus file.
    case = corpus_pr("2e3e3774a9")
    with emulator() as srv:
        add_corpus_pull(srv, 5, case)
        text = api_for(srv).pull_diff(5)
        assert text is not None and parse_diff(text) == case.parsed


def test_a_partial_review_does_not_count_as_reviewed(history: tuple[Path, list[str]]) -> None:
    repo, shas = history
    with emulator() as srv:
        _seed(srv, repo, shas)
        srv.add_review(REPO, 9, {"commit_id": shas[2], "event": "COMMENT",
                                 "body": f"budget ran out\n{head_marker(shas[2])}\n{PARTIAL_MARKER}"})
        source = fetch_pull_request(api_for(srv), 9, incremental=True)
        assert source.last_reviewed_head == shas[1]  # the complete review before it


def test_a_failing_compare_means_review_everything(history: tuple[Path, list[str]]) -> None:
    repo, shas = history
    with emulator() as srv:
        _seed(srv, repo, shas)
        srv.fail_next("GET", r"/compare/", 500, {"message": "Server Error"}, times=10)
        source = fetch_pull_request(api_for(srv), 9, incremental=True)
        assert not source.incremental and source.review_input.diff == source.full_diff


def test_skip_reason_for_drafts_and_closed_pull_requests() -> None:
    case = corpus_pr("2b9035e2df")
    with emulator() as srv:
        add_corpus_pull(srv, 6, case, draft=True)
        meta = open_pull_request(api_for(srv), 6)
    assert "draft" in (skip_reason(meta, review_drafts=False) or "")
    assert skip_reason(meta, review_drafts=True) is None
    assert "closed" in (skip_reason(replace(meta, state="closed", is_draft=False), review_drafts=True) or "")
