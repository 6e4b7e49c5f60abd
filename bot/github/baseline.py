"""The incremental baseline: the newest head of a pull request the bot reviewed completely.

Every run that reviewed a head records it as a commit status (context `review-bot`) on that
head, whether a review was posted or there was nothing to say: a status notifies nobody.
The next incremental run walks the pull request's commits newest first and takes the first
one carrying such a status written by the bot's own account, or named by the head marker of
the bot's last complete review (bot.github.markers.last_reviewed_head). A token that may not read or
write statuses (`statuses: write` not granted) gets the review marker alone, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.github.api import ApiFailure, GitHubApi
from bot.github.markers import is_own, last_reviewed_head

STATUS_CONTEXT = "review-bot"
REVIEWED = "reviewed"  # the description of a complete review starts with this
PARTLY = "partly reviewed"  # budget or model errors left parts out: not a baseline
MAX_LOOKUPS = 20  # commits whose statuses are read, newest first


def status_payload(findings: int, complete: bool) -> dict[str, Any]:
    if complete:
        description = f"{REVIEWED}: {findings} finding{'s' if findings != 1 else ''}"
    else:
        description = f"{PARTLY}: some hunks were skipped (budget or model errors)"
    return {"state": "success", "context": STATUS_CONTEXT, "description": description}


def record_reviewed_head(api: GitHubApi, sha: str, findings: int, complete: bool) -> str | None:
    """Record the reviewed head; None when done, else why not (one line; never raises for GitHub)."""
    try:
        api.create_status(sha, status_payload(findings, complete))
    except ApiFailure as err:
        return str(err)
    return None


def _ours(status: Mapping[str, Any], own_login: str) -> bool:
    description = status.get("description")
    return (status.get("context") == STATUS_CONTEXT and status.get("state") == "success"
            and isinstance(description, str) and description.startswith(REVIEWED + ":")
            and is_own({"user": status.get("creator")}, own_login))


def baseline_head(api: GitHubApi, number: int) -> str | None:
    """The newest commit of the pull request we reviewed completely: the first, newest first, that
    carries our `reviewed` status or is the head of our last complete review (its marker; a
    status write may have failed). None when there is neither."""
    own_login = api.own_login()
    marked = last_reviewed_head(api.reviews(number), own_login)
    try:
        commits = api.pull_commits(number)
        for commit in reversed(commits[-MAX_LOOKUPS:]):
            sha = commit.get("sha")
            if not isinstance(sha, str):
                continue
            if sha == marked or any(_ours(s, own_login) for s in api.statuses(sha, limit=100)):
                return sha
    except ApiFailure as err:
        if err.status not in (403, 404, 422):  # a token that may not read statuses: markers only
            raise
    return marked
