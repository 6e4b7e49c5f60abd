"""bot.sources.event against the real webhook payloads in tests/fixtures/events/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.errors import EXIT_USAGE, InputError
from bot.sources.event import read_event
from tests.conftest import EVENTS

HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
BASE = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def env_for(tmp_path: Path, event: str, payload: Any, **extra: str) -> dict[str, str]:
    path = tmp_path / "event.json"
    if isinstance(payload, bytes):
        path.write_bytes(payload)
    else:
        path.write_text(payload if isinstance(payload, str) else json.dumps(payload), encoding="utf-8")
    return {"GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(path), **extra}


def refused(env: dict[str, str]) -> str:
    with pytest.raises(InputError) as caught:
        read_event(env)
    message = str(caught.value)
    assert "\n" not in message and caught.value.exit_code == EXIT_USAGE
    return message


@pytest.mark.parametrize("event", ["pull_request", "pull_request_target"])
def test_opened(tmp_path: Path, event: str) -> None:
    ctx = read_event(env_for(tmp_path, event, load("pull_request.opened.json")))
    assert (ctx.event_name, ctx.repo, ctx.pr, ctx.action) == (event, "Codertocat/Hello-World", 2, "opened")
    assert (ctx.head_sha, ctx.base_sha, ctx.before_sha) == (HEAD, BASE, None)
    assert (ctx.is_draft, ctx.is_fork, ctx.mode) == (False, False, "full")
    assert ctx.skip_reason is None


def test_synchronize_is_incremental_with_the_previous_head(tmp_path: Path) -> None:
    ctx = read_event(env_for(tmp_path, "pull_request", load("pull_request.synchronize.json")))
    assert ctx.mode == "incremental" and ctx.before_sha == BASE and ctx.head_sha == HEAD


def test_reopened_ready_and_null_body(tmp_path: Path) -> None:
    for name in ("pull_request.reopened.json", "pull_request.ready_for_review.json",
                 "pull_request.opened.null-body.json"):
        ctx = read_event(env_for(tmp_path, "pull_request", load(name)))
        assert ctx.mode == "full" and not ctx.is_draft and ctx.skip_reason is None


def test_converted_to_draft(tmp_path: Path) -> None:
    ctx = read_event(env_for(tmp_path, "pull_request", load("pull_request.converted_to_draft.json")))
    assert ctx.is_draft
    assert ctx.skip_reason is not None and "converted_to_draft" in ctx.skip_reason


def test_repository_comes_from_the_environment_first(tmp_path: Path) -> None:
    env = env_for(tmp_path, "pull_request", load("pull_request.opened.json"), GITHUB_REPOSITORY="o/r")
    assert read_event(env).repo == "o/r"


def test_fork_detection(tmp_path: Path) -> None:
    payload = load("pull_request.opened.json")
    payload["pull_request"]["head"]["repo"]["full_name"] = "mallory/Hello-World"
    assert read_event(env_for(tmp_path, "pull_request", payload)).is_fork
    payload["pull_request"]["head"]["repo"] = None  # the fork was deleted
    assert read_event(env_for(tmp_path, "pull_request", payload)).is_fork


def test_a_repository_that_is_itself_a_fork_is_no_fork_pr(tmp_path: Path) -> None:
    payload = load("pull_request.opened.json")
    payload["pull_request"]["head"]["repo"]["fork"] = True
    payload["pull_request"]["base"]["repo"]["fork"] = True
    assert not read_event(env_for(tmp_path, "pull_request", payload)).is_fork


def test_closed_action_asks_for_no_review(tmp_path: Path) -> None:
    payload = load("pull_request.opened.json")
    payload["action"] = "closed"
    assert read_event(env_for(tmp_path, "pull_request", payload)).skip_reason is not None


def test_workflow_dispatch(tmp_path: Path) -> None:
    payload = load("workflow_dispatch.json")
    payload["inputs"] = {"pr": "12", "mode": "incremental"}
    ctx = read_event(env_for(tmp_path, "workflow_dispatch", payload))
    assert (ctx.repo, ctx.pr, ctx.mode, ctx.action, ctx.head_sha) == ("octo-org/octo-repo", 12, "incremental",
                                                                      None, None)
    payload["inputs"] = {"pr": "#7"}
    ctx = read_event(env_for(tmp_path, "workflow_dispatch", payload))
    assert (ctx.pr, ctx.mode) == (7, "full")


def test_workflow_dispatch_without_pr_is_refused(tmp_path: Path) -> None:
    # The real payload's inputs have no `pr`.
    message = refused(env_for(tmp_path, "workflow_dispatch", load("workflow_dispatch.json")))
    assert "input 'pr'" in message


@pytest.mark.parametrize("value", ["abc", "0", "-3", "1 2", "12; rm -rf /", ""])
def test_workflow_dispatch_bad_pr(tmp_path: Path, value: str) -> None:
    payload = load("workflow_dispatch.json")
    payload["inputs"] = {"pr": value}
    assert "input 'pr'" in refused(env_for(tmp_path, "workflow_dispatch", payload))


def test_workflow_dispatch_bad_mode(tmp_path: Path) -> None:
    payload = load("workflow_dispatch.json")
    payload["inputs"] = {"pr": "3", "mode": "everything"}
    assert "'mode'" in refused(env_for(tmp_path, "workflow_dispatch", payload))


def test_unknown_event(tmp_path: Path) -> None:
    message = refused(env_for(tmp_path, "push", load("pull_request.opened.json")))
    assert "'push' is not supported" in message


def test_missing_environment(tmp_path: Path) -> None:
    assert "GITHUB_EVENT_NAME" in refused({})
    assert "GITHUB_EVENT_PATH" in refused({"GITHUB_EVENT_NAME": "pull_request"})
    missing = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(tmp_path / "nope.json")}
    assert "no such file" in refused(missing)


@pytest.mark.parametrize("payload", ["{not json", "[1, 2]", b"\xff\xfe{}", ""])
def test_malformed_payload(tmp_path: Path, payload: str | bytes) -> None:
    refused(env_for(tmp_path, "pull_request", payload))


def test_payload_without_pull_request_or_shas(tmp_path: Path) -> None:
    payload = load("pull_request.opened.json")
    broken = dict(payload)
    del broken["pull_request"]
    assert "pull_request object" in refused(env_for(tmp_path, "pull_request", broken))
    payload["pull_request"]["head"]["sha"] = "not-a-sha"
    assert "head.sha" in refused(env_for(tmp_path, "pull_request", payload))


def test_payload_number_must_be_positive(tmp_path: Path) -> None:
    payload = load("pull_request.opened.json")
    payload["number"] = 0
    assert "number" in refused(env_for(tmp_path, "pull_request", payload))
