"""bot.github.api: client construction and the retry policy, against the GitHub emulator."""

from __future__ import annotations

import socket
import time
from dataclasses import replace

import pytest
import requests
from urllib3.response import HTTPResponse

from bot.errors import InputError
from bot.github.api import ApiFailure, ClientOptions, GitHubApi, github_from_env, make_github, make_retry
from tests.github_helpers import BOT_TOKEN, FAST, REPO, USER_TOKEN, add_corpus_pull, api_for, corpus_pr, emulator


def test_reads_are_retried_after_a_5xx() -> None:
    with emulator() as srv:
        add_corpus_pull(srv, 3, corpus_pr("2b9035e2df"))
        srv.fail_next("GET", r"/pulls/3$", 502, {"message": "Bad Gateway"})
        assert api_for(srv).pull(3)["number"] == 3
        assert len(srv.calls_to("GET", r"/pulls/3$")) == 2


def test_a_post_is_never_resent_by_the_client() -> None:
    with emulator() as srv:
        case = corpus_pr("2b9035e2df")
        add_corpus_pull(srv, 3, case)
        srv.fail_next("POST", r"/reviews$", 502, {"message": "Bad Gateway"})
        with pytest.raises(ApiFailure) as caught:
            api_for(srv).create_review(3, {"commit_id": case.head, "event": "COMMENT", "body": "x"})
        assert caught.value.status == 502
        assert len(srv.calls_to("POST", r"/reviews$")) == 1


def test_secondary_rate_limit_on_a_read_waits_retry_after() -> None:
    with emulator() as srv:
        add_corpus_pull(srv, 3, corpus_pr("2b9035e2df"))
        srv.fail_secondary_rate_limit("GET", r"/pulls/3$", retry_after=1)
        started = time.monotonic()
        assert api_for(srv).pull(3)["number"] == 3
        assert time.monotonic() - started >= 1.0
        assert len(srv.calls_to("GET", r"/pulls/3$")) == 2


def test_retry_after_is_capped() -> None:
    retry = make_retry(ClientOptions(max_wait_s=7.0))
    assert retry.get_retry_after(HTTPResponse(status=429, headers={"Retry-After": "3600"})) == 7.0
    assert retry.get_retry_after(HTTPResponse(status=429, headers={"Retry-After": "2"})) == 2.0
    # urllib3 makes a fresh Retry object per attempt: the cap must survive that.
    assert retry.increment("GET", "/x").retry_after_cap == 7.0  # type: ignore[attr-defined]


def test_only_reads_are_retryable() -> None:
    retry = make_retry(ClientOptions())
    assert retry.is_retry("GET", 502) and retry.is_retry("GET", 429)
    for method in ("POST", "PATCH", "PUT", "DELETE"):
        assert not retry.is_retry(method, 502) and not retry.is_retry(method, 429, has_retry_after=True)


def test_bad_credentials_are_one_clear_line() -> None:
    with emulator() as srv:
        with pytest.raises(ApiFailure) as caught:
            api_for(srv, "ghp_wrong").pull(1)
        message = str(caught.value)
        assert caught.value.status == 401 and "GITHUB_TOKEN" in message and "\n" not in message
        assert "ghp_wrong" not in message


def test_pagination_follows_link_headers() -> None:
    case = corpus_pr("2b9035e2df")
    with emulator() as srv:
        add_corpus_pull(srv, 3, case)
        for i in range(150):
            srv.add_review(REPO, 3, {"commit_id": case.head, "event": "COMMENT", "body": f"r{i}"})
        reviews = api_for(srv).reviews(3)
        assert [r["body"] for r in reviews] == [f"r{i}" for i in range(150)]
        assert len(srv.calls_to("GET", r"/reviews$")) == 2


APP_TOKEN = "ghs_app_installation_token"  # actions/create-github-app-token: posts as review-app[bot]


def test_own_login_is_the_token_s_own_account_for_every_kind_of_token() -> None:
    with emulator() as srv:
        srv.add_token(APP_TOKEN, login="review-app[bot]")
        # GET /user answers as GitHub does: 200 for a user's token, 403 for installation tokens.
        for token, status in ((USER_TOKEN, 200), (BOT_TOKEN, 403), (APP_TOKEN, 403)):
            answer = requests.get(f"{srv.url}/user", headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert answer.status_code == status, token
        assert api_for(srv).own_login() == "github-actions[bot]"
        assert api_for(srv, USER_TOKEN).own_login() == "alice"
        assert api_for(srv, APP_TOKEN).own_login() == "review-app[bot]"  # not github-actions[bot]
        api = api_for(srv, APP_TOKEN)
        before = len(srv.calls)
        assert api.own_login() == api.own_login() == "review-app[bot]"
        assert len(srv.calls) == before + 1  # asked once per client


def test_own_login_falls_back_to_get_user_when_graphql_fails() -> None:
    with emulator() as srv:
        srv.fail_next("POST", r"^/graphql$", 502, {"message": "Server Error"})
        assert api_for(srv, USER_TOKEN).own_login() == "alice"
        assert len(srv.calls_to("GET", r"^/user$")) == 1


def test_connection_refused_is_no_answer() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    api = GitHubApi(make_github("ghs_x", f"http://127.0.0.1:{port}", FAST), REPO)
    with pytest.raises(ApiFailure) as caught:
        api.pull(1)
    assert caught.value.status is None and "no answer" in str(caught.value)


def test_construction_checks_inputs_and_does_no_io() -> None:
    with pytest.raises(InputError, match="GITHUB_TOKEN is not set"):
        github_from_env({})
    with pytest.raises(InputError, match="not an http"):
        github_from_env({"GITHUB_TOKEN": "t0ken", "GITHUB_API_URL": "ftp://x"})
    with pytest.raises(InputError, match="OWNER/NAME"):
        GitHubApi(make_github("t0ken", "http://127.0.0.1:9"), "no-slash")
    gh = github_from_env({"GITHUB_TOKEN": "t0ken", "GITHUB_API_URL": "https://ghe.example.com/api/v3/"})
    assert gh.requester.base_url == "https://ghe.example.com/api/v3"


def test_a_file_over_one_megabyte_is_read_raw() -> None:
    text = "# big\n" + "x = 1\n" * 300_000  # 1.8 MB: the contents API answers encoding "none"
    with emulator() as srv:
        srv.add_file(REPO, "main", "big.toml", text)
        assert api_for(srv).file_text("big.toml", "main") == text
        raw_calls = [c for c in srv.calls_to("GET", r"/contents/big.toml$") if "raw" in c.headers.get("accept", "")]
        assert len(raw_calls) == 1
        with pytest.raises(InputError, match="big.toml at main is 1,800,006 bytes"):
            api_for(srv).file_text("big.toml", "main", max_bytes=1_000_000)


def test_a_secondary_rate_limit_on_a_read_without_retry_after_follows_githubs_rules() -> None:
    slept: list[float] = []
    options = replace(FAST, retries=3, max_wait_s=100.0, secondary_rate_wait_s=60.0, sleep=slept.append)
    with emulator() as srv:
        srv.add_pull(REPO, 3, "", base_sha="a" * 40, head_sha="b" * 40)
        srv.fail_secondary_rate_limit("GET", r"/pulls/3$", retry_after=None, times=3)
        assert api_for(srv, options=options).pull(3)["number"] == 3
        assert len(srv.calls_to("GET", r"/pulls/3$")) == 4
    assert slept == [60.0, 100.0, 100.0]  # one minute, then doubling, each capped by max_wait_s


def test_an_exhausted_primary_limit_on_a_read_waits_until_the_reset() -> None:
    slept: list[float] = []
    options = replace(FAST, max_wait_s=100.0, sleep=slept.append, clock=lambda: 2_000_000_000.0)
    with emulator() as srv:
        srv.add_pull(REPO, 3, "", base_sha="a" * 40, head_sha="b" * 40)
        srv.fail_next("GET", r"/pulls/3$", 429, {"message": "API rate limit exceeded"},
                      {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "2000000040"})
        assert api_for(srv, options=options).pull(3)["number"] == 3
    assert slept == [41.0]


def test_only_trusted_skips_leave_a_file_reviewed_and_any_other_reason_does_not() -> None:
    from bot.github.baseline import TRUSTED_SKIPS, coverage, status_payload
    from bot.github.markers import path_key
    from bot.types import SKIP_REASONS, Skipped

    # Every reason, including ones added later (a wall-clock budget), is untrusted unless listed.
    for reason in (*SKIP_REASONS, "time_budget", "some_new_reason"):
        cover = coverage([Skipped("a.py", None, reason)])
        assert cover.complete == (reason in TRUSTED_SKIPS), reason
        assert cover.unreviewed == (frozenset() if reason in TRUSTED_SKIPS else {path_key("a.py")})
    assert TRUSTED_SKIPS == {"excluded", "deleted", "mode", "incremental"}
    described = status_payload(3, coverage([Skipped("a.py", None, "generated"), Skipped("b", "@@", "budget")]))
    assert described["description"].startswith("partly reviewed: 2 files not sent to the model (list ")
    assert len(described["description"]) <= 140  # GitHub's limit for a status description
    assert coverage([Skipped("(12 more files)", None, "too_large")]).partial
    assert coverage([Skipped(f"f{i}.py", None, "binary") for i in range(201)]).partial
