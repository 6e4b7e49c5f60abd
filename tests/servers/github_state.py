"""Records and the state store of the GitHub emulator (see github_server.py).

``EmulatorState`` holds everything the emulator knows (repos, pulls, reviews, comments,
tokens, faults, calls, rate limit) and the lookups the routes use; ``GitHubServer``
extends it with the HTTP lifecycle and the setup/inspection API. The lookups do not lock:
their callers (the routes, the setup API) already hold ``_lock``.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tests.servers.github_diff import FilePatch
from tests.servers.github_diff import parse_diff as parse_diff  # kept importable from here

DOCS = "https://docs.github.com/rest"
DOC_REVIEWS = "https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request"
MAX_BODY = 65536


class Call(NamedTuple):
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, errors: list[Any] | None = None, doc: str = DOCS,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.errors, self.doc = status, message, errors, doc
        self.headers = headers or {}


# ---------------------------------------------------------------------------
# Records the emulator keeps


@dataclass
class Token:
    scope: str
    login: str
    installation: bool


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]
    times: int
    after_effect: bool


@dataclass
class Hook:
    """Run ``action(server)`` right after answering a matching request (e.g. a push mid-run)."""

    method: str
    pattern: re.Pattern[str]
    accept: re.Pattern[str] | None
    action: Any
    times: int


@dataclass
class Repo:
    full_name: str
    id: int
    default_branch: str
    private: bool
    files: dict[tuple[str, str], str] = field(default_factory=dict)
    compares: dict[tuple[str, str], Compare] = field(default_factory=dict)


@dataclass
class Head:
    sha: str
    diff_text: str
    files: list[FilePatch]

    @property
    def by_name(self) -> dict[str, FilePatch]:
        return {f.filename: f for f in self.files}


@dataclass
class Compare:
    base: str
    head: str
    diff_text: str
    files: list[FilePatch]
    status: str
    ahead_by: int
    behind_by: int


@dataclass
class Pull:
    repo: str
    number: int
    id: int
    title: str
    body: str | None
    draft: bool
    fork: bool
    user: str
    base_ref: str
    base_sha: str
    head_ref: str
    head_sha: str
    heads: dict[str, Head]
    files_override: dict[str, dict[str, Any]]
    created_at: str
    updated_at: str

    @property
    def head(self) -> Head:
        return self.heads[self.head_sha]


@dataclass
class Review:
    id: int
    repo: str
    number: int
    user: str
    body: str
    state: str
    commit_id: str
    submitted_at: str | None


@dataclass(frozen=True)
class ResolvedComment:
    path: str
    body: str
    line: int
    side: str
    start_line: int | None
    start_side: str | None
    position: int
    diff_hunk: str


@dataclass
class ReviewComment:
    id: int
    review_id: int
    repo: str
    number: int
    user: str
    commit_id: str
    placed: ResolvedComment
    created_at: str


@dataclass
class IssueComment:
    id: int
    repo: str
    number: int
    user: str
    body: str
    created_at: str
    updated_at: str


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def fake_sha(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()


# ---------------------------------------------------------------------------
# The store


class EmulatorState:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._repos: dict[str, Repo] = {}
        self._pulls: dict[tuple[str, int], Pull] = {}
        self._reviews: list[Review] = []
        self._review_comments: list[ReviewComment] = []
        self._issue_comments: list[IssueComment] = []
        self._tokens: dict[str, Token] = {}
        self._faults: list[Fault] = []
        self._hooks: list[Hook] = []
        self._statuses: list[Any] = []  # github_statuses.Status, newest last
        self._calls: list[Call] = []
        self._next_id = 1_000_000
        self._rate_limit = 5000
        self._rate_used = 0
        self._rate_reset = int(time.time()) + 3600

    def new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def _repo(self, full_name: str) -> Repo:
        try:
            return self._repos[full_name]
        except KeyError:
            raise ApiError(404, "Not Found") from None

    def pull(self, repo: str, number: int) -> Pull:
        self._repo(repo)
        try:
            return self._pulls[(repo, number)]
        except KeyError:
            raise ApiError(404, "Not Found") from None

    def repo_by_id(self, rid: int) -> Repo | None:
        return next((r for r in self._repos.values() if r.id == rid), None)

    def pulls_of(self, repo: str) -> list[Pull]:
        return sorted((p for p in self._pulls.values() if p.repo == repo), key=lambda p: -p.number)

    def review_list(self, pr: Pull, viewer: str) -> list[Review]:
        # A pending review is visible to its author only.
        return [r for r in self._reviews if (r.repo, r.number) == (pr.repo, pr.number)
                and (r.state != "PENDING" or r.user == viewer)]

    def comments_of(self, pr: Pull, viewer: str, review_id: int | None = None) -> list[ReviewComment]:
        visible = {r.id for r in self.review_list(pr, viewer)
                   if r.state != "PENDING" or review_id is not None}
        return [c for c in self._review_comments if (c.repo, c.number) == (pr.repo, pr.number)
                and c.review_id in visible and (review_id is None or c.review_id == review_id)]

    def issue_comment_list(self, repo: str, number: int) -> list[IssueComment]:
        return [c for c in self._issue_comments if (c.repo, c.number) == (repo, number)]

    def find_issue_comment(self, repo: str, cid: int) -> IssueComment:
        for c in self._issue_comments:
            if c.repo == repo and c.id == cid:
                return c
        raise ApiError(404, "Not Found")

    def delete_issue_comment(self, c: IssueComment) -> None:
        self._issue_comments.remove(c)

    def find_review(self, pr: Pull, rid: int, viewer: str) -> Review:
        for r in self.review_list(pr, viewer):
            if r.id == rid:
                return r
        raise ApiError(404, "Not Found")

    def delete_review(self, review: Review) -> None:
        self._reviews.remove(review)
        self._review_comments = [c for c in self._review_comments if c.review_id != review.id]

    def ref_aliases(self, repo: str, ref: str) -> set[str]:
        names = {ref}
        for p in self._pulls.values():
            if p.repo == repo:
                for pair in ((p.base_ref, p.base_sha), (p.head_ref, p.head_sha)):
                    if ref in pair:
                        names.update(pair)
        return names

    def known_refs(self, repo: str) -> set[str]:
        r = self._repo(repo)
        refs = {r.default_branch} | {ref for ref, _ in r.files}
        for base, head in r.compares:
            refs.update((base, head))
        for p in self._pulls.values():
            if p.repo == repo:
                refs.update((p.base_ref, p.base_sha, p.head_ref), p.heads)
        return refs

    def token_for(self, headers: dict[str, str]) -> Token:
        auth = headers.get("authorization", "")
        if not auth:
            raise ApiError(401, "Requires authentication")
        scheme, _, value = auth.partition(" ")
        token = self._tokens.get(value.strip()) if scheme.lower() in ("token", "bearer") else None
        if token is None:
            raise ApiError(401, "Bad credentials")
        return token

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for f in self._faults:
                if f.times > 0 and f.method in (method, "*") and f.pattern.search(path):
                    f.times -= 1
                    return f
        return None

    def take_hook(self, method: str, path: str, accept: str) -> Hook | None:
        with self._lock:
            for h in self._hooks:
                if (h.times > 0 and h.method in (method, "*") and h.pattern.search(path)
                        and (h.accept is None or h.accept.search(accept))):
                    h.times -= 1
                    return h
        return None

    def record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def rate_headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self._rate_limit),
            "x-ratelimit-remaining": str(max(0, self._rate_limit - self._rate_used)),
            "x-ratelimit-reset": str(self._rate_reset),
            "x-ratelimit-used": str(self._rate_used),
            "x-ratelimit-resource": "core",
        }

    def spend_rate(self) -> None:
        if self._rate_used >= self._rate_limit:
            raise ApiError(403, "API rate limit exceeded for installation ID 1.",
                           doc="https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting")
        self._rate_used += 1

    def rate_limit_body(self) -> dict[str, Any]:
        core = {"limit": self._rate_limit, "used": self._rate_used,
                "remaining": max(0, self._rate_limit - self._rate_used), "reset": self._rate_reset}
        other = {"limit": 30, "used": 0, "remaining": 30, "reset": self._rate_reset}
        return {"resources": {"core": core, "search": other, "graphql": dict(core),
                              "integration_manifest": dict(other)}, "rate": core}
