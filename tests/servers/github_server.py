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
  diff; ``/pulls/N/files`` and review-comment validation are derived from it (github_diff.py, github_reviews.py).
  ``files_override`` maps filename -> fields to replace in that file's entry (value None drops
  the key, e.g. ``{"big.py": {"patch": None}}`` for a patch GitHub finds too large).
- ``add_pull_from_event(event_payload, diff_text) -> (repo, number)``: the same, from a real
  ``pull_request`` webhook payload (e.g. tests/fixtures/events/pull_request.opened.json).
- ``push(repo, number, new_diff_text, new_head_sha)``: synchronize; the old head stays a valid
  ``commit_id`` for reviews (validated against its own diff).
- ``add_compare(repo, base, head, diff_text, status="ahead", ahead_by=1, behind_by=0)``; an
  unregistered pair answers 404 (force push).
- ``add_token(token, scope="write"|"read", login="github-actions[bot]", installation=None)``: the
  identity the token posts as (reviews, comments, statuses carry ``login``). Installation tokens
  (default for ``[bot]`` logins: the Actions token, a GitHub App's ``<slug>[bot]``) get 403 on
  ``GET /user`` as on GitHub; a user's token gets 200. ``POST /graphql`` answers ``viewer { login }``
  for every kind (github_graphql.py). Unknown token -> 401 "Bad credentials"; no token -> 401
  "Requires authentication".
- ``add_review(repo, number, payload, login=...)`` / ``add_issue_comment(repo, number, body, login=...)``:
  seed state from an earlier run (same validation as the HTTP route; ValueError if refused).
- Faults: ``fail_next(method, path_regex, status, body=None, headers=None, times=1, after_effect=False)``
  (``after_effect=True``: do the action, then answer the fault); ``fail_secondary_rate_limit(...)``,
  ``fail_primary_rate_limit(...)``, ``set_rate_limit(remaining, reset_in=3600)``.
- Races: ``after_next(method, path_regex, action, accept=None, times=1)`` runs ``action(srv)`` right
  after answering a matching request, e.g. a push between the bot's read of the head and of the diff.
- Diffs: ``Accept: application/vnd.github.v3.diff`` (or ``.diff``/``.patch``) on ``/pulls/N`` and
  ``/compare/A...B`` answers the stored diff text (the patch media type too: no mbox headers).
- Knobs: ``diff_limit_lines`` (20000), ``diff_limit_files`` (300), ``diff_too_slow`` (False: True makes
  the diff media type answer 422 "Sorry, this diff is taking too long to generate."), ``line_error`` (``LINE_ERROR`` or
  ``LINE_ERROR_LEGACY``), ``actions_can_approve`` (False), ``anonymous_reads`` (False: True answers GETs
  without a token for public repositories, as github.com does; anything else still 401).
- Inspection: ``calls`` (list of ``Call(method, path, query, headers, json)``, headers lower-cased),
  ``calls_to(method, path_regex)``, ``reviews(repo, n)``, ``review_comments(repo, n)``,
  ``issue_comments(repo, n)`` (JSON as the API shows them to their author), ``statuses(repo, sha)``.

Routes: GET /rate_limit, /user, POST /graphql (viewer only), GET /repos/{o}/{r}, /pulls,
/pulls/{n} (JSON or diff), /pulls/{n}/files,
/pulls/{n}/commits, /pulls/{n}/comments, GET+POST /pulls/{n}/reviews, GET+DELETE /reviews/{id},
POST /reviews/{id}/events, GET /reviews/{id}/comments, GET+POST /issues/{n}/comments,
GET+PATCH+DELETE /issues/comments/{id}, GET /contents/{path}?ref=, /compare/{a}...{b}, /commits/{ref},
POST /statuses/{sha} and GET /commits/{ref}/statuses (github_statuses.py, with GitHub's validation).
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

Layout: github_server.py (this class: lifecycle, setup and inspection API), github_state.py
(records and the store's lookups), github_diff.py (the emulator's own diff parser),
github_reviews.py (review payload and placement rules), github_shapes.py (JSON shapes),
github_routes.py (one function per endpoint, pagination, dispatch), github_http.py (the
request handler: record, faults, answer).
"""

from __future__ import annotations

import re
import threading
import time
import zlib
from http.server import ThreadingHTTPServer
from typing import Any

from tests.servers import github_reviews
from tests.servers.github_diff import parse_diff
from tests.servers.github_http import EmulatorHandler
from tests.servers.github_reviews import LINE_ERROR, LINE_ERROR_LEGACY
from tests.servers.github_shapes import Views
from tests.servers.github_state import (
    ApiError,
    Call,
    Compare,
    EmulatorState,
    Fault,
    Head,
    Hook,
    IssueComment,
    Pull,
    Repo,
    Review,
    Token,
    now_iso,
)

__all__ = ["LINE_ERROR", "LINE_ERROR_LEGACY", "Call", "GitHubServer"]

SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit and have been temporarily blocked from content "
    "creation. Please retry your request again later."
)


class GitHubServer(EmulatorState):
    """See the module docstring. Use as a context manager; ``url`` is valid inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.diff_limit_lines = 20000
        self.diff_limit_files = 300
        self.diff_too_slow = False  # the diff media type answers 422 "taking too long to generate"
        self.line_error = LINE_ERROR
        self.actions_can_approve = False
        self.anonymous_reads = False
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> GitHubServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        handler = type("GitHubHandler", (EmulatorHandler,), {"emulator": self})
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

    def after_next(self, method: str, path_regex: str, action: Any, accept: str | None = None,
                   times: int = 1) -> None:
        """After answering the next matching request (``accept``: a regex on its Accept header),
        run ``action(self)``: e.g. ``lambda s: s.push(...)`` to move the head between two reads."""
        with self._lock:
            self._hooks.append(Hook(method.upper(), re.compile(path_regex),
                                    re.compile(accept) if accept else None, action, times))

    def fail_secondary_rate_limit(self, method: str, path_regex: str, times: int = 1, retry_after: int | None = 1,
                                  status: int = 403) -> None:
        """``retry_after=None``: no Retry-After header, as GitHub sometimes answers."""
        body = {"message": SECONDARY_MESSAGE, "documentation_url":
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self.fail_next(method, path_regex, status, body, headers, times)

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

    def statuses(self, repo: str, sha: str) -> list[dict[str, Any]]:
        """Commit statuses on ``sha``, newest first, as GET .../commits/{sha}/statuses shows them."""
        with self._lock:
            found = [s for s in reversed(self._statuses) if (s.repo, s.sha) == (repo, sha)]
            return [{"state": s.state, "description": s.description, "context": s.context,
                     "creator": self.views.user(s.creator)} for s in found]

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

    # ---- the one write path with real rules (github_reviews.py) ----------------------------

    def create_review(self, pr: Pull, login: str, payload: Any) -> Review:
        return github_reviews.create_review(self, pr, login, payload, self.line_error, self.actions_can_approve)

    def submit_review(self, review: Review, payload: Any) -> None:
        github_reviews.submit_review(self, review, payload)
