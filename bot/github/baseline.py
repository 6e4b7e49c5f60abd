"""The incremental baseline: the newest head of a pull request the bot reviewed, and the files of
that head the model never saw.

The rule: what the bot has never sent to the model is never treated as reviewed. A file skipped
for anything but a trusted reason (TRUSTED_SKIPS: the base config's include/exclude, a deleted
file, a mode-only change, a hunk already reviewed at the baseline) stays unreviewed at that
head: skipped for its content (a `generated` marker, its size, a binary look), for the budget,
the time, a model error, or any reason added later. The PR's author controls content, so a
later push that removes the cause (the marker, the padding) must get the whole file reviewed,
not only the lines that push touched.

Every run that reviewed a head records it as a commit status (context `review-bot`) on that
head, whether a review was posted or there was nothing to say: a status notifies nobody.
- `reviewed: N findings`: nothing went unreviewed.
- `partly reviewed: K files not sent to the model (list D)`: the review posted at that head names
  those files (`unreviewed` markers whose digest is D); the next incremental run takes this head
  as its baseline and reviews those files whole.
- any other `partly reviewed`: not a baseline (parts went unreviewed that no file names).
The next incremental run walks the pull request's commits newest first and takes the first one
whose newest status of ours says so, or, with no status of ours (the write failed, or the token
may not write statuses), the head marker of a review of ours.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.github.api import ApiFailure, GitHubApi, is_unlisted_files
from bot.github.markers import is_own, last_reviewed_head, path_key, reviewed_heads
from bot.types import Skipped

STATUS_CONTEXT = "review-bot"
REVIEWED = "reviewed"  # the description of a complete review starts with this
PARTLY = "partly reviewed"
MAX_LOOKUPS = 20  # commits whose statuses are read, newest first
MAX_UNREVIEWED_LISTED = 200  # more unreviewed files than this: the head is no baseline at all
# Skips after which a file still counts as reviewed: the trusted base config chose them, or there
# is nothing to review, or the hunk was reviewed at the baseline. Everything else, including
# reasons added later (e.g. a wall-clock budget), leaves the file unreviewed.
TRUSTED_SKIPS = frozenset({"excluded", "deleted", "mode", "incremental"})
_LIST = re.compile(r"\(list ([0-9a-f]{12})\)$")


@dataclass(frozen=True)
class Coverage:
    """What a run did not send to the model, as the baseline records it."""

    unreviewed: frozenset[str]  # path_key of each file not reviewed whole
    partial: bool = False  # parts went unreviewed that no file of the diff names: no baseline

    @property
    def complete(self) -> bool:
        return not self.partial and not self.unreviewed

    @property
    def digest(self) -> str:
        return list_digest(self.unreviewed)


@dataclass(frozen=True)
class Baseline:
    sha: str
    unreviewed: frozenset[str]  # path_key of the files to review whole: never seen at `sha`


def list_digest(keys: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:12]


def coverage(skipped: Iterable[Skipped]) -> Coverage:
    keys: set[str] = set()
    partial = False
    for skip in skipped:
        if skip.reason in TRUSTED_SKIPS:
            continue
        if is_unlisted_files(skip.path):  # files past GitHub's listing limit: in no diff we saw
            partial = True
            continue
        keys.add(path_key(skip.path))
    if len(keys) > MAX_UNREVIEWED_LISTED:
        return Coverage(frozenset(), partial=True)
    return Coverage(frozenset(keys), partial)


def status_payload(findings: int, cover: Coverage) -> dict[str, Any]:
    if cover.complete:
        description = f"{REVIEWED}: {findings} finding{'s' if findings != 1 else ''}"
    elif cover.partial:
        description = f"{PARTLY}: parts were not sent to the model"
    else:
        count = len(cover.unreviewed)
        description = (f"{PARTLY}: {count} file{'s' if count != 1 else ''} not sent to the model "
                       f"(list {cover.digest})")
    return {"state": "success", "context": STATUS_CONTEXT, "description": description}


def record_reviewed_head(api: GitHubApi, sha: str, findings: int, cover: Coverage) -> str | None:
    """Record the reviewed head; None when done, else why not (one line; never raises for GitHub)."""
    try:
        api.create_status(sha, status_payload(findings, cover))
    except ApiFailure as err:
        return str(err)
    return None


def _newest_own_status(statuses: Iterable[Mapping[str, Any]], own_login: str) -> str | None:
    """The description of our newest `review-bot` status (GitHub lists statuses newest first)."""
    for status in statuses:
        description = status.get("description")
        if (status.get("context") == STATUS_CONTEXT and status.get("state") == "success"
                and isinstance(description, str) and is_own({"user": status.get("creator")}, own_login)):
            return description
    return None


def _from_status(description: str, reviews_at_head: Sequence[frozenset[str]]) -> frozenset[str] | None:
    """The unreviewed files of a head, by our status on it; None when that head is no baseline."""
    if description.startswith(REVIEWED + ":"):
        return frozenset()
    listed = _LIST.search(description) if description.startswith(PARTLY + ":") else None
    if listed is None:
        return None
    # The status holds only a digest (140 characters); the list is in our review at that head.
    return next((keys for keys in reversed(reviews_at_head) if list_digest(keys) == listed.group(1)), None)


def baseline_head(api: GitHubApi, number: int) -> Baseline | None:
    """The newest commit of the pull request we reviewed, with the files it left unreviewed:
    the first commit, newest first, with our status saying so, or without a status of ours but
    the head of a review of ours. None when there is neither."""
    own_login = api.own_login()
    reviews = api.reviews(number)
    by_head = reviewed_heads(reviews, own_login)
    try:
        commits = api.pull_commits(number)
        for commit in reversed(commits[-MAX_LOOKUPS:]):
            sha = commit.get("sha")
            if not isinstance(sha, str):
                continue
            description = _newest_own_status(api.statuses(sha, limit=100), own_login)
            if description is not None:
                unreviewed = _from_status(description, by_head.get(sha, ()))
                if unreviewed is not None:
                    return Baseline(sha, unreviewed)
            elif sha in by_head:  # the status write failed: our review's marker says it
                return Baseline(sha, by_head[sha][-1])
    except ApiFailure as err:
        if err.status not in (403, 404, 422):  # a token that may not read statuses: markers only
            raise
    marked = last_reviewed_head(reviews, own_login)
    return Baseline(marked, by_head[marked][-1]) if marked is not None else None
