"""Hidden markers the bot leaves in what it posts, and reading them back.

Every inline comment carries `<!-- review-bot:fp=<fingerprint> -->`, every review body
`<!-- review-bot:head=<sha> -->` (the head it reviewed) and `<!-- review-bot:run=<nonce> -->`
(to recognise its own review after a lost answer). A re-run reads them to post nothing twice
and to review only what changed since the last reviewed head.

Model output is sanitised so it can't contain a marker (bot.sanitize), but a person can
paste one into a comment: markers only count in text written by the bot's own account.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_FP = re.compile(r"<!-- review-bot:fp=([0-9a-f]{6,64}) -->")
_HEAD = re.compile(r"<!-- review-bot:head=([0-9a-f]{40}|[0-9a-f]{64}) -->")
_RUN = re.compile(r"<!-- review-bot:run=([0-9a-f]{8,64}) -->")
PARTIAL_MARKER = "<!-- review-bot:partial -->"  # some hunks went unreviewed (budget, model errors)


def fingerprint_marker(fingerprint: str) -> str:
    return f"<!-- review-bot:fp={fingerprint} -->"


def head_marker(sha: str) -> str:
    return f"<!-- review-bot:head={sha} -->"


def run_marker(nonce: str) -> str:
    return f"<!-- review-bot:run={nonce} -->"


def fingerprints_in(text: str | None) -> set[str]:
    return set(_FP.findall(text or ""))


def head_in(text: str | None) -> str | None:
    found = _HEAD.findall(text or "")
    return found[-1] if found else None


def has_run_marker(text: str | None, nonce: str) -> bool:
    return nonce in _RUN.findall(text or "")


def is_own(item: Mapping[str, Any], own_login: str | None) -> bool:
    """Did the bot's account write this comment or review?

    With a token whose user we know (a personal token), only that login counts. With the
    Actions token `GET /user` is refused and we don't know our login: then only bot accounts
    count (`type: Bot`, e.g. github-actions[bot]), which no person can post as.
    """
    user = item.get("user")
    if not isinstance(user, Mapping):
        return False
    if own_login is not None:
        return user.get("login") == own_login
    return user.get("type") == "Bot"


def own_fingerprints(items: Iterable[Mapping[str, Any]], own_login: str | None) -> set[str]:
    found: set[str] = set()
    for item in items:
        if is_own(item, own_login):
            body = item.get("body")
            found |= fingerprints_in(body if isinstance(body, str) else None)
    return found


def last_reviewed_head(reviews: Iterable[Mapping[str, Any]], own_login: str | None) -> str | None:
    """The head sha of the newest review of ours that reviewed everything it was asked to.

    A review marked partial (parts skipped for budget or model errors) doesn't count: an
    incremental run after it must look at those parts again.
    """
    newest: str | None = None
    for review in reviews:  # GitHub lists reviews oldest first
        if is_own(review, own_login):
            body = review.get("body")
            text = body if isinstance(body, str) else ""
            sha = head_in(text)
            if sha is not None and PARTIAL_MARKER not in text:
                newest = sha
    return newest
