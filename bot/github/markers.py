"""Hidden markers the bot leaves in what it posts, and reading them back.

Every inline comment carries `<!-- review-bot:fp=<fingerprint> -->`, every review body
`<!-- review-bot:head=<sha> -->` (the head it reviewed) and `<!-- review-bot:run=<nonce> -->`
(to recognise its own review after a lost answer). A re-run reads them to post nothing twice
and to review only what changed since the last reviewed head. A file of that head the model
never saw (skipped for its content, its size, the budget ...) is named by
`<!-- review-bot:unreviewed=<key> -->` (`path_key`: a hash, since a path is the PR author's
text), so the next incremental run reviews that file whole (bot.github.baseline).

Markers are read only from the bot's own marker block: the run of lines at the very end of a
body that are exactly one marker each. A marker anywhere else (a file name in the summary, a
suggestion block, a quoted comment) is text, never a marker. And they count only in text
written by the bot's own account: the token's own login (GitHubApi.own_login: a user, the
Actions token's `github-actions[bot]`, or a GitHub App's `<app-slug>[bot]`). No other account
counts, bots included.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

ACTIONS_BOT_LOGIN = "github-actions[bot]"  # who GITHUB_TOKEN posts as
_FP = re.compile(r"<!-- review-bot:fp=([0-9a-f]{6,64}) -->")
_HEAD = re.compile(r"<!-- review-bot:head=([0-9a-f]{40}|[0-9a-f]{64}) -->")
_RUN = re.compile(r"<!-- review-bot:run=([0-9a-f]{8,64}) -->")
_UNREVIEWED = re.compile(r"<!-- review-bot:unreviewed=([0-9a-f]{16}) -->")
# Parts went unreviewed that no file of the diff names (e.g. files past GitHub's 3,000): this
# review is no baseline at all.
PARTIAL_MARKER = "<!-- review-bot:partial -->"
_MARKER_LINE = re.compile(rf"{_FP.pattern}|{_HEAD.pattern}|{_RUN.pattern}|{_UNREVIEWED.pattern}"
                          rf"|{re.escape(PARTIAL_MARKER)}")


def fingerprint_marker(fingerprint: str) -> str:
    return f"<!-- review-bot:fp={fingerprint} -->"


def head_marker(sha: str) -> str:
    return f"<!-- review-bot:head={sha} -->"


def run_marker(nonce: str) -> str:
    return f"<!-- review-bot:run={nonce} -->"


def path_key(path: str) -> str:
    """A file path as a marker may carry it: 16 hex digits of its sha256 (a collision only ever
    makes a run review one more file whole)."""
    return hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def unreviewed_marker(key: str) -> str:
    return f"<!-- review-bot:unreviewed={key} -->"


def unreviewed_in(text: str | None) -> frozenset[str]:
    """The keys of the files a review names as not sent to the model."""
    return frozenset(m.group(1) for line in marker_block(text) if (m := _UNREVIEWED.fullmatch(line)))


def marker_block(text: str | None) -> tuple[str, ...]:
    """The bot's own markers: the trailing lines of `text` that are exactly one marker each."""
    lines = (text or "").replace("\r\n", "\n").rstrip("\n").split("\n")
    block: list[str] = []
    for line in reversed(lines):
        if _MARKER_LINE.fullmatch(line.strip()) is None:
            break
        block.append(line.strip())
    return tuple(reversed(block))


def split_marker_block(text: str) -> tuple[str, tuple[str, ...]]:
    """(the text before the marker block, the block)."""
    block = marker_block(text)
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    return "\n".join(lines[: len(lines) - len(block)]), block


def fingerprints_in(text: str | None) -> set[str]:
    return {m.group(1) for line in marker_block(text) if (m := _FP.fullmatch(line))}


def head_in(text: str | None) -> str | None:
    found = [m.group(1) for line in marker_block(text) if (m := _HEAD.fullmatch(line))]
    return found[-1] if found else None


def has_run_marker(text: str | None, nonce: str) -> bool:
    return run_marker(nonce) in marker_block(text)


def is_partial(text: str | None) -> bool:
    return PARTIAL_MARKER in marker_block(text)


def is_own(item: Mapping[str, Any], own_login: str | None) -> bool:
    """Did the bot's account write this comment or review?

    `own_login` is the token's own account (GitHubApi.own_login); None means unknown, and then
    only github-actions[bot] counts. Never any other account: not another `[bot]`
    (renovate[bot], dependabot[bot], another workflow's github-actions[bot] when we are an App).
    """
    user = item.get("user")
    if not isinstance(user, Mapping):
        return False
    return user.get("login") == (own_login or ACTIONS_BOT_LOGIN)


def own_fingerprints(items: Iterable[Mapping[str, Any]], own_login: str | None) -> set[str]:
    found: set[str] = set()
    for item in items:
        if is_own(item, own_login):
            body = item.get("body")
            found |= fingerprints_in(body if isinstance(body, str) else None)
    return found


def reviewed_heads(reviews: Iterable[Mapping[str, Any]], own_login: str | None) -> dict[str, list[frozenset[str]]]:
    """Per head sha, oldest first, the files each review of ours at that head left unreviewed.

    A review marked partial is left out: parts went unreviewed that no file names, so it is no
    baseline; an incremental run after it looks at everything again.
    """
    found: dict[str, list[frozenset[str]]] = {}
    for review in reviews:  # GitHub lists reviews oldest first
        if is_own(review, own_login):
            body = review.get("body")
            text = body if isinstance(body, str) else ""
            sha = head_in(text)
            if sha is not None and not is_partial(text):
                found.setdefault(sha, []).append(unreviewed_in(text))
    return found


def last_reviewed_head(reviews: Iterable[Mapping[str, Any]], own_login: str | None) -> str | None:
    """The head sha of the newest review of ours that is a baseline (not marked partial)."""
    newest: str | None = None
    for review in reviews:
        if is_own(review, own_login):
            body = review.get("body")
            text = body if isinstance(body, str) else ""
            sha = head_in(text)
            if sha is not None and not is_partial(text):
                newest = sha
    return newest
