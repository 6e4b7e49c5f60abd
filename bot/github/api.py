"""The GitHub REST calls the bot makes, through PyGithub, with a retry policy that is safe.

PyGithub's default `GithubRetry` repeats POST after a 5xx, which can post a review twice,
and sleeps whatever `Retry-After` says. Ours retries only reads (GET, HEAD, OPTIONS) on
429/5xx, connection errors and secondary rate limits, and caps every wait. Writes are
never re-sent here: the review sink decides, after checking whether the first one landed.

We call PyGithub's Requester with explicit paths rather than its lazy object model, so the
requests a run makes are exactly the ones written below (counted in tests).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from github import Auth, Github, GithubException

from bot.errors import GitHubError, InputError
from bot.github import retry as github_retry
from bot.github.markers import ACTIONS_BOT_LOGIN
from bot.github.retry import CappedRetry, Waits
from bot.logsafe import one_line

DEFAULT_API_URL = "https://api.github.com"
DIFF_MEDIA_TYPE = "application/vnd.github.v3.diff"
JSON_MEDIA_TYPE = "application/vnd.github+json"
RAW_MEDIA_TYPE = "application/vnd.github.raw"
MAX_REPO_TEXT_BYTES = 2 * 1024 * 1024  # a config or template larger than this is not one
API_VERSION = "2022-11-28"
USER_AGENT = "review-bot (+https://github.com/features/actions)"
MAX_PR_FILES = 3000  # GitHub lists at most 3,000 files of a pull request
_UNLISTED = re.compile(r"\(\d+ more files\)")
PER_PAGE = 100
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
VIEWER_QUERY = "query { viewer { login } }"
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


@dataclass(frozen=True)
class ClientOptions:
    timeout_s: int = 30  # PyGithub takes whole seconds, for connect and read alike
    retries: int = 4  # for reads only
    backoff_s: float = 1.0  # exponential backoff factor between read retries
    max_wait_s: float = 120.0  # cap on any single wait a server asks for (Retry-After, rate-limit reset)
    secondary_rate_wait_s: float = 60.0  # wait after a secondary rate limit that names no time
    seconds_between_requests: float = 0.0  # we make our calls one after another anyway
    seconds_between_writes: float = 1.0  # GitHub asks for >= 1 s between content-creating requests
    sleep: Callable[[float], None] = time.sleep  # injected by tests: the rate-limit rules wait minutes
    clock: Callable[[], float] = time.time

    @property
    def waits(self) -> Waits:
        return Waits(max_wait_s=self.max_wait_s, secondary_wait_s=self.secondary_rate_wait_s,
                     sleep=self.sleep, clock=self.clock)


def unlisted_files(missing: int) -> str:
    """The `path` of the Skipped that stands for the files past MAX_PR_FILES, which no diff shows."""
    return f"({missing} more files)"


def is_unlisted_files(path: str) -> bool:
    return _UNLISTED.fullmatch(path) is not None


def make_retry(options: ClientOptions) -> CappedRetry:
    return github_retry.make_retry(options.retries, options.backoff_s, options.waits)


def quiet_pygithub_logging() -> None:
    """PyGithub logs every retried 403 at INFO to stderr from import on; the Actions token's
    expected 403 on `GET /user` would print on every run. Our own progress output says enough."""
    logging.getLogger("github").setLevel(logging.WARNING)


def make_github(token: str | None, api_url: str | None = None, options: ClientOptions | None = None) -> Github:
    """A PyGithub client; constructing it does no network I/O. Token None: anonymous (reads of
    public repositories only; github_from_env decides when that is enough)."""
    options = options or ClientOptions()
    quiet_pygithub_logging()
    if token is not None and not token:
        raise InputError("GITHUB_TOKEN is empty; pass the workflow's token (secrets.GITHUB_TOKEN) in env")
    base_url = (api_url or DEFAULT_API_URL).rstrip("/")
    if not base_url.startswith(("https://", "http://")):
        raise InputError(f"GITHUB_API_URL {base_url!r} is not an http(s) URL; unset it for github.com")
    return Github(
        auth=Auth.Token(token) if token is not None else None,
        base_url=base_url,
        timeout=options.timeout_s,
        user_agent=USER_AGENT,
        per_page=PER_PAGE,
        retry=make_retry(options),
        seconds_between_requests=options.seconds_between_requests,
        seconds_between_writes=options.seconds_between_writes,
        api_version=API_VERSION,
    )


def github_from_env(env: Mapping[str, str], options: ClientOptions | None = None,
                    read_only: bool = False) -> Github:
    """The client for GITHUB_TOKEN; with `read_only` (nothing will be posted) and no token, an
    anonymous one, which GitHub serves for public repositories."""
    token = env.get("GITHUB_TOKEN", "").strip()
    if not token and read_only:
        return make_github(None, env.get("GITHUB_API_URL", "").strip() or None, options)
    if not token:
        raise InputError("GITHUB_TOKEN is not set; in a workflow add `env: GITHUB_TOKEN: "
                         "${{ secrets.GITHUB_TOKEN }}`, locally export a token that can read the repository")
    return make_github(token, env.get("GITHUB_API_URL", "").strip() or None, options)


class ApiFailure(GitHubError):
    """A GitHub call that failed for good (after the read retries); one line for the user.

    `status` is None when no answer came (timeout, connection refused).
    """

    def __init__(self, what: str, status: int | None, message: str,
                 headers: Mapping[str, str] | None = None, data: Any = None) -> None:
        self.what = what
        self.status = status
        self.api_message = message
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.data = data
        shown = f"HTTP {status}" if status is not None else "no answer"
        detail = f" ({message})" if message else ""
        super().__init__(f"GitHub {what}: {shown}{detail}{_advice(status, message)}")

    @property
    def retry_after(self) -> float | None:
        value = self.headers.get("retry-after", "").strip()
        try:
            return max(0.0, float(value)) if value else None
        except ValueError:
            return None

    @property
    def is_rate_limit(self) -> bool:
        if self.status not in (403, 429):
            return False
        lowered = self.api_message.lower()
        return (self.status == 429 or "retry-after" in self.headers or "rate limit" in lowered
                or self.headers.get("x-ratelimit-remaining") == "0")

    @property
    def is_read_only(self) -> bool:
        return self.status == 403 and "not accessible by integration" in self.api_message.lower()


def _advice(status: int | None, message: str) -> str:
    if status == 401:
        return "; the token is invalid or expired: check GITHUB_TOKEN"
    if status == 403 and "not accessible by integration" in message.lower():
        return "; the token may not write here (fork pull request?): grant `pull-requests: write`"
    if status == 404:
        return "; check the repository and pull request number, and that the token can read them"
    if status is None or status >= 500:
        return "; GitHub is unreachable or failing: re-run the job later"
    return ""


def _failure(what: str, err: Exception) -> ApiFailure:
    if isinstance(err, GithubException):
        data = err.data
        message = data.get("message", "") if isinstance(data, Mapping) else ""
        return ApiFailure(what, err.status, one_line(message or "", limit=200), err.headers or {}, data)
    if isinstance(err, requests.exceptions.Timeout):
        return ApiFailure(what, None, "timed out")
    if isinstance(err, requests.exceptions.RequestException):
        return ApiFailure(what, None, type(err).__name__)
    return ApiFailure(what, None, f"unreadable answer ({type(err).__name__})")


class GitHubApi:
    """One repository's REST calls. Holds the client; makes no request until a method is called."""

    def __init__(self, github: Github, repo: str) -> None:
        if not _REPO.match(repo):
            raise InputError(f"repository {repo!r} is not OWNER/NAME; pass --repo like octo-org/octo-repo")
        self.github = github
        self.repo = repo
        self._own_login: str | None = None
        self._own_login_known = False

    def with_github(self, github: Github) -> GitHubApi:
        """The same repository through another client (e.g. with the budget's max_wait_s)."""
        other = GitHubApi(github, self.repo)
        other._own_login, other._own_login_known = self._own_login, self._own_login_known
        return other

    # -- plumbing -----------------------------------------------------------------------------

    def _request(self, verb: str, path: str, what: str, *, params: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None, body: Any = None) -> tuple[dict[str, Any], Any]:
        try:
            return self.github.requester.requestJsonAndCheck(
                verb, path, parameters=dict(params) if params else None,
                headers=dict(headers) if headers else {"Accept": JSON_MEDIA_TYPE}, input=body)
        except (GithubException, requests.exceptions.RequestException, ValueError) as err:
            raise _failure(what, err) from None

    def _request_text(self, path: str, what: str, params: Mapping[str, Any], accept: str) -> str:
        """A GET whose answer is text, not JSON (PyGithub would try to parse a body that starts with `{`)."""
        try:
            status, headers, body = self.github.requester.requestJson(
                "GET", path, parameters=dict(params), headers={"Accept": accept})
        except (GithubException, requests.exceptions.RequestException, ValueError) as err:
            raise _failure(what, err) from None
        if status >= 400:
            try:
                data = json.loads(body or "")
            except ValueError:
                data = None
            message = data.get("message", "") if isinstance(data, dict) else ""
            raise ApiFailure(what, status, one_line(message, limit=200), headers, data)
        return body if isinstance(body, str) else ""

    def _paginate(self, path: str, what: str, limit: int, params: Mapping[str, Any] | None = None
                  ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        url: str | None = path
        query: Mapping[str, Any] | None = {**(params or {}), "per_page": PER_PAGE}
        while url is not None and len(items) < limit:
            headers, data = self._request("GET", url, what, params=query)
            if not isinstance(data, list):
                raise ApiFailure(what, 200, "expected a JSON list")
            items.extend(item for item in data if isinstance(item, dict))
            match = _LINK_NEXT.search(headers.get("link", ""))
            url, query = (match.group(1), None) if match else (None, None)
        return items[:limit]

    def _pull_path(self, number: int) -> str:
        return f"/repos/{self.repo}/pulls/{number}"

    # -- reads --------------------------------------------------------------------------------

    def own_login(self) -> str:
        """The account this token posts as: only text it wrote counts as the bot's (markers.is_own).

        GraphQL's `viewer` names it for every kind of token: a user's login for a personal token,
        `<app-slug>[bot]` for a GitHub App installation token (actions/create-github-app-token),
        `github-actions[bot]` for the Actions token. REST `GET /user` answers 403 "Resource not
        accessible by integration" for the last two, and `GET /app` needs the App's JWT
        (fullsend-ai/fullsend#1953, pingdotgg/t3code#11273, actions/github-script#39). So: viewer
        first, `GET /user` if GraphQL fails, and only if both fail the Actions token's account.
        """
        if not self._own_login_known:
            login = self._viewer_login() or self._user_login()
            self._own_login = login or ACTIONS_BOT_LOGIN
            self._own_login_known = True
        return self._own_login or ACTIONS_BOT_LOGIN

    def _viewer_login(self) -> str | None:
        try:
            _, data = self.github.requester.graphql_query(VIEWER_QUERY, {})
        except (GithubException, requests.exceptions.RequestException, ValueError):
            return None  # GraphQL off or refused (an old GitHub Enterprise): ask REST
        viewer = (data.get("data") or {}).get("viewer") if isinstance(data, dict) else None
        login = viewer.get("login") if isinstance(viewer, dict) else None
        return login if isinstance(login, str) and login else None

    def _user_login(self) -> str | None:
        try:
            _, data = self._request("GET", "/user", "GET /user")
        except ApiFailure as err:
            if err.status not in (401, 403, 404):
                raise
            return None
        login = data.get("login") if isinstance(data, dict) else None
        return login if isinstance(login, str) and login else None

    def pull(self, number: int) -> dict[str, Any]:
        _, data = self._request("GET", self._pull_path(number), f"GET pull request #{number}")
        if not isinstance(data, dict):
            raise ApiFailure(f"GET pull request #{number}", 200, "expected a JSON object")
        return data

    def pull_diff(self, number: int) -> str | None:
        """The whole diff, or None when GitHub won't make it (406 too large, 422 too slow)."""
        what = f"GET the diff of pull request #{number}"
        try:
            _, data = self._request("GET", self._pull_path(number), what,
                                    headers={"Accept": DIFF_MEDIA_TYPE})
        except ApiFailure as err:
            if err.status in (406, 422):
                return None
            raise
        if data is None:
            return ""
        # PyGithub wraps a body that is not JSON as {"data": text}.
        if isinstance(data, dict) and isinstance(data.get("data"), str):
            return str(data["data"])
        raise ApiFailure(what, 200, "the answer is not a diff")

    def pull_files(self, number: int, limit: int = MAX_PR_FILES) -> list[dict[str, Any]]:
        return self._paginate(f"{self._pull_path(number)}/files", f"GET the files of pull request #{number}",
                              limit)

    def file_text(self, path: str, ref: str, max_bytes: int | None = None) -> str | None:
        """A file's text at `ref`, or None when it does not exist there.

        The contents API inlines files up to 1 MB; a larger one comes with `encoding: "none"`
        and is read again through the raw media type. Past `max_bytes` it is an InputError.
        """
        what = f"GET {path} at {ref[:12]}"
        quoted = f"/repos/{self.repo}/contents/{urllib.parse.quote(path)}"
        try:
            _, data = self._request("GET", quoted, what, params={"ref": ref})
        except ApiFailure as err:
            if err.status == 404:
                return None
            raise
        if not isinstance(data, dict) or data.get("type") != "file":
            raise ApiFailure(what, 200, "not a file")
        size = data.get("size")
        if max_bytes is not None and isinstance(size, int) and size > max_bytes:
            raise InputError(f"{path} at {ref[:12]} is {size:,} bytes, more than the {max_bytes:,} allowed; "
                             "shrink it or remove it")
        if data.get("encoding") == "none":
            return self._request_text(quoted, what, {"ref": ref}, RAW_MEDIA_TYPE)
        if data.get("encoding") != "base64":
            raise ApiFailure(what, 200, f"unknown content encoding {str(data.get('encoding'))[:20]!r}")
        try:
            raw_bytes = base64.b64decode(str(data.get("content", "")), validate=False)
            return raw_bytes.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ApiFailure(what, 200, "the file is not UTF-8 text") from None

    def compare(self, base: str, head: str) -> dict[str, Any] | None:
        """`base...head`, or None when GitHub can't compare them (404: a force push dropped `base`)."""
        what = f"GET compare {base[:12]}...{head[:12]}"
        try:
            _, data = self._request("GET", f"/repos/{self.repo}/compare/{base}...{head}", what)
        except ApiFailure as err:
            if err.status in (404, 422):
                return None
            raise
        if not isinstance(data, dict):
            raise ApiFailure(what, 200, "expected a JSON object")
        return data

    def reviews(self, number: int, limit: int = 10_000) -> list[dict[str, Any]]:
        return self._paginate(f"{self._pull_path(number)}/reviews",
                              f"GET the reviews of pull request #{number}", limit)

    def review_comments(self, number: int, limit: int = 30_000) -> list[dict[str, Any]]:
        return self._paginate(f"{self._pull_path(number)}/comments",
                              f"GET the review comments of pull request #{number}", limit)

    def pull_commits(self, number: int, limit: int = 250) -> list[dict[str, Any]]:
        """The pull request's commits, oldest first (GitHub lists at most 250)."""
        return self._paginate(f"{self._pull_path(number)}/commits", f"GET the commits of pull request #{number}",
                              limit)

    def statuses(self, ref: str, limit: int = 100) -> list[dict[str, Any]]:
        """Commit statuses on `ref`, newest first."""
        return self._paginate(f"/repos/{self.repo}/commits/{ref}/statuses", f"GET the statuses of {ref[:12]}",
                              limit)

    # -- the writes ---------------------------------------------------------------------------

    def create_status(self, sha: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST a commit status on `sha` (no notification goes to anyone). Never retried here."""
        _, data = self._request("POST", f"/repos/{self.repo}/statuses/{sha}", f"POST a status on {sha[:12]}",
                                body=dict(payload))
        return data if isinstance(data, dict) else {}

    def create_review(self, number: int, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST one review. Never retried here; raises ApiFailure with the status and data."""
        _, data = self._request("POST", f"{self._pull_path(number)}/reviews",
                                f"POST a review on pull request #{number}", body=dict(payload))
        return data if isinstance(data, dict) else {}
