"""Post a run's findings as ONE pull-request review (`event: COMMENT`), idempotently.

- Every inline comment carries a hidden fingerprint marker; findings already posted by the
  bot's account (inline or listed in a review body) are not posted again.
- Every comment is checked against the PR diff (GitHub refuses the whole review for one
  comment off the diff); what can't be placed, and what exceeds the comment cap, is listed
  in the review body instead. If GitHub still answers 422, the review is posted once more
  with all comments moved into the body: nothing is lost.
- The POST is never re-sent blindly: after a 5xx or a lost answer we list the reviews and
  look for this run's nonce marker first. Rate limits are waited out per GitHub's rules (bot.github.retry), capped.
- A read-only token (fork PRs under `pull_request`) gets workflow-command annotations instead.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from bot.config import Settings
from bot.errors import GitHubError, InputError
from bot.findings.sanitize import MAX_MESSAGE_CHARS, sanitize_message
from bot.github.api import ApiFailure, GitHubApi
from bot.github.markers import (
    PARTIAL_MARKER,
    fingerprint_marker,
    has_run_marker,
    head_in,
    head_marker,
    is_own,
    own_fingerprints,
    run_marker,
)
from bot.github.retry import SECONDARY_WAIT_S, Waits, rate_limit_wait
from bot.sinks.annotations import AnnotationsFormatter
from bot.sinks.summary import render_summary
from bot.types import SEVERITY_RANK, FileDiff, Finding, ParsedDiff, RunResult

MAX_INLINE_COMMENTS = 30  # more than this in one review buries the PR; the rest go in the body
MAX_BODY_CHARS = 60_000  # GitHub refuses review bodies over 65,536 characters
MAX_LISTED_IN_BODY = 30  # findings the body lists by name (summary.md.j2 lists 30)
EVENT = "COMMENT"  # never APPROVE or REQUEST_CHANGES, whatever any text says
# Skip reasons after which the head doesn't count as reviewed for incremental runs.
INCOMPLETE_REASONS = frozenset({"budget", "model_error", "time_budget"})

Status = Literal["posted", "nothing_new", "read_only"]
BodyRenderer = Callable[[RunResult, Sequence[Finding], Sequence[Finding]], str]


@dataclass(frozen=True)
class ReviewPlan:
    inline: tuple[Finding, ...]  # new findings placed on the diff
    in_body: tuple[Finding, ...]  # new findings listed in the body (off the diff, or over the cap)
    duplicates: int  # findings the bot had posted before
    post: bool
    reason: str  # why nothing is posted, when `post` is False


@dataclass(frozen=True)
class PostOutcome:
    status: Status
    review_id: int | None = None
    review_url: str | None = None
    inline: int = 0
    in_body: int = 0
    duplicates: int = 0
    attempts: int = 0
    moved_after_422: int = 0  # comments GitHub refused, posted in the body instead
    annotations: str = ""  # read_only: workflow commands to print instead of the review
    message: str = ""  # one line for the log


def _rank(finding: Finding) -> tuple[int, str, int]:
    return (-SEVERITY_RANK[finding.severity], finding.path, finding.line)


def placeable(finding: Finding, files: Mapping[str, FileDiff]) -> bool:
    """Would GitHub accept a comment for this finding on this diff?"""
    file = files.get(finding.path)
    if file is None:
        return False
    for hunk in file.hunks:
        lines = hunk.commentable(finding.side)
        if finding.line in lines:
            start = finding.start_line
            return start is None or (start < finding.line and start in lines)
    return False


def comment_body(finding: Finding) -> str:
    # Messages are sanitised upstream, but as text of their own: after the severity prefix a
    # first line like "```@x" is no longer a fence, so sanitise again where it is posted.
    text = sanitize_message(f"**{finding.severity}**: {finding.message}", limit=MAX_MESSAGE_CHARS + 40)
    if finding.suggestion is not None:
        fence = "`" * max(3, _longest_backtick_run(finding.suggestion) + 1)
        text += f"\n\n{fence}suggestion\n{finding.suggestion.rstrip(chr(10))}\n{fence}"
    return f"{text}\n\n{fingerprint_marker(finding.fingerprint)}"


def _longest_backtick_run(text: str) -> int:
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return longest


def review_comment(finding: Finding) -> dict[str, Any]:
    comment: dict[str, Any] = {"path": finding.path, "line": finding.line, "side": finding.side,
                               "body": comment_body(finding)}
    if finding.start_line is not None:
        comment.update(start_line=finding.start_line, start_side=finding.side)
    return comment


def summary_body(settings: Settings) -> BodyRenderer:
    """The review body from prompts/summary.md.j2: this review's new findings, the ones not
    placed inline listed (the first MAX_LISTED_IN_BODY of them), skipped parts, budget."""
    def render(result: RunResult, inline: Sequence[Finding], in_body: Sequence[Finding]) -> str:
        return render_summary(replace(result, findings=(*inline, *in_body)), settings, overflow=tuple(in_body))
    return render


class GitHubReviewSink:
    """Posts one review on `result.source_info.pr` at `result.source_info.head_sha`.

    `diff` is the PR's whole diff (what GitHub validates against), not a narrowed one.
    Construction does no I/O; `post` makes 3 reads (+ pages) and normally one POST.
    """

    def __init__(self, api: GitHubApi, diff: ParsedDiff, settings: Settings, *,
                 render_body: BodyRenderer | None = None, sleep: Callable[[float], None] = time.sleep,
                 max_attempts: int = 3, backoff_s: float = 2.0, secondary_wait_s: float = SECONDARY_WAIT_S,
                 nonce: str | None = None, clock: Callable[[], float] = time.time) -> None:
        self.api = api
        self.files = {f.path: f for f in diff.files}
        self.settings = settings
        self.render_body = render_body or summary_body(settings)
        self.sleep = sleep
        self.max_attempts = max(1, max_attempts)
        self.backoff_s = backoff_s
        self.waits = Waits(max_wait_s=settings.budget.max_wait_s, secondary_wait_s=secondary_wait_s,
                           sleep=sleep, clock=clock)
        self.nonce = nonce or secrets.token_hex(8)

    # -- deciding ----------------------------------------------------------------------------

    def plan(self, result: RunResult, comments: Sequence[Mapping[str, Any]],
             reviews: Sequence[Mapping[str, Any]], own_login: str | None) -> ReviewPlan:
        """What to post, given what the bot posted before. No I/O."""
        head = result.source_info.head_sha
        posted = own_fingerprints(comments, own_login) | own_fingerprints(reviews, own_login)
        new = sorted((f for f in result.findings if f.fingerprint not in posted), key=_rank)
        duplicates = len(result.findings) - len(new)
        cap = min(MAX_INLINE_COMMENTS, self.settings.review.max_comments)
        inline: list[Finding] = []
        in_body: list[Finding] = []
        for finding in new:
            (inline if len(inline) < cap and placeable(finding, self.files) else in_body).append(finding)
        reviewed_head = any(is_own(r, own_login) and head_in(_text(r.get("body"))) == head for r in reviews)
        worth_noting = [s for s in result.skipped if s.reason != "incremental"]
        reason = ""
        if not new:
            if reviewed_head:
                reason = "this head was reviewed before and there are no new findings"
            elif duplicates:
                reason = "every finding was posted before"
            elif not worth_noting and not self.settings.review.post_empty_review:
                reason = "no findings and nothing skipped"
        return ReviewPlan(inline=tuple(inline), in_body=tuple(in_body), duplicates=duplicates,
                          post=not reason, reason=reason)

    def payload(self, result: RunResult, inline: Sequence[Finding],
                in_body: Sequence[Finding]) -> dict[str, Any]:
        head = result.source_info.head_sha or ""
        body = self.render_body(result, inline, in_body)
        if len(body) > MAX_BODY_CHARS:
            body = body[:MAX_BODY_CHARS] + "\n\n... (cut; the job summary has everything)"
        markers = [head_marker(head), run_marker(self.nonce)]
        if any(s.reason in INCOMPLETE_REASONS for s in result.skipped):
            markers.append(PARTIAL_MARKER)
        markers += [fingerprint_marker(f.fingerprint) for f in list(in_body)[:MAX_LISTED_IN_BODY]]
        return {"commit_id": head, "body": body + "\n\n" + "\n".join(markers), "event": EVENT,
                "comments": [review_comment(f) for f in inline]}

    # -- posting -----------------------------------------------------------------------------

    def prepare(self, result: RunResult) -> tuple[ReviewPlan, dict[str, Any] | None]:
        """Read what the bot posted before and build the review; nothing is written.

        `review --dry-run` prints the payload from here: the same decisions as a real post.
        """
        number = _pr_number(result)
        own_login = self.api.own_login()
        comments = self.api.review_comments(number)
        reviews = self.api.reviews(number)
        plan = self.plan(result, comments, reviews, own_login)
        return plan, (self.payload(result, plan.inline, plan.in_body) if plan.post else None)

    def post(self, result: RunResult) -> PostOutcome:
        plan, payload = self.prepare(result)
        if payload is None:
            return PostOutcome(status="nothing_new", duplicates=plan.duplicates,
                               message=f"no review posted: {plan.reason}")
        number = _pr_number(result)
        moved = 0
        try:
            try:
                review, attempts = self._send(number, payload)
            except ApiFailure as err:
                if err.status != 422 or not plan.inline:
                    raise
                # GitHub doesn't say which comment it refused: move them all into the body, once.
                moved = len(plan.inline)
                in_body = tuple(sorted((*plan.in_body, *plan.inline), key=_rank))
                review, more = self._send(number, self.payload(result, (), in_body))
                attempts = 1 + more
        except ApiFailure as err:
            if err.is_read_only:
                return self._read_only(result, plan)
            raise GitHubError(f"{err}; the review was not posted, the findings are in the job log "
                              "and summary") from None
        review_id = review.get("id")
        url = review.get("html_url")
        return PostOutcome(
            status="posted", review_id=review_id if isinstance(review_id, int) else None,
            review_url=url if isinstance(url, str) else None,
            inline=len(plan.inline) - moved, in_body=len(plan.in_body) + moved, duplicates=plan.duplicates,
            attempts=attempts, moved_after_422=moved,
            message=f"posted a review with {len(plan.inline) - moved} inline comments and "
                    f"{len(plan.in_body) + moved} findings in its body")

    def _send(self, number: int, payload: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
        """POST the review; wait out rate limits per GitHub's rules; after a 5xx or no answer, look
        for this run's review before trying again. Returns (review, attempts)."""
        attempts = 0
        rate_limited = 0
        while True:
            attempts += 1
            try:
                return self.api.create_review(number, payload), attempts
            except ApiFailure as err:
                if err.is_read_only:
                    raise
                if err.is_rate_limit and rate_limited < self.max_attempts:
                    # GitHub's rules: Retry-After, else the reset, else >= 1 min, doubling; capped.
                    wait = rate_limit_wait(err.headers, rate_limited, self.waits)
                    rate_limited += 1
                    self.sleep(min(wait, self.waits.max_wait_s))
                    continue
                if err.status is not None and err.status < 500:
                    raise
                # The review may exist although the answer was lost: look before posting again.
                self.sleep(self.backoff_s * attempts)
                landed = self._find_own_review(number)
                if landed is not None:
                    return landed, attempts
                if attempts >= self.max_attempts:
                    raise

    def _find_own_review(self, number: int) -> dict[str, Any] | None:
        for review in reversed(self.api.reviews(number)):
            if has_run_marker(_text(review.get("body")), self.nonce):
                return review
        return None

    def _read_only(self, result: RunResult, plan: ReviewPlan) -> PostOutcome:
        ranked = tuple(sorted(result.findings, key=_rank))
        text = AnnotationsFormatter().render(replace(result, findings=ranked))
        return PostOutcome(status="read_only", inline=0, in_body=0, duplicates=plan.duplicates,
                           annotations=text,
                           message="the token may not post reviews (a fork pull request?); findings are "
                                   "shown as annotations and in the job summary instead")


def _pr_number(result: RunResult) -> int:
    info = result.source_info
    if info.pr is None or not info.head_sha:
        raise InputError("a GitHub review needs a pull request number and head sha; use --repo and --pr")
    return info.pr


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
