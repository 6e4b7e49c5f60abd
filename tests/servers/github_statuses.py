"""Commit statuses in the GitHub emulator, validated like GitHub.

POST /repos/{o}/{r}/statuses/{sha}: write token (403 "Resource not accessible by integration"
otherwise); a JSON object with ``state`` one of error, failure, pending, success (422
"Validation Failed" naming the field); ``sha`` a full commit sha the repository has (422 "No
commit found for SHA: ..."); ``description`` at most 140 characters; ``target_url`` an http(s)
URL or absent; at most 1000 statuses per sha and context. ``context`` defaults to "default".
Answers 201 with the status. GET /repos/{o}/{r}/commits/{ref}/statuses lists them newest
first (paginated; an unknown ref answers 404); the creator is the token's user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.servers.github_state import ApiError, now_iso

if TYPE_CHECKING:
    from tests.servers.github_routes import Ctx, Reply

DOC = "https://docs.github.com/rest/commits/statuses#create-a-commit-status"
STATES = ("error", "failure", "pending", "success")
MAX_DESCRIPTION = 140
MAX_PER_CONTEXT = 1000


@dataclass(frozen=True)
class Status:
    id: int
    repo: str
    sha: str
    state: str
    description: str | None
    target_url: str | None
    context: str
    creator: str
    created_at: str


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "Validation Failed",
                    [{"resource": "Status", "code": "custom", "field": field, "message": message}], DOC)


def view(ctx: Ctx, s: Status) -> dict[str, Any]:
    url = f"{ctx.srv.url}/repos/{s.repo}/statuses/{s.sha}"
    return {"url": url, "avatar_url": None, "id": s.id, "node_id": f"SC_{s.id}", "state": s.state,
            "description": s.description, "target_url": s.target_url, "context": s.context,
            "created_at": s.created_at, "updated_at": s.created_at, "creator": ctx.views.user(s.creator)}


def _known_commit(ctx: Ctx, repo: str, sha: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-f]{40}", sha)) and sha in ctx.srv.known_refs(repo)


def create_status(ctx: Ctx, repo: str, sha: str) -> Reply:
    from tests.servers.github_routes import Reply

    ctx.srv._repo(repo)
    ctx.require_write(DOC)
    payload = ctx.json()
    if not isinstance(payload, dict):
        raise ApiError(400, "Problems parsing JSON", doc=DOC)
    state = payload.get("state")
    if state not in STATES:
        raise _invalid("state", "state is not included in the list")
    if not _known_commit(ctx, repo, sha):
        raise ApiError(422, f"No commit found for SHA: {sha}", doc=DOC)
    description = payload.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > MAX_DESCRIPTION):
        raise _invalid("description", f"description is too long (maximum is {MAX_DESCRIPTION} characters)")
    target = payload.get("target_url")
    if target is not None and not (isinstance(target, str) and re.match(r"https?://", target)):
        raise _invalid("target_url", "target_url must use http(s) scheme")
    context = payload.get("context") or "default"
    if not isinstance(context, str):
        raise _invalid("context", "context is not a string")
    same = [s for s in ctx.srv._statuses if (s.repo, s.sha, s.context) == (repo, sha, context)]
    if len(same) >= MAX_PER_CONTEXT:
        raise ApiError(422, "This SHA and context has reached the maximum number of statuses.", doc=DOC)
    status = Status(ctx.srv.new_id(), repo, sha, state, description, target, context, ctx.token.login, now_iso())
    ctx.srv._statuses.append(status)
    return Reply(201, view(ctx, status))


def list_statuses(ctx: Ctx, repo: str, ref: str) -> Reply:
    ctx.srv._repo(repo)
    if ref not in ctx.srv.known_refs(repo):
        raise ApiError(404, "Not Found", doc="https://docs.github.com/rest/commits/statuses")
    shas = ctx.srv.ref_aliases(repo, ref)
    found = [s for s in reversed(ctx.srv._statuses) if s.repo == repo and s.sha in shas]
    return ctx.page([view(ctx, s) for s in found])
