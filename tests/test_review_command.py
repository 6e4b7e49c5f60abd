"""`review-bot review` end to end: the CLI against the GitHub emulator and the loopback model.

Real HTTP both ways; the emulator refuses a review with any comment off the diff, so a
posted review is proof every comment sat on a commentable line.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.github.markers import head_marker
from tests.cli_runner import run_main
from tests.conftest import EVENTS
from tests.github_helpers import (
    BOT_TOKEN,
    READ_TOKEN,
    REPO,
    add_corpus_pull,
    corpus_pr,
    emulator,
    git_diff,
    git_history,
)
from tests.servers.github_server import GitHubServer
from tests.servers.model_server import ModelServer

NUMBERED = re.compile(r"^\s*(\d+) \+ ", re.MULTILINE)
FILE_HEADER = re.compile(r"^\+\+\+ b/(.+)$", re.MULTILINE)


def diagnostics_for(prompt: str, payload: dict[str, Any]) -> str:
    """A model that flags the first added line of each file in the prompt, plus hostile chatter."""
    lines = ["", "::set-output name=pwned::1", "@octocat please approve this PR"]
    sections = re.split(r"^(?=\+\+\+ b/)", prompt, flags=re.MULTILINE)
    for section in sections[1:]:
        path = FILE_HEADER.match(section)
        added = NUMBERED.search(section)
        if path and added:
            lines.append(f"{path.group(1)}:{added.group(1)}: warning: ::error::owned check this line")
    lines.append("elsewhere.py:3: error: not in this diff")
    return "\n".join(lines) + "\n"


def base_env(srv: GitHubServer, token: str = BOT_TOKEN) -> dict[str, str]:
    return {"GITHUB_API_URL": srv.url, "GITHUB_TOKEN": token, "PATH": "/usr/bin:/bin"}


def review_args(model: ModelServer, *extra: str) -> list[str]:
    return ["review", "--repo", REPO, "--pr", "7", "--api", "hf", "--endpoint", model.url, "--min-severity", "info",
            "--rpm", "6000", *extra]


def test_review_posts_exactly_one_comment_review_on_the_head() -> None:
    case = corpus_pr("483b62eec2")
    with emulator() as srv, ModelServer(responder=diagnostics_for) as model:
        add_corpus_pull(srv, 7, case, title="Fix things", body="Please review.")
        code, out, err = run_main(review_args(model), base_env(srv))
        assert code == 0, err
        posts = srv.calls_to("POST", r"/pulls/7/reviews$")
        assert len(posts) == 1
        payload = posts[0].json
        assert payload["event"] == "COMMENT" and payload["commit_id"] == case.head
        assert payload["comments"], "the model's findings on real lines must be posted inline"
        [review] = srv.reviews(REPO, 7)
        assert review["state"] == "COMMENTED"
        assert len(srv.review_comments(REPO, 7)) == len(payload["comments"])
        for comment in payload["comments"]:
            assert "@octocat" not in comment["body"] and "::error::owned" not in comment["body"].split("\n")[0][:2]
        print(f"GitHub requests for one review run: {len(srv.calls)}")

        # The same head again: nothing new to say, nothing posted.
        before = len(srv.review_comments(REPO, 7))
        code, _, err = run_main(review_args(model), base_env(srv))
        assert code == 0, err
        assert len(srv.calls_to("POST", r"/pulls/7/reviews$")) == 1
        assert len(srv.review_comments(REPO, 7)) == before


def test_github_requests_do_not_grow_with_findings() -> None:
    case = corpus_pr("range-c4b8d066-40")  # 60 files: many findings
    counts = {}
    for limit in (1, 30):
        with emulator() as srv, ModelServer(responder=diagnostics_for) as model:
            add_corpus_pull(srv, 7, case)
            srv.add_file(REPO, case.base, ".github/review-bot.toml",
                         f"[review]\nmax_comments = {limit}\nmax_comments_per_file = 5\n")
            code, _, err = run_main(review_args(model, "--max-requests", "100"), base_env(srv))
            assert code == 0, err
            posted = srv.calls_to("POST", r"/pulls/7/reviews$")
            assert len(posted) == 1
            counts[limit] = len([c for c in srv.calls if c.method != "GET" or "/reviews" in c.path
                                 or "/comments" in c.path or "/pulls/7" in c.path])
            assert len(posted[0].json["comments"]) == limit
    print(f"GitHub requests per run by findings: {counts}")
    assert counts[1] == counts[30]


def test_diff_too_large_falls_back_to_files_with_the_same_findings() -> None:
    case = corpus_pr("3487c8e087")
    results = []
    for limit in (100_000, 10):
        with emulator() as srv, ModelServer(responder=diagnostics_for) as model:
            srv.diff_limit_lines = limit
            add_corpus_pull(srv, 7, case)
            code, out, err = run_main(review_args(model, "--dry-run", "--format", "json"), base_env(srv))
            assert code == 0, err
            assert "diff via " + ("diff" if limit > 10 else "files") in err
            results.append(json.loads(out)["findings"])
            assert not srv.calls_to("POST", r"/reviews$")
    assert results[0] == results[1] and results[0]


def test_synchronize_reviews_only_what_changed_since_the_last_reviewed_head(tmp_path: Path) -> None:
    def text(changes: dict[int, str]) -> str:
        return "".join(changes.get(i, f"value_{i} = {i}") + "\n" for i in range(1, 101))

    repo = tmp_path / "repo"
    v0, v1, v2 = git_history(repo, [
        {"a.py": text({}), "b.py": text({})},
        {"a.py": text({10: "value_10 = 'ten'"}), "b.py": text({5: "value_5 = 5.0"})},
        {"a.py": text({10: "value_10 = 'ten'", 80: "value_80 = None"})},
    ])
    with emulator() as srv, ModelServer(responder=diagnostics_for) as model:
        srv.add_pull(REPO, 7, git_diff(repo, v0, v1), base_sha=v0, head_sha=v1)
        code, _, err = run_main(review_args(model, "--mode", "incremental"), base_env(srv))
        assert code == 0, err
        assert len(srv.reviews(REPO, 7)) == 1
        seen_first = len(model.requests)
        srv.push(REPO, 7, git_diff(repo, v0, v2), v2)
        srv.add_compare(REPO, v1, v2, git_diff(repo, v1, v2))
        code, out, err = run_main(review_args(model, "--mode", "incremental", "--format", "json"), base_env(srv))
        assert code == 0, err
        prompts = [r.prompt for r in model.requests[seen_first:]]
        assert prompts and all("value_80 = None" in p for p in prompts)
        assert not any("value_10 = 'ten'" in p or "value_5 = 5.0" in p for p in prompts)
        skipped = json.loads(out)["skipped"]
        assert {"path": "a.py", "hunk": skipped[0]["hunk"], "reason": "incremental"} in skipped
        assert any(s["path"] == "b.py" and s["reason"] == "incremental" for s in skipped)


def _actions_env(srv: GitHubServer, tmp_path: Path, event: dict[str, Any], token: str = BOT_TOKEN) -> dict[str, str]:
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    summary = tmp_path / "summary.md"
    return {**base_env(srv, token), "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event_path), "GITHUB_REPOSITORY": REPO,
            "GITHUB_STEP_SUMMARY": str(summary)}


def _synchronize_event(case_head: str, case_base: str, before: str) -> dict[str, Any]:
    event = json.loads((EVENTS / "pull_request.synchronize.json").read_text(encoding="utf-8"))
    owner, name = REPO.split("/")
    event["number"] = event["pull_request"]["number"] = 7
    event["before"], event["after"] = before, case_head
    event["pull_request"]["head"]["sha"], event["pull_request"]["base"]["sha"] = case_head, case_base
    for holder in (event["repository"], event["pull_request"]["base"]["repo"], event["pull_request"]["head"]["repo"]):
        holder["full_name"], holder["name"] = REPO, name
        holder["owner"]["login"] = owner
    return event


@pytest.mark.parametrize("token", [BOT_TOKEN, READ_TOKEN])
def test_actions_run_writes_the_summary_and_never_logs_model_commands(tmp_path: Path, token: str) -> None:
    case = corpus_pr("483b62eec2")
    with emulator() as srv, ModelServer(responder=diagnostics_for) as model:
        add_corpus_pull(srv, 7, case)
        env = _actions_env(srv, tmp_path, _synchronize_event(case.head, case.base, "1" * 40), token)
        env["REVIEW_BOT_API"], env["REVIEW_BOT_ENDPOINT"] = "hf", model.url
        code, out, err = run_main(["review", "--min-severity", "info", "--rpm", "6000"], env)
        assert code == 0, err
        summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
        assert "review-bot" in summary.lower()
        own = ("::add-mask::", "::stop-commands::", "::group::", "::endgroup::", "::notice", "::warning file=",
               "::error file=", "::notice file=")
        stop_tokens = set(re.findall(r"^::stop-commands::(\w+)$", out, flags=re.MULTILINE))
        for line in (out + err).splitlines():
            if line.startswith("::"):
                assert line.startswith(own) or line.strip(":") in stop_tokens, f"raw command in log: {line!r}"
            assert "::set-output" not in line or not line.lstrip().startswith("::")
        if token == READ_TOKEN:
            assert not srv.reviews(REPO, 7) and "::warning file=" in out
        else:
            assert len(srv.reviews(REPO, 7)) == 1


def test_draft_pull_request_is_skipped_with_exit_zero() -> None:
    case = corpus_pr("483b62eec2")
    with emulator() as srv, ModelServer(responder=diagnostics_for) as model:
        add_corpus_pull(srv, 7, case, draft=True)
        code, _, err = run_main(review_args(model), base_env(srv))
        assert code == 0 and "draft" in err
        assert not model.requests and not srv.reviews(REPO, 7)


def test_repository_template_is_read_from_the_base_commit() -> None:
    case = corpus_pr("483b62eec2")
    marker_base, marker_head = "BASE-TEMPLATE-MARKER", "HEAD-TEMPLATE-MARKER"
    template = ('{#- review-bot\nparser: diagnostics\nstop: ["\\n\\n\\n"]\n-#}\nMARKER\n'
                '{% for file in files %}+++ b/{{ file.path }}\n{% for hunk in file.hunks %}{{ hunk.text }}'
                '{% endfor %}{% endfor %}')
    with emulator() as srv, ModelServer(responder=diagnostics_for) as model:
        add_corpus_pull(srv, 7, case)
        srv.add_file(REPO, case.base, ".github/review-bot/review.j2", template.replace('MARKER', marker_base))
        srv.add_file(REPO, case.head, ".github/review-bot/review.j2", template.replace('MARKER', marker_head))
        srv.add_file(REPO, case.base, ".github/review-bot/summary.md.j2", "BASE-SUMMARY {{ total }} findings")
        srv.add_file(REPO, case.head, ".github/review-bot/summary.md.j2", "HEAD-SUMMARY")
        code, _, err = run_main(review_args(model), base_env(srv))
        assert code == 0, err
        assert model.requests and all(marker_base in r.prompt for r in model.requests)
        assert not any(marker_head in r.prompt for r in model.requests)
        [review] = srv.reviews(REPO, 7)
        assert review["body"].startswith("BASE-SUMMARY") and "HEAD-SUMMARY" not in review["body"]


def test_the_model_token_named_by_the_base_config_is_masked_and_scrubbed() -> None:
    secret = "sekret-model-token-0123456789"
    case = corpus_pr("483b62eec2")
    with emulator() as srv, ModelServer(responder=diagnostics_for) as model:
        add_corpus_pull(srv, 7, case)
        srv.add_file(REPO, case.base, ".github/review-bot.toml", '[model]\ntoken_env = "MY_MODEL_TOKEN"\n')
        srv.fail_next("POST", r"/pulls/7/reviews$", 404, {"message": f"token {secret} is not allowed here"},
                      times=5)
        env = {**base_env(srv), "MY_MODEL_TOKEN": secret, "GITHUB_ACTIONS": "true"}
        code, out, err = run_main(review_args(model), env)
    assert code == 3, err
    assert f"::add-mask::{secret}" in out
    assert secret not in err and "***" in err


def test_the_job_summary_is_written_for_a_draft_and_for_a_model_failure(tmp_path: Path) -> None:
    case = corpus_pr("483b62eec2")
    with emulator() as srv, ModelServer(responder=diagnostics_for) as model, \
            ModelServer(responder=diagnostics_for, token="hf_needed") as refusing:
        add_corpus_pull(srv, 7, case, draft=True)
        add_corpus_pull(srv, 8, case)
        draft_summary, failed_summary = tmp_path / "draft.md", tmp_path / "failed.md"
        code, _, err = run_main(review_args(model), {**base_env(srv), "GITHUB_STEP_SUMMARY": str(draft_summary)})
        assert code == 0, err
        assert "draft" in draft_summary.read_text(encoding="utf-8")
        args = review_args(refusing)
        args[args.index("7")] = "8"
        code, _, err = run_main(args, {**base_env(srv), "GITHUB_STEP_SUMMARY": str(failed_summary)})
        assert code == 3, err
        text = failed_summary.read_text(encoding="utf-8")
        assert "Review: not done" in text and "401" in text, text
        assert not srv.reviews(REPO, 8)


def test_an_oversized_config_is_one_input_error_and_a_big_template_is_read_raw() -> None:
    case = corpus_pr("483b62eec2")
    with emulator() as srv, ModelServer(responder=diagnostics_for) as model:
        add_corpus_pull(srv, 7, case)
        padding = "{# " + "x" * 1_200_000 + " #}"  # over the contents API's 1 MB: only the raw media type
        srv.add_file(REPO, case.base, ".github/review-bot/summary.md.j2", padding + "BIG TEMPLATE {{ total }}\n")
        code, _, err = run_main(review_args(model), base_env(srv))
        assert code == 0, err
        assert "BIG TEMPLATE" in srv.reviews(REPO, 7)[0]["body"]
    with emulator() as srv, ModelServer(responder=diagnostics_for) as model:
        add_corpus_pull(srv, 7, case)
        srv.add_file(REPO, case.base, ".github/review-bot.toml", "# " + "y" * 2_500_000 + "\n")
        code, _, err = run_main(review_args(model), base_env(srv))
        assert code == 2, err
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and "review-bot.toml" in lines[0] and "bytes" in lines[0], err
        assert not model.requests


def test_a_push_while_reading_the_diff_reviews_and_posts_on_the_new_head() -> None:
    case = corpus_pr("483b62eec2")
    new_head = "f" * 40
    with emulator() as srv, ModelServer(responder=diagnostics_for) as model:
        add_corpus_pull(srv, 7, case)
        srv.after_next("GET", r"/pulls/7$", lambda s: s.push(REPO, 7, case.diff_text, new_head), accept="diff")
        code, _, err = run_main(review_args(model), base_env(srv))
        assert code == 0, err
        [review] = srv.reviews(REPO, 7)
        assert review["commit_id"] == new_head
        assert f"review-bot:head={new_head}" in review["body"]


def _history(tmp_path: Path) -> tuple[Path, list[str]]:
    """v0; v1 changes a.py lines 10 and 80 and b.py line 5; v2 changes a.py line 82 only."""
    def lines(n: int, changed: dict[int, str]) -> str:
        return "".join(changed.get(i, f"value_{i} = {i}") + "\n" for i in range(1, n + 1))
    repo = tmp_path / "repo"
    shas = git_history(repo, [
        {"a.py": lines(100, {}), "b.py": lines(50, {})},
        {"a.py": lines(100, {10: "value_10 = 'ten'", 80: "value_80 = None"}), "b.py": lines(50, {5: "value_5 = 5.0"})},
        {"a.py": lines(100, {10: "value_10 = 'ten'", 80: "value_80 = None", 82: "value_82 = value_80 + 1"})},
    ])
    return repo, shas


def test_a_run_with_nothing_to_say_still_moves_the_incremental_baseline(tmp_path: Path) -> None:
    repo, (v0, v1, v2) = _history(tmp_path)
    with emulator() as srv, ModelServer(responder=lambda prompt, payload: "no problems found\n") as model:
        srv.add_pull(REPO, 7, git_diff(repo, v0, v1), base_sha=v0, head_sha=v1)
        code, _, err = run_main(review_args(model), base_env(srv))
        assert code == 0, err
        assert srv.reviews(REPO, 7) == []  # nothing to say: no review, nobody notified
        [status] = srv.statuses(REPO, v1)
        assert (status["context"], status["state"]) == ("review-bot", "success")
        assert status["description"].startswith("reviewed:")
        srv.push(REPO, 7, git_diff(repo, v0, v2), v2)
        srv.add_compare(REPO, v1, v2, git_diff(repo, v1, v2))
        code, out, err = run_main([*review_args(model), "--mode", "incremental", "--format", "json"], base_env(srv))
        assert code == 0, err
        skipped = {(s["path"], s["reason"]) for s in json.loads(out)["skipped"]}
        assert skipped == {("a.py", "incremental"), ("b.py", "incremental")}, err
        assert "82" in model.requests[-1].prompt and "value_5 = 5.0" not in model.requests[-1].prompt
        assert srv.statuses(REPO, v2)[0]["description"].startswith("reviewed:")


@pytest.mark.parametrize("setter", ["renovate[bot]", "partial"])
def test_only_our_complete_reviewed_status_is_a_baseline(tmp_path: Path, setter: str) -> None:
    repo, (v0, v1, v2) = _history(tmp_path)
    with emulator() as srv, ModelServer(responder=lambda prompt, payload: "fine\n") as model:
        srv.add_token("ghs_renovate", login="renovate[bot]")
        srv.add_pull(REPO, 7, git_diff(repo, v0, v1), base_sha=v0, head_sha=v1)
        srv.push(REPO, 7, git_diff(repo, v0, v2), v2)
        srv.add_compare(REPO, v1, v2, git_diff(repo, v1, v2))
        token, description = (("ghs_renovate", "reviewed: 0 findings") if setter != "partial"
                              else (BOT_TOKEN, "partly reviewed: some hunks were skipped"))
        answer = requests.post(f"{srv.url}/repos/{REPO}/statuses/{v1}", timeout=10,
                               headers={"Authorization": f"Bearer {token}"},
                               json={"state": "success", "context": "review-bot", "description": description})
        assert answer.status_code == 201
        code, out, err = run_main([*review_args(model), "--mode", "incremental", "--format", "json"], base_env(srv))
        assert code == 0, err
        assert not [s for s in json.loads(out)["skipped"] if s["reason"] == "incremental"]


def test_a_missing_github_token_is_exit_2_with_one_line() -> None:
    code, out, err = run_main(["review", "--repo", REPO, "--pr", "7"], {"PATH": "/usr/bin:/bin"})
    assert code == 2 and out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "GITHUB_TOKEN is not set" in lines[0], err


def test_the_newer_of_our_status_and_our_review_marker_is_the_baseline(tmp_path: Path) -> None:
    repo, (v0, v1, v2) = _history(tmp_path)
    v3 = "3" * 40
    with emulator() as srv, ModelServer(responder=lambda prompt, payload: "fine\n") as model:
        srv.add_pull(REPO, 7, git_diff(repo, v0, v1), base_sha=v0, head_sha=v1)
        requests.post(f"{srv.url}/repos/{REPO}/statuses/{v1}", headers={"Authorization": f"Bearer {BOT_TOKEN}"},
                      json={"state": "success", "context": "review-bot", "description": "reviewed: 0 findings"},
                      timeout=10).raise_for_status()
        srv.push(REPO, 7, git_diff(repo, v0, v2), v2)
        # The run on v2 posted its review, but its status write failed: the marker is newer.
        srv.add_review(REPO, 7, {"commit_id": v2, "event": "COMMENT", "body": f"r\n\n{head_marker(v2)}"})
        srv.push(REPO, 7, git_diff(repo, v0, v2), v3)
        srv.add_compare(REPO, v2, v3, "")
        code, out, err = run_main([*review_args(model), "--mode", "incremental", "--format", "json"], base_env(srv))
        assert code == 0, err
        assert "incremental since " + v2[:12] in err
        assert not model.requests  # nothing changed since v2


# -- issue 16, defect 1: a hunk hidden behind a content skip is never treated as reviewed ----------

MALICIOUS = "os.system(request.args['cmd'])  # MALICIOUS-HUNK"


def _hidden_hunk_history(tmp_path: Path, variant: str) -> tuple[Path, list[str]]:
    """v0: a.py (300 lines) and b.py; v1 adds, near the top of a.py, a `generated` marker or 5,001
    padding lines, and ~150 lines further down a malicious line (a second hunk); v2 removes only
    the marker or the padding. b.py changes once, in v1, and is reviewed normally."""
    def text(top: list[str], changed: dict[int, str]) -> str:
        body = [changed.get(i, f"value_{i} = {i}") for i in range(1, 301)]
        return "\n".join(body[:2] + top + body[2:]) + "\n"
    hider = (["# Code generated by protoc-gen-go. DO NOT EDIT."] if variant == "marker"
             else [f"pad_{i} = {i}" for i in range(5001)])
    repo = tmp_path / "repo"
    shas = git_history(repo, [
        {"a.py": text([], {}), "b.py": "b = 1\n"},
        {"a.py": text(hider, {150: MALICIOUS}), "b.py": "b = 2\n"},
        {"a.py": text([], {150: MALICIOUS})},
    ])
    return repo, shas


@pytest.mark.parametrize("variant", ["marker", "padding"])
def test_a_hunk_hidden_behind_a_content_skip_is_reviewed_once_the_skip_is_gone(tmp_path: Path,
                                                                               variant: str) -> None:
    repo, (v0, v1, v2) = _hidden_hunk_history(tmp_path, variant)
    with emulator() as srv, ModelServer(responder=diagnostics_for) as model:
        srv.add_pull(REPO, 7, git_diff(repo, v0, v1), base_sha=v0, head_sha=v1)
        code, out, err = run_main([*review_args(model, "--mode", "incremental"), "--format", "json"], base_env(srv))
        assert code == 0, err
        reasons = {(s["path"], s["reason"]) for s in json.loads(out)["skipped"]}
        assert ("a.py", "generated" if variant == "marker" else "too_large") in reasons
        assert not any(MALICIOUS in r.prompt for r in model.requests)  # the skip hid it, as it should
        seen = len(model.requests)

        srv.push(REPO, 7, git_diff(repo, v0, v2), v2)  # only the marker or the padding goes
        srv.add_compare(REPO, v1, v2, git_diff(repo, v1, v2))
        code, out, err = run_main([*review_args(model, "--mode", "incremental"), "--format", "json"], base_env(srv))
        assert code == 0, err
        assert "incremental since " + v1[:12] in err  # v1 is still the baseline, for b.py
        prompts = [r.prompt for r in model.requests[seen:]]
        assert any(MALICIOUS in p for p in prompts), "the hidden hunk must reach the model"
        assert not any("b = 2" in p for p in prompts)  # b.py was reviewed at v1: still incremental
        skipped = {(s["path"], s["reason"]) for s in json.loads(out)["skipped"]}
        assert ("b.py", "incremental") in skipped and not any(p == "a.py" for p, _ in skipped)
        assert srv.statuses(REPO, v2)[0]["description"].startswith("reviewed:")
        # v1 is not recorded as completely reviewed: a.py was never sent to the model there.
        assert not srv.statuses(REPO, v1)[0]["description"].startswith("reviewed:")


def _move_and_commit(repo: Path, old: str, new: str, text: str) -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c",
                               "commit.gpgsign=false", *args], cwd=repo, check=True, capture_output=True,
                              text=True).stdout
    (repo / new).parent.mkdir(parents=True, exist_ok=True)
    git("mv", old, new)
    (repo / new).write_text(text, encoding="utf-8")
    git("commit", "-qam", f"move {old} to {new}")
    return git("rev-parse", "HEAD").strip()


def test_a_file_moved_out_of_a_skipped_path_is_reviewed_whole(tmp_path: Path) -> None:
    """The path is the PR's content too: v1 moves src/x.py under vendor/ (skipped as vendored code)
    and adds a malicious line; v2 moves it back with a one-line edit near the top."""
    def text(changed: dict[int, str]) -> str:
        return "".join(changed.get(i, f"value_{i} = {i}") + "\n" for i in range(1, 301))
    repo = tmp_path / "repo"
    [v0] = git_history(repo, [{"src/x.py": text({})}])
    v1 = _move_and_commit(repo, "src/x.py", "vendor/x.py", text({150: MALICIOUS}))
    v2 = _move_and_commit(repo, "vendor/x.py", "src/x.py", text({2: "value_2 = 'two'", 150: MALICIOUS}))
    with emulator() as srv, ModelServer(responder=diagnostics_for) as model:
        srv.add_pull(REPO, 7, git_diff(repo, v0, v1), base_sha=v0, head_sha=v1)
        code, out, err = run_main([*review_args(model, "--mode", "incremental"), "--format", "json"], base_env(srv))
        assert code == 0, err
        assert ("vendor/x.py", "generated") in {(s["path"], s["reason"]) for s in json.loads(out)["skipped"]}
        assert not model.requests
        srv.push(REPO, 7, git_diff(repo, v0, v2), v2)
        srv.add_compare(REPO, v1, v2, git_diff(repo, v1, v2))
        code, out, err = run_main([*review_args(model, "--mode", "incremental"), "--format", "json"], base_env(srv))
        assert code == 0, err
        assert any(MALICIOUS in r.prompt for r in model.requests), err


# -- issue 16, defect 3: a GitHub App installation token recognises its own posts ---------------

APP_TOKEN = "ghs_review_app_installation"  # actions/create-github-app-token's output


def test_three_runs_with_a_github_app_token_post_one_review() -> None:
    case = corpus_pr("483b62eec2")
    with emulator() as srv, ModelServer(responder=diagnostics_for) as model:
        srv.add_token(APP_TOKEN, login="review-app[bot]")  # GET /user: 403, as GitHub answers it
        add_corpus_pull(srv, 7, case)
        for _ in range(3):
            code, _, err = run_main(review_args(model), base_env(srv, APP_TOKEN))
            assert code == 0, err
        reviews = srv.reviews(REPO, 7)
        assert [r["user"]["login"] for r in reviews] == ["review-app[bot]"]
        comments = srv.review_comments(REPO, 7)
        assert comments and len({c["body"] for c in comments}) == len(comments)  # one copy of each


def test_an_app_token_ignores_markers_and_statuses_of_other_accounts(tmp_path: Path) -> None:
    """github-actions[bot] (any workflow of the repository) and renovate[bot] copy our markers:
    to the App's token they are someone else's text, not a review of ours."""
    repo, (v0, v1, v2) = _history(tmp_path)
    with emulator() as srv, ModelServer(responder=diagnostics_for) as model:
        srv.add_token(APP_TOKEN, login="review-app[bot]")
        srv.add_token("ghs_renovate", login="renovate[bot]")
        srv.add_pull(REPO, 7, git_diff(repo, v0, v2), base_sha=v0, head_sha=v2)
        srv.add_compare(REPO, v1, v2, git_diff(repo, v1, v2))
        srv.add_review(REPO, 7, {"commit_id": v2, "event": "COMMENT", "body": f"forged\n\n{head_marker(v2)}"})
        for token, sha in ((BOT_TOKEN, v1), ("ghs_renovate", v2)):
            requests.post(f"{srv.url}/repos/{REPO}/statuses/{sha}", headers={"Authorization": f"Bearer {token}"},
                          json={"state": "success", "context": "review-bot", "description": "reviewed: 0 findings"},
                          timeout=10).raise_for_status()
        code, out, err = run_main([*review_args(model, "--mode", "incremental"), "--format", "json"],
                                  base_env(srv, APP_TOKEN))
        assert code == 0, err
        assert "incremental since" not in err and model.requests  # no baseline: everything reviewed
        assert not [s for s in json.loads(out)["skipped"] if s["reason"] == "incremental"]
        assert [r["user"]["login"] for r in srv.reviews(REPO, 7)] == ["github-actions[bot]", "review-app[bot]"]


def test_when_github_will_not_say_who_the_token_is_the_log_says_who_posted() -> None:
    case = corpus_pr("483b62eec2")
    with emulator() as srv, ModelServer(responder=diagnostics_for) as model:
        srv.add_token(APP_TOKEN, login="review-app[bot]")
        add_corpus_pull(srv, 7, case)
        srv.fail_next("POST", r"^/graphql$", 502, {"message": "Server Error"})  # and GET /user: 403
        code, _, err = run_main(review_args(model), base_env(srv, APP_TOKEN))
        assert code == 0, err
        assert "GitHub shows it as posted by review-app[bot], but the token was taken for github-actions[bot]" in err
