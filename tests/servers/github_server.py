"""A stateful loopback emulator of the GitHub REST API, strict like GitHub.

Start it, point PyGithub or ``requests`` at ``srv.url`` (like ``https://api.github.com``,
no trailing slash), and assert on what landed::

    with GitHubServer() as srv:
        srv.add_token("ghs_write")                       # scope="write", login="github-actions[bot]"
        srv.add_repo("o/r", default_branch="main")
        srv.add_file("o/r", "main", ".github/review-bot.toml", "[review]\\n")
        srv.add_pull("o/r", 7, diff_text, base_sha="b" * 40, head_sha="h" * 40, title="T", body=None)
        gh = Github(base_url=srv.url, auth=Auth.Token("ghs_write"), retry=None, seconds_between_requests=0,
                    seconds_between_writes=0)      # PyGithub throttles writes by 1 s unless told not to
        ...
        assert len(srv.calls_to("POST", r"/pulls/7/reviews$")) == 1

Setup API (all thread-safe):
- ``add_repo(full_name, default_branch="main", private=False)``
- ``add_file(repo, ref_or_sha, path, text)``: contents API; a PR's base/head branch name and its
  sha are aliases of each other for lookups.
- ``add_pull(repo, number, diff_text, base_sha, head_sha, title="", body=None, draft=False, fork=False,
  files_override=None, user="octocat", base_ref=None, head_ref=None)``: ``diff_text`` is a real git
  diff; ``/pulls/N/files`` and review-comment validation are derived from it (github_state.py).
  ``files_override`` maps filename -> fields to replace in that file's entry (value None drops
  the key, e.g. ``{"big.py": {"patch": None}}`` for a patch GitHub finds too large).
- ``add_pull_from_event(event_payload, diff_text) -> (repo, number)``: the same, from a real
  ``pull_request`` webhook payload (e.g. ../shared/events/pull_request.opened.json).
- ``push(repo, number, new_diff_text, new_head_sha)``: synchronize; the old head stays a valid
  ``commit_id`` for reviews (validated against its own diff).
- ``add_compare(repo, base, head, diff_text, status="ahead", ahead_by=1, behind_by=0)``; an
  unregistered pair answers 404 (force push).
- ``add_token(token, scope="write"|"read", login="github-actions[bot]", installation=None)``:
  installation tokens (default for ``[bot]`` logins) get 403 on ``GET /user`` like GitHub's
  GITHUB_TOKEN. Unknown token -> 401 "Bad credentials"; no token -> 401 "Requires authentication".
- ``add_review(repo, number, payload, login=...)`` / ``add_issue_comment(repo, number, body, login=...)``:
  seed state from an earlier run (same validation as the HTTP route; ValueError if refused).
- Faults: ``fail_next(method, path_regex, status, body=None, headers=None, times=1, after_effect=False)``
  (``after_effect=True``: do the action, then answer the fault); ``fail_secondary_rate_limit(...)``,
  ``fail_primary_rate_limit(...)``, ``set_rate_limit(remaining, reset_in=3600)``.
- Diffs: ``Accept: application/vnd.github.v3.diff`` (or ``.diff``/``.patch``) on ``/pulls/N`` and
  ``/compare/A...B`` answers the stored diff text (the patch media type too: no mbox headers).
- Knobs: ``diff_limit_lines`` (20000), ``diff_limit_files`` (300), ``line_error`` (``LINE_ERROR`` or
  ``LINE_ERROR_LEGACY``), ``actions_can_approve`` (False).
- Inspection: ``calls`` (list of ``Call(method, path, query, headers, json)``, headers lower-cased),
  ``calls_to(method, path_regex)``, ``reviews(repo, n)``, ``review_comments(repo, n)``,
  ``issue_comments(repo, n)`` (JSON as the API shows them to their author).

Routes: GET /rate_limit, /user, /repos/{o}/{r}, /pulls, /pulls/{n} (JSON or diff), /pulls/{n}/files,
/pulls/{n}/commits, /pulls/{n}/comments, GET+POST /pulls/{n}/reviews, GET+DELETE /reviews/{id},
POST /reviews/{id}/events, GET /reviews/{id}/comments, GET+POST /issues/{n}/comments,
GET+PATCH+DELETE /issues/comments/{id}, GET /contents/{path}?ref=, /compare/{a}...{b}, /commits/{ref}.
Lists take ``per_page`` (default 30, max 100) and ``page`` and answer GitHub's ``Link`` header
(``/repositories/{id}/...`` URLs, rel order prev, next, last, first). Every answer carries
``x-ratelimit-*`` headers; unknown routes answer 404 ``{"message": "Not Found"}``.

POST /pulls/{n}/reviews, checked in GitHub's order, each refusal a 4xx with nothing stored:
read-only token 403 "Resource not accessible by integration"; bad JSON 400; schema 422
("Invalid request.\\n\\nFor 'properties/body', nil is not a string."); any pending review of this
user (PyGithub's ``create_review`` without ``event`` leaves one) blocks every new review: 422
"User can only have one pending review per pull request"; unknown ``commit_id`` 422 "The commitOID
is not part of the pull request"; body > 65536 chars; APPROVE by github-actions[bot]; any comment
off the diff of ``commit_id`` 422 ``errors: [line_error]`` ("Path could not be resolved" for a file
not in the PR); COMMENT/REQUEST_CHANGES with a blank body and no comments 422 "Review body is
required". A created review answers 200. Note PyGithub's default ``GithubRetry`` re-sends a POST
after a 5xx, so ``fail_next(..., 502, after_effect=True)`` plus default retry makes a duplicate.
"""

from __future__ import annotations

import json
import re
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from tests.servers.github_state import (
    LINE_ERROR,
    LINE_ERROR_LEGACY,
    Compare,
    Fault,
    FilePatch,
    Head,
    IssueComment,
    Pull,
    Repo,
    ResolvedComment,
    Review,
    ReviewComment,
    Token,
    Views,
    count_diff_lines,
    fake_sha,
    now_iso,
    parse_diff,
    resolve_comment,
    schema_error,
)

__all__ = ["LINE_ERROR", "LINE_ERROR_LEGACY", "Call", "GitHubServer"]

DOCS = "https://docs.github.com/rest"
DOC_REVIEWS = "https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit and have been temporarily blocked from content "
    "creation. Please retry your request again later."
)
MAX_FILES_LISTED = 3000
MAX_BODY = 65536
_MEDIA_RE = re.compile(r"application/vnd\.github(?:\.v3)?\.(diff|patch|raw)")


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


@dataclass
class Reply:
    status: int
    body: Any  # JSON-able, or str for text media types
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"


class GitHubServer:
    """See the module docstring. Use as a context manager; ``url`` is valid inside it."""

    def __init__(self) -> None:
        self.diff_limit_lines = 20000
        self.diff_limit_files = 300
        self.line_error = LINE_ERROR
        self.actions_can_approve = False
        self._lock = threading.RLock()
        self._repos: dict[str, Repo] = {}
        self._pulls: dict[tuple[str, int], Pull] = {}
        self._reviews: list[Review] = []
        self._review_comments: list[ReviewComment] = []
        self._issue_comments: list[IssueComment] = []
        self._tokens: dict[str, Token] = {}
        self._faults: list[Fault] = []
        self._calls: list[Call] = []
        self._next_id = 1_000_000
        self._rate_limit = 5000
        self._rate_used = 0
        self._rate_reset = int(time.time()) + 3600
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> GitHubServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        handler = type("GitHubHandler", (_Handler,), {"emulator": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # A short poll interval keeps shutdown (and so every test's teardown) fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.02,), name="github-emulator", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("GitHubServer is not running; use it as a context manager")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def views(self) -> Views:
        api = self.url if self._httpd is not None else "https://api.github.com"
        return Views(api, self._repos, self._pulls)

    # ---- setup API ---------------------------------------------------------------------

    def new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def add_repo(self, full_name: str, default_branch: str = "main", private: bool = False) -> None:
        with self._lock:
            if full_name not in self._repos:
                rid = 100_000_000 + zlib.crc32(full_name.encode()) % 100_000_000
                self._repos[full_name] = Repo(full_name, rid, default_branch, private)

    def add_file(self, repo: str, ref_or_sha: str, path: str, text: str) -> None:
        with self._lock:
            self._repo(repo).files[(ref_or_sha, path)] = text

    def add_token(self, token: str, scope: str = "write", login: str = "github-actions[bot]",
                  installation: bool | None = None) -> None:
        if scope not in ("read", "write"):
            raise ValueError(f"scope must be 'read' or 'write', not {scope!r}")
        with self._lock:
            inst = login.endswith("[bot]") if installation is None else installation
            self._tokens[token] = Token(scope, login, inst)

    def add_pull(
        self, repo: str, number: int, diff_text: str, base_sha: str, head_sha: str, title: str = "",
        body: str | None = None, draft: bool = False, fork: bool = False,
        files_override: dict[str, dict[str, Any]] | None = None, user: str = "octocat",
        base_ref: str | None = None, head_ref: str | None = None,
    ) -> None:
        files = parse_diff(diff_text)
        with self._lock:
            self.add_repo(repo)
            r = self._repos[repo]
            stamp = now_iso()
            self._pulls[(repo, number)] = Pull(
                repo=repo, number=number, id=self.new_id(), title=title, body=body, draft=draft, fork=fork,
                user=user, base_ref=base_ref or r.default_branch, base_sha=base_sha,
                head_ref=head_ref or f"feature-{number}", head_sha=head_sha,
                heads={head_sha: Head(head_sha, diff_text, files)}, files_override=dict(files_override or {}),
                created_at=stamp, updated_at=stamp,
            )

    def add_pull_from_event(self, event: dict[str, Any], diff_text: str) -> tuple[str, int]:
        """Mirror a ``pull_request`` webhook payload (repo, number, shas, refs, texts); returns (repo, n)."""
        pr, repository = event["pull_request"], event["repository"]
        repo = repository["full_name"]
        self.add_repo(repo, repository.get("default_branch", "main"), bool(repository.get("private")))
        self.add_pull(
            repo, int(pr["number"]), diff_text, pr["base"]["sha"], pr["head"]["sha"], title=pr["title"],
            body=pr["body"], draft=bool(pr.get("draft")), fork=bool(pr["head"]["repo"]["fork"]),
            user=pr["user"]["login"], base_ref=pr["base"]["ref"], head_ref=pr["head"]["ref"],
        )
        return repo, int(pr["number"])

    def push(self, repo: str, number: int, new_diff_text: str, new_head_sha: str) -> None:
        files = parse_diff(new_diff_text)
        with self._lock:
            pr = self.pull(repo, number)
            pr.heads[new_head_sha] = Head(new_head_sha, new_diff_text, files)
            pr.head_sha, pr.updated_at = new_head_sha, now_iso()

    def add_compare(self, repo: str, base: str, head: str, diff_text: str, status: str = "ahead",
                    ahead_by: int = 1, behind_by: int = 0) -> None:
        files = parse_diff(diff_text)
        with self._lock:
            self._repo(repo).compares[(base, head)] = Compare(
                base, head, diff_text, files, status, ahead_by, behind_by
            )

    def add_review(self, repo: str, number: int, payload: dict[str, Any],
                   login: str = "github-actions[bot]") -> dict[str, Any]:
        with self._lock:
            try:
                review = self.create_review(self.pull(repo, number), login, payload)
            except ApiError as e:
                raise ValueError(f"review refused: {e.message} {e.errors or ''}") from e
            return self.views.review(review)

    def add_issue_comment(self, repo: str, number: int, body: str, login: str = "octocat") -> dict[str, Any]:
        with self._lock:
            self.pull(repo, number)
            stamp = now_iso()
            c = IssueComment(self.new_id(), repo, number, login, body, stamp, stamp)
            self._issue_comments.append(c)
            return self.views.issue_comment(c)

    def fail_next(self, method: str, path_regex: str, status: int, body: Any = None,
                  headers: dict[str, str] | None = None, times: int = 1, after_effect: bool = False) -> None:
        with self._lock:
            self._faults.append(Fault(method.upper(), re.compile(path_regex), status, body,
                                      dict(headers or {}), times, after_effect))

    def fail_secondary_rate_limit(self, method: str, path_regex: str, times: int = 1, retry_after: int = 1,
                                  status: int = 403) -> None:
        body = {"message": SECONDARY_MESSAGE, "documentation_url":
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}
        self.fail_next(method, path_regex, status, body, {"Retry-After": str(retry_after)}, times)

    def fail_primary_rate_limit(self, method: str, path_regex: str, times: int = 1, reset_in: int = 1,
                                status: int = 403) -> None:
        body = {"message": "API rate limit exceeded for installation ID 1.", "documentation_url":
                "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}
        headers = {"x-ratelimit-remaining": "0", "x-ratelimit-used": str(self._rate_limit),
                   "x-ratelimit-reset": str(int(time.time()) + reset_in)}
        self.fail_next(method, path_regex, status, body, headers, times)

    def set_rate_limit(self, remaining: int, reset_in: int = 3600, limit: int | None = None) -> None:
        with self._lock:
            self._rate_limit = limit if limit is not None else max(self._rate_limit, remaining)
            self._rate_used = self._rate_limit - remaining
            self._rate_reset = int(time.time()) + reset_in

    # ---- inspection ----------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str, path_regex: str) -> list[Call]:
        pat = re.compile(path_regex)
        return [c for c in self.calls if c.method == method.upper() and pat.search(c.path)]

    def reviews(self, repo: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return [self.views.review(r) for r in self._reviews if (r.repo, r.number) == (repo, number)]

    def review_comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return [self.views.review_comment(c) for c in self._review_comments
                    if (c.repo, c.number) == (repo, number)]

    def issue_comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return [self.views.issue_comment(c) for c in self._issue_comments
                    if (c.repo, c.number) == (repo, number)]

    # ---- state helpers used by the routes ------------------------------------------------

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

    # ---- the one write path with real rules -------------------------------------------

    def create_review(self, pr: Pull, login: str, payload: Any) -> Review:
        problem = schema_error(payload)
        if problem:
            raise ApiError(422, problem, doc=DOC_REVIEWS)
        if any(r.user == login and r.state == "PENDING" for r in self.review_list(pr, login)):
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
        if event == "APPROVE" and login == "github-actions[bot]" and not self.actions_can_approve:
            raise ApiError(422, "Unprocessable Entity",
                           ["GitHub Actions is not permitted to approve pull requests."], DOC_REVIEWS)
        files = pr.heads[commit_id].by_name
        placed: list[ResolvedComment] = []
        errors: list[str] = []
        for c in payload.get("comments", []):
            got = resolve_comment(files, c, self.line_error)
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
        review = Review(self.new_id(), pr.repo, pr.number, login, body, state.get(event, "PENDING"),
                        commit_id, None if event is None else now_iso())
        self._reviews.append(review)
        for p in placed:
            self._review_comments.append(
                ReviewComment(self.new_id(), review.id, pr.repo, pr.number, login, commit_id, p, now_iso())
            )
        return review

    def submit_review(self, review: Review, payload: Any) -> None:
        events = ("APPROVE", "REQUEST_CHANGES", "COMMENT")
        if not isinstance(payload, dict) or payload.get("event") not in events:
            raise ApiError(422, 'Invalid request.\n\n"event" wasn\'t supplied.', doc=DOC_REVIEWS)
        if review.state != "PENDING":
            raise ApiError(422, "Unprocessable Entity", ["Can not submit a non-pending review"], DOC_REVIEWS)
        body = payload.get("body", review.body)
        if not isinstance(body, str):
            raise ApiError(422, "Invalid request.\n\nFor 'properties/body', nil is not a string.",
                           doc=DOC_REVIEWS)
        has_comments = any(c.review_id == review.id for c in self._review_comments)
        if payload["event"] != "APPROVE" and not body.strip() and not has_comments:
            raise ApiError(422, "Unprocessable Entity", ["Review body is required"], DOC_REVIEWS)
        state = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}
        review.state, review.body, review.submitted_at = state[payload["event"]], body, now_iso()


def media_type(headers: dict[str, str]) -> str | None:
    m = _MEDIA_RE.search(headers.get("accept", ""))
    return m.group(1) if m else None


def json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "Problems parsing JSON") from None


def error_reply(e: ApiError) -> Reply:
    body: dict[str, Any] = {"message": e.message}
    if e.errors is not None:
        body["errors"] = e.errors
    body["documentation_url"] = e.doc
    body["status"] = str(e.status)
    return Reply(e.status, body, dict(e.headers))


def fault_reply(f: Fault) -> Reply:
    if f.body is None:
        phrase = BaseHTTPRequestHandler.responses.get(f.status, ("Error",))[0]
        return Reply(f.status, {"message": phrase, "documentation_url": DOCS}, dict(f.headers))
    if isinstance(f.body, str):
        return Reply(f.status, f.body, dict(f.headers), "text/html; charset=utf-8")
    return Reply(f.status, f.body, dict(f.headers))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    emulator: GitHubServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Keep test output clean; ``srv.calls`` is the log."""

    def _serve(self) -> None:
        emu = self.emulator
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        emu.record(Call(self.command, path, query, headers, parsed))
        fault = emu.take_fault(self.command, path)
        if fault is not None and not fault.after_effect:
            reply = fault_reply(fault)
        else:
            with emu._lock:
                try:
                    reply = dispatch(emu, self.command, path, query, headers, raw, parts.query)
                except ApiError as e:
                    reply = error_reply(e)
            if fault is not None:
                reply = fault_reply(fault)
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        if isinstance(reply.body, str):
            data = reply.body.encode("utf-8")
        else:
            data = json.dumps(reply.body).encode("utf-8")
        headers = {"Content-Type": reply.content_type, "X-GitHub-Media-Type": "github.v3; format=json",
                   "X-GitHub-Api-Version-Selected": "2022-11-28",
                   "X-GitHub-Request-Id": f"EMU:{id(self):X}"}
        with self.emulator._lock:
            headers.update(self.emulator.rate_headers())
        headers.update(reply.headers)
        self.send_response(reply.status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


def link_header(base_url: str, page: int, last: int, query: str) -> str | None:
    """RFC 5988 Link header in GitHub's order: prev, next, last, first."""
    if last <= 1 and page <= 1:
        return None
    params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "page"]

    def url(p: int) -> str:
        return f"{base_url}?{urlencode([*params, ('page', str(p))], quote_via=quote)}"

    links = []
    if page > 1:
        links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
    if page < last:
        links.append(f'<{url(page + 1)}>; rel="next"')
        links.append(f'<{url(last)}>; rel="last"')
    if page > 1:
        links.append(f'<{url(1)}>; rel="first"')
    return ", ".join(links)


def diff_too_large(srv: GitHubServer, text: str, files: list[FilePatch], doc: str) -> None:
    if len(files) > srv.diff_limit_files:
        raise ApiError(
            406,
            f"Sorry, the diff exceeded the maximum number of files ({srv.diff_limit_files}). Consider using "
            "'List pull requests files' API or locally cloning the repository instead.",
            [{"resource": "PullRequest", "field": "diff", "code": "too_large"}],
            "https://docs.github.com/rest/pulls/pulls#list-pull-requests-files",
        )
    if count_diff_lines(text) > srv.diff_limit_lines:
        raise ApiError(
            406,
            f"Sorry, the diff exceeded the maximum number of lines ({srv.diff_limit_lines})",
            [{"resource": "PullRequest", "field": "diff", "code": "too_large"}],
            doc,
        )


# ---------------------------------------------------------------------------
# Routes


@dataclass
class Ctx:
    srv: GitHubServer
    path: str
    query: dict[str, str]
    query_string: str
    headers: dict[str, str]
    raw: bytes
    token: Token
    link_base: str

    @property
    def views(self) -> Views:
        return self.srv.views

    def json(self) -> Any:
        return json_body(self.raw)

    def require_write(self, doc: str = DOCS) -> None:
        if self.token.scope != "write":
            raise ApiError(403, "Resource not accessible by integration", doc=doc)

    def page(self, items: list[Any]) -> Reply:
        def number(key: str, default: int) -> int:
            try:
                return int(self.query.get(key, default))
            except ValueError:
                return default

        per_page = number("per_page", 30)
        per_page = 30 if per_page < 1 else min(per_page, 100)
        page = max(1, number("page", 1))
        last = max(1, -(-len(items) // per_page))
        link = link_header(self.link_base, page, last, self.query_string)
        return Reply(200, items[(page - 1) * per_page : page * per_page], {"Link": link} if link else {})


Handler = Callable[..., Reply]


def get_rate_limit(ctx: Ctx) -> Reply:
    return Reply(200, ctx.srv.rate_limit_body())


def get_user(ctx: Ctx) -> Reply:
    if ctx.token.installation:
        raise ApiError(403, "Resource not accessible by integration",
                       doc="https://docs.github.com/rest/users/users#get-the-authenticated-user")
    return Reply(200, ctx.views.user(ctx.token.login))


def get_repo(ctx: Ctx, repo: str) -> Reply:
    write = ctx.token.scope == "write"
    perms = {"admin": False, "maintain": False, "push": write, "triage": write, "pull": True}
    return Reply(200, ctx.views.repo(repo, permissions=perms))


def list_pulls(ctx: Ctx, repo: str) -> Reply:
    return ctx.page([ctx.views.pull(p) for p in ctx.srv.pulls_of(repo)])


def get_pull(ctx: Ctx, repo: str, n: str) -> Reply:
    pr = ctx.srv.pull(repo, int(n))
    media = media_type(ctx.headers)
    if media in ("diff", "patch"):
        diff_too_large(ctx.srv, pr.head.diff_text, pr.head.files,
                       "https://docs.github.com/rest/pulls/pulls#get-a-pull-request")
        return Reply(200, pr.head.diff_text, {"X-GitHub-Media-Type": f"github.v3; param={media}"},
                     f"application/vnd.github.{media}; charset=utf-8")
    viewer = ctx.token.login
    return Reply(200, ctx.views.pull(pr, len(ctx.srv.comments_of(pr, viewer)),
                                     len(ctx.srv.issue_comment_list(repo, pr.number))))


def list_files(ctx: Ctx, repo: str, n: str) -> Reply:
    pr = ctx.srv.pull(repo, int(n))
    files = pr.head.files[:MAX_FILES_LISTED]
    return ctx.page([ctx.views.file(repo, pr.head_sha, f, pr.files_override.get(f.filename)) for f in files])


def list_commits(ctx: Ctx, repo: str, n: str) -> Reply:
    pr = ctx.srv.pull(repo, int(n))
    return ctx.page([ctx.views.commit(repo, sha) for sha in pr.heads])


def list_reviews(ctx: Ctx, repo: str, n: str) -> Reply:
    pr = ctx.srv.pull(repo, int(n))
    return ctx.page([ctx.views.review(r) for r in ctx.srv.review_list(pr, ctx.token.login)])


def post_review(ctx: Ctx, repo: str, n: str) -> Reply:
    pr = ctx.srv.pull(repo, int(n))
    ctx.require_write(DOC_REVIEWS)
    return Reply(200, ctx.views.review(ctx.srv.create_review(pr, ctx.token.login, ctx.json())))


def get_review(ctx: Ctx, repo: str, n: str, rid: str) -> Reply:
    pr = ctx.srv.pull(repo, int(n))
    return Reply(200, ctx.views.review(ctx.srv.find_review(pr, int(rid), ctx.token.login)))


def delete_review(ctx: Ctx, repo: str, n: str, rid: str) -> Reply:
    pr = ctx.srv.pull(repo, int(n))
    ctx.require_write()
    review = ctx.srv.find_review(pr, int(rid), ctx.token.login)
    if review.state != "PENDING":
        raise ApiError(422, "Unprocessable Entity", ["Can not delete a non-pending pull request review"])
    ctx.srv.delete_review(review)
    return Reply(200, ctx.views.review(review))


def submit_review(ctx: Ctx, repo: str, n: str, rid: str) -> Reply:
    pr = ctx.srv.pull(repo, int(n))
    ctx.require_write()
    review = ctx.srv.find_review(pr, int(rid), ctx.token.login)
    ctx.srv.submit_review(review, ctx.json())
    return Reply(200, ctx.views.review(review))


def list_review_comments(ctx: Ctx, repo: str, n: str, rid: str | None = None) -> Reply:
    pr = ctx.srv.pull(repo, int(n))
    if rid is not None:
        ctx.srv.find_review(pr, int(rid), ctx.token.login)
    found = ctx.srv.comments_of(pr, ctx.token.login, int(rid) if rid is not None else None)
    return ctx.page([ctx.views.review_comment(c) for c in found])


def list_issue_comments(ctx: Ctx, repo: str, n: str) -> Reply:
    pr = ctx.srv.pull(repo, int(n))
    return ctx.page([ctx.views.issue_comment(c) for c in ctx.srv.issue_comment_list(repo, pr.number)])


def _comment_body(ctx: Ctx) -> str:
    payload = ctx.json()
    if not isinstance(payload, dict) or "body" not in payload:
        raise ApiError(422, 'Invalid request.\n\n"body" wasn\'t supplied.')
    body = payload["body"]
    if not isinstance(body, str):
        raise ApiError(422, "Invalid request.\n\nFor 'properties/body', nil is not a string.")
    if not body.strip():
        raise ApiError(422, "Validation Failed", [{"resource": "IssueComment", "code": "unprocessable",
                                                   "field": "data", "message": "Body cannot be blank"}])
    if len(body) > MAX_BODY:
        raise ApiError(422, "Validation Failed", [{
            "resource": "IssueComment", "code": "unprocessable", "field": "data",
            "message": f"Body is too long (maximum is {MAX_BODY} characters)"}])
    return body


def post_issue_comment(ctx: Ctx, repo: str, n: str) -> Reply:
    pr = ctx.srv.pull(repo, int(n))
    ctx.require_write()
    stamp = now_iso()
    c = IssueComment(ctx.srv.new_id(), repo, pr.number, ctx.token.login, _comment_body(ctx), stamp, stamp)
    ctx.srv._issue_comments.append(c)
    data = ctx.views.issue_comment(c)
    return Reply(201, data, {"Location": data["url"]})


def issue_comment(ctx: Ctx, repo: str, cid: str) -> Reply:
    c = ctx.srv.find_issue_comment(repo, int(cid))
    return Reply(200, ctx.views.issue_comment(c))


def patch_issue_comment(ctx: Ctx, repo: str, cid: str) -> Reply:
    c = ctx.srv.find_issue_comment(repo, int(cid))
    ctx.require_write()
    c.body, c.updated_at = _comment_body(ctx), now_iso()
    return Reply(200, ctx.views.issue_comment(c))


def delete_issue_comment(ctx: Ctx, repo: str, cid: str) -> Reply:
    c = ctx.srv.find_issue_comment(repo, int(cid))
    ctx.require_write()
    ctx.srv.delete_issue_comment(c)
    return Reply(204, "", content_type="text/plain")


def get_contents(ctx: Ctx, repo: str, path: str | None = None) -> Reply:
    r = ctx.srv._repo(repo)
    ref = ctx.query.get("ref") or r.default_branch
    if ref not in ctx.srv.known_refs(repo):
        raise ApiError(404, f"No commit found for the ref {ref}",
                       doc="https://docs.github.com/rest/repos/contents#get-repository-content")
    path = (path or "").strip("/")
    aliases = ctx.srv.ref_aliases(repo, ref)
    for alias in aliases:
        text = r.files.get((alias, path))
        if text is not None:
            if media_type(ctx.headers) == "raw":
                return Reply(200, text, content_type="application/vnd.github.raw; charset=utf-8")
            return Reply(200, ctx.views.content(repo, path, ref, text))
    prefix = f"{path}/" if path else ""
    children: dict[str, str] = {}
    for alias, fpath in r.files:
        if alias in aliases and fpath.startswith(prefix):
            head, sep, _ = fpath[len(prefix) :].partition("/")
            children[prefix + head] = "dir" if sep else "file"
    if not children:
        raise ApiError(404, "Not Found", doc="https://docs.github.com/rest/repos/contents#get-repository-content")
    return Reply(200, [ctx.views.dir_entry(repo, p, ref, kind) for p, kind in sorted(children.items())])


def get_compare(ctx: Ctx, repo: str, spec: str) -> Reply:
    base, sep, head = spec.partition("...")
    if not sep:
        base, _, head = spec.partition("..")
    cmp = ctx.srv._repo(repo).compares.get((base, head))
    if cmp is None:
        raise ApiError(404, "Not Found", doc="https://docs.github.com/rest/commits/commits#compare-two-commits")
    media = media_type(ctx.headers)
    if media in ("diff", "patch"):
        diff_too_large(ctx.srv, cmp.diff_text, cmp.files,
                       "https://docs.github.com/rest/commits/commits#compare-two-commits")
        return Reply(200, cmp.diff_text, {"X-GitHub-Media-Type": f"github.v3; param={media}"},
                     f"application/vnd.github.{media}; charset=utf-8")
    return Reply(200, compare_json(ctx.views, repo, cmp))


def compare_json(views: Views, repo: str, cmp: Compare) -> dict[str, Any]:
    url = f"{views.api}/repos/{repo}/compare/{quote(cmp.base)}...{quote(cmp.head)}"
    html = f"https://github.com/{repo}/compare/{quote(cmp.base)}...{quote(cmp.head)}"
    base_commit = views.commit(repo, cmp.base)
    merge_base = base_commit if cmp.behind_by == 0 else views.commit(repo, fake_sha("merge-base", cmp.base))
    return {
        "url": url, "html_url": html, "permalink_url": html, "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch", "base_commit": base_commit, "merge_base_commit": merge_base,
        "status": cmp.status, "ahead_by": cmp.ahead_by, "behind_by": cmp.behind_by,
        "total_commits": cmp.ahead_by, "commits": [views.commit(repo, cmp.head)],
        "files": [views.file(repo, cmp.head, f) for f in cmp.files],
    }


def get_commit(ctx: Ctx, repo: str, ref: str) -> Reply:
    if ref not in ctx.srv.known_refs(repo):
        raise ApiError(422, f"No commit found for SHA: {ref}",
                       doc="https://docs.github.com/rest/commits/commits#get-a-commit")
    sha = ref if re.fullmatch(r"[0-9a-f]{40}", ref) else fake_sha("ref", ref)
    return Reply(200, ctx.views.commit(repo, sha))


_R = r"/repos/(?P<repo>[^/]+/[^/]+)"
_P = _R + r"/pulls/(?P<n>\d+)"
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (m, re.compile(p), h) for m, p, h in (
        ("GET", r"/rate_limit", get_rate_limit),
        ("GET", r"/user", get_user),
        ("GET", _R, get_repo),
        ("GET", _R + r"/pulls", list_pulls),
        ("GET", _P, get_pull),
        ("GET", _P + r"/files", list_files),
        ("GET", _P + r"/commits", list_commits),
        ("GET", _P + r"/reviews", list_reviews),
        ("POST", _P + r"/reviews", post_review),
        ("GET", _P + r"/reviews/(?P<rid>\d+)", get_review),
        ("DELETE", _P + r"/reviews/(?P<rid>\d+)", delete_review),
        ("POST", _P + r"/reviews/(?P<rid>\d+)/events", submit_review),
        ("GET", _P + r"/reviews/(?P<rid>\d+)/comments", list_review_comments),
        ("GET", _P + r"/comments", list_review_comments),
        ("GET", _R + r"/issues/(?P<n>\d+)/comments", list_issue_comments),
        ("POST", _R + r"/issues/(?P<n>\d+)/comments", post_issue_comment),
        ("GET", _R + r"/issues/comments/(?P<cid>\d+)", issue_comment),
        ("PATCH", _R + r"/issues/comments/(?P<cid>\d+)", patch_issue_comment),
        ("DELETE", _R + r"/issues/comments/(?P<cid>\d+)", delete_issue_comment),
        ("GET", _R + r"/contents(?:/(?P<path>.*))?", get_contents),
        ("GET", _R + r"/compare/(?P<spec>.+)", get_compare),
        ("GET", _R + r"/commits/(?P<ref>[^/]+)", get_commit),
    )
]


def dispatch(srv: GitHubServer, method: str, path: str, query: dict[str, str], headers: dict[str, str],
             raw: bytes, query_string: str) -> Reply:
    """Authenticate, charge the rate limit, route. Runs under the emulator's lock."""
    link_path = path
    m = re.match(r"/repositories/(\d+)(/.*)?$", path)
    if m:
        # GitHub's Link headers use /repositories/{id}/...; clients follow them verbatim.
        repo = srv.repo_by_id(int(m.group(1)))
        if repo is None:
            raise ApiError(404, "Not Found")
        path = f"/repos/{repo.full_name}{m.group(2) or ''}"
    token = srv.token_for(headers)
    if path != "/rate_limit":
        srv.spend_rate()
    for route_method, pattern, handler in ROUTES:
        match = pattern.fullmatch(path)
        if match and route_method == method:
            params = {k: v for k, v in match.groupdict().items() if v is not None}
            if "repo" in params:
                repo_obj = srv._repo(params["repo"])
                link_path = f"/repositories/{repo_obj.id}{path[len('/repos/' + repo_obj.full_name):]}"
            ctx = Ctx(srv, path, query, query_string, headers, raw, token, f"{srv.url}{link_path}")
            return handler(ctx, **params)
    raise ApiError(404, "Not Found")
