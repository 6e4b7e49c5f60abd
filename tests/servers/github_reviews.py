"""Review rules of the GitHub emulator (see github_server.py).

- the JSON-schema style errors of ``POST /pulls/{n}/reviews``;
- placing a review comment on the diff of its ``commit_id`` (``line``/``side``,
  ``start_line``/``start_side`` or legacy ``position``), or GitHub's error for it;
- the order in which GitHub refuses a review, and submitting a pending one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.servers.github_diff import FilePatch, PatchLine
from tests.servers.github_state import (
    DOC_REVIEWS,
    MAX_BODY,
    ApiError,
    EmulatorState,
    Pull,
    ResolvedComment,
    Review,
    ReviewComment,
    now_iso,
)

__all__ = [
    "LINE_ERROR", "LINE_ERROR_LEGACY", "PATH_ERROR", "SAME_HUNK_ERROR", "START_BEFORE_ERROR",
    "create_review", "resolve_comment", "schema_error", "submit_review",
]

# The two wordings GitHub has used for a comment that is not on the diff.
LINE_ERROR = "Line could not be resolved"
LINE_ERROR_LEGACY = (
    "Pull request review thread line must be part of the diff and "
    "Pull request review thread diff hunk can't be blank"
)
PATH_ERROR = "Path could not be resolved"
SAME_HUNK_ERROR = "Pull request review thread start line must be part of the same hunk as the line."
START_BEFORE_ERROR = "Pull request review thread start line must precede the end line."


# ---------------------------------------------------------------------------
# POST /pulls/{n}/reviews: schema checks, then diff checks


def _type_error(path: str, value: Any, expected: str) -> str:
    shown = "nil" if value is None else repr(value).replace("'", '"')
    return f"Invalid request.\n\nFor '{path}', {shown} is not {expected}."


def schema_error(payload: Any) -> str | None:
    """The JSON-schema message GitHub gives for a malformed review payload, or None."""
    if not isinstance(payload, dict):
        return "Invalid request.\n\nInvalid input: request body must be an object."
    for key in ("body", "commit_id"):
        if key in payload and not isinstance(payload[key], str):
            return _type_error(f"properties/{key}", payload[key], "a string")
    event = payload.get("event")
    if "event" in payload and event not in ("APPROVE", "REQUEST_CHANGES", "COMMENT"):
        shown = "nil" if event is None else repr(event).replace("'", '"')
        return (
            f"Invalid request.\n\nFor 'properties/event', {shown} is not one of "
            '["APPROVE", "REQUEST_CHANGES", "COMMENT"].'
        )
    comments = payload.get("comments", [])
    if not isinstance(comments, list):
        return _type_error("properties/comments", comments, "an array")
    for c in comments:
        if not isinstance(c, dict):
            return _type_error("items", c, "an object")
        for key in ("path", "body"):
            if key not in c:
                return f'Invalid request.\n\n"{key}" wasn\'t supplied.'
            if not isinstance(c[key], str):
                return _type_error(f"properties/{key}", c[key], "a string")
        for key in ("line", "start_line", "position"):
            if key in c and (not isinstance(c[key], int) or isinstance(c[key], bool)):
                return _type_error(f"properties/{key}", c[key], "an integer")
        for key in ("side", "start_side"):
            if key in c and c[key] not in ("LEFT", "RIGHT"):
                shown = "nil" if c[key] is None else repr(c[key]).replace("'", '"')
                sides = '["LEFT", "RIGHT"]'
                return f"Invalid request.\n\nFor 'properties/{key}', {shown} is not one of {sides}."
    return None


def resolve_comment(
    files: Mapping[str, FilePatch], c: Mapping[str, Any], line_error: str
) -> ResolvedComment | str:
    """Place one review comment on the diff, or return GitHub's error for it."""
    fp = files.get(c["path"])
    if fp is None:
        return PATH_ERROR
    target: PatchLine | None
    if "line" in c:
        side = c.get("side", "RIGHT")
        target = fp.commentable(side).get(c["line"])
        line = c["line"]
    elif "position" in c:
        target = fp.by_position.get(c["position"])
        if target is None:
            return line_error
        side = "LEFT" if target.kind == "-" else "RIGHT"
        line = target.old_no if side == "LEFT" else target.new_no  # type: ignore[assignment]
    else:
        return line_error
    if target is None:
        return line_error
    start_line = c.get("start_line")
    start_side = None
    if start_line is not None:
        start_side = c.get("start_side", side)
        start = fp.commentable(start_side).get(start_line)
        if start is None:
            return line_error
        if start.hunk != target.hunk:
            return SAME_HUNK_ERROR
        if start.position >= target.position:
            return START_BEFORE_ERROR
    return ResolvedComment(
        path=fp.filename,
        body=c["body"],
        line=line,
        side=side,
        start_line=start_line,
        start_side=start_side,
        position=target.position,
        diff_hunk=fp.diff_hunk(target),
    )


# ---------------------------------------------------------------------------
# Creating and submitting reviews (the emulator's one write path with real rules)


def create_review(
    store: EmulatorState, pr: Pull, login: str, payload: Any, line_error: str,
    actions_can_approve: bool,
) -> Review:
    """Validate ``POST /pulls/{n}/reviews`` in GitHub's order and store the review; ApiError if refused."""
    problem = schema_error(payload)
    if problem:
        raise ApiError(422, problem, doc=DOC_REVIEWS)
    if any(r.user == login and r.state == "PENDING" for r in store.review_list(pr, login)):
        raise ApiError(422, "Unprocessable Entity",
                       ["User can only have one pending review per pull request"], DOC_REVIEWS)
    commit_id = payload.get("commit_id", pr.head_sha)
    if commit_id not in pr.heads:
        raise ApiError(422, "Unprocessable Entity", ["The commitOID is not part of the pull request"],
                       DOC_REVIEWS)
    event, body = payload.get("event"), payload.get("body", "")
    if len(body) > MAX_BODY:
        raise ApiError(422, "Unprocessable Entity",
                       [f"Body is too long (maximum is {MAX_BODY} characters)"], DOC_REVIEWS)
    if event in ("APPROVE", "REQUEST_CHANGES") and login == pr.user:
        verb = "approve" if event == "APPROVE" else "request changes on"
        raise ApiError(422, "Unprocessable Entity", [f"Can not {verb} your own pull request"],
                       DOC_REVIEWS)
    if event == "APPROVE" and login == "github-actions[bot]" and not actions_can_approve:
        raise ApiError(422, "Unprocessable Entity",
                       ["GitHub Actions is not permitted to approve pull requests."], DOC_REVIEWS)
    files = pr.heads[commit_id].by_name
    placed: list[ResolvedComment] = []
    errors: list[str] = []
    for c in payload.get("comments", []):
        got = resolve_comment(files, c, line_error)
        if isinstance(got, str):
            if got not in errors:
                errors.append(got)
        else:
            placed.append(got)
    if errors:
        raise ApiError(422, "Unprocessable Entity", errors, DOC_REVIEWS)
    if event in ("COMMENT", "REQUEST_CHANGES") and not body.strip() and not placed:
        raise ApiError(422, "Unprocessable Entity", ["Review body is required"], DOC_REVIEWS)
    state = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}
    review = Review(store.new_id(), pr.repo, pr.number, login, body, state.get(event, "PENDING"),
                    commit_id, None if event is None else now_iso())
    store._reviews.append(review)
    for p in placed:
        store._review_comments.append(
            ReviewComment(store.new_id(), review.id, pr.repo, pr.number, login, commit_id, p, now_iso())
        )
    return review


def submit_review(store: EmulatorState, review: Review, payload: Any) -> None:
    """``POST /reviews/{id}/events``: turn a pending review into a submitted one."""
    events = ("APPROVE", "REQUEST_CHANGES", "COMMENT")
    if not isinstance(payload, dict) or payload.get("event") not in events:
        raise ApiError(422, 'Invalid request.\n\n"event" wasn\'t supplied.', doc=DOC_REVIEWS)
    if review.state != "PENDING":
        raise ApiError(422, "Unprocessable Entity", ["Can not submit a non-pending review"], DOC_REVIEWS)
    body = payload.get("body", review.body)
    if not isinstance(body, str):
        raise ApiError(422, "Invalid request.\n\nFor 'properties/body', nil is not a string.",
                       doc=DOC_REVIEWS)
    has_comments = any(c.review_id == review.id for c in store._review_comments)
    if payload["event"] != "APPROVE" and not body.strip() and not has_comments:
        raise ApiError(422, "Unprocessable Entity", ["Review body is required"], DOC_REVIEWS)
    state = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}
    review.state, review.body, review.submitted_at = state[payload["event"]], body, now_iso()
