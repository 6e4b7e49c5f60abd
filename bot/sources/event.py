"""Source context from a GitHub Actions run: which pull request, which commits, which mode.

`pull_request` / `pull_request_target`: everything comes from the webhook payload at
`GITHUB_EVENT_PATH`. `workflow_dispatch`: the inputs `pr` (required) and `mode`
(`full` | `incremental`, default `full`). Anything else is an InputError with one line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.errors import InputError

Mode = Literal["full", "incremental"]
PR_EVENTS = ("pull_request", "pull_request_target")
DISPATCH_EVENT = "workflow_dispatch"
# Pull request actions that ask for a review; others (closed, labeled, edited ...) do not.
REVIEW_ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review")
MAX_EVENT_BYTES = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_PR_INPUT = re.compile(r"^#?([1-9][0-9]{0,9})$")


@dataclass(frozen=True)
class EventContext:
    event_name: str
    repo: str
    pr: int
    head_sha: str | None  # None for workflow_dispatch: read from the API
    base_sha: str | None
    before_sha: str | None  # the previous head, on `synchronize`
    action: str | None  # None for workflow_dispatch
    is_draft: bool
    is_fork: bool
    mode: Mode

    @property
    def skip_reason(self) -> str | None:
        """Why this event asks for no review (e.g. `closed`), or None."""
        if self.action is None or self.action in REVIEW_ACTIONS:
            return None
        return f"the pull request event action is '{self.action}', not one of {', '.join(REVIEW_ACTIONS)}"


def _load_payload(env: Mapping[str, str]) -> dict[str, Any]:
    where = env.get("GITHUB_EVENT_PATH", "").strip()
    if not where:
        raise InputError("GITHUB_EVENT_PATH is not set; run inside GitHub Actions, or use "
                         "`review-bot review --repo OWNER/NAME --pr N`")
    path = Path(where)
    try:
        if path.stat().st_size > MAX_EVENT_BYTES:
            raise InputError(f"GITHUB_EVENT_PATH {where}: larger than {MAX_EVENT_BYTES // 2**20} MiB; "
                             "not a GitHub event payload")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"GITHUB_EVENT_PATH {where}: no such file; run inside GitHub Actions") from None
    except OSError as err:
        raise InputError(f"GITHUB_EVENT_PATH {where}: cannot read it ({err.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"GITHUB_EVENT_PATH {where}: not a JSON event payload "
                         f"({type(err).__name__})") from None
    if not isinstance(data, dict):
        raise InputError(f"GITHUB_EVENT_PATH {where}: the payload is not a JSON object")
    return data


def _repo(env: Mapping[str, str], payload: Mapping[str, Any]) -> str:
    repo = env.get("GITHUB_REPOSITORY", "").strip()
    if not repo:
        repository = payload.get("repository")
        name = repository.get("full_name") if isinstance(repository, Mapping) else None
        repo = name if isinstance(name, str) else ""
    if not _REPO.match(repo):
        raise InputError("the repository is unknown: GITHUB_REPOSITORY is not OWNER/NAME and the event "
                         "payload names none; pass --repo OWNER/NAME")
    return repo


def _sha(value: Any, what: str, event: str) -> str:
    if not isinstance(value, str) or not _SHA.match(value):
        raise InputError(f"the {event} payload has no valid {what}; is GITHUB_EVENT_PATH a {event} event?")
    return value


def _pull_request_context(event: str, env: Mapping[str, str], payload: Mapping[str, Any]) -> EventContext:
    pr = payload.get("pull_request")
    if not isinstance(pr, Mapping):
        raise InputError(f"the {event} payload has no pull_request object; "
                         f"is GITHUB_EVENT_PATH a {event} event?")
    number = payload.get("number", pr.get("number"))
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        raise InputError(f"the {event} payload has no valid pull request number")
    head, base = pr.get("head"), pr.get("base")
    if not isinstance(head, Mapping) or not isinstance(base, Mapping):
        raise InputError(f"the {event} payload's pull_request has no head or base")
    head_sha = _sha(head.get("sha"), "pull_request.head.sha", event)
    base_sha = _sha(base.get("sha"), "pull_request.base.sha", event)
    action = payload.get("action")
    action = action if isinstance(action, str) else None
    before = payload.get("before")
    before_sha = before if isinstance(before, str) and _SHA.match(before) else None
    head_repo, base_repo = head.get("repo"), base.get("repo")
    if not isinstance(head_repo, Mapping):
        is_fork = True  # the fork was deleted
    else:
        # Compare names, not `head.repo.fork`: a PR inside a repository that is itself a fork is no fork PR.
        is_fork = isinstance(base_repo, Mapping) and head_repo.get("full_name") != base_repo.get("full_name")
    return EventContext(
        event_name=event, repo=_repo(env, payload), pr=number, head_sha=head_sha, base_sha=base_sha,
        before_sha=before_sha, action=action, is_draft=pr.get("draft") is True, is_fork=is_fork,
        mode="incremental" if action == "synchronize" else "full")


def _dispatch_context(env: Mapping[str, str], payload: Mapping[str, Any]) -> EventContext:
    inputs = payload.get("inputs")
    inputs = inputs if isinstance(inputs, Mapping) else {}
    raw_pr = inputs.get("pr")
    text = str(raw_pr).strip() if isinstance(raw_pr, str | int) and not isinstance(raw_pr, bool) else ""
    match = _PR_INPUT.match(text)
    if match is None:
        shown = "missing" if not text else "not a pull request number"
        raise InputError(f"workflow_dispatch input 'pr' is {shown}; run the workflow with pr set to the "
                         "pull request number, e.g. 42")
    raw_mode = inputs.get("mode")
    mode = str(raw_mode).strip().lower() if isinstance(raw_mode, str) else ""
    if mode not in ("", "full", "incremental"):
        raise InputError("workflow_dispatch input 'mode' must be 'full' or 'incremental'")
    return EventContext(
        event_name=DISPATCH_EVENT, repo=_repo(env, payload), pr=int(match.group(1)), head_sha=None,
        base_sha=None, before_sha=None, action=None, is_draft=False, is_fork=False,
        mode="incremental" if mode == "incremental" else "full")


def read_event(env: Mapping[str, str]) -> EventContext:
    """The pull request an Actions run is about, from GITHUB_EVENT_NAME and GITHUB_EVENT_PATH."""
    event = env.get("GITHUB_EVENT_NAME", "").strip()
    if not event:
        raise InputError("GITHUB_EVENT_NAME is not set; run inside GitHub Actions, or use "
                         "`review-bot review --repo OWNER/NAME --pr N`")
    if event not in (*PR_EVENTS, DISPATCH_EVENT):
        shown = event if re.fullmatch(r"[a-z_]{1,40}", event) else "(unrecognised)"
        raise InputError(f"GitHub event '{shown}' is not supported; trigger the workflow on "
                         "pull_request, pull_request_target or workflow_dispatch")
    payload = _load_payload(env)
    if event == DISPATCH_EVENT:
        return _dispatch_context(env, payload)
    return _pull_request_context(event, env, payload)
