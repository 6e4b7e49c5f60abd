"""Routes of the GitHub emulator: one function per endpoint, pagination, dispatch.

``dispatch`` runs under the emulator's lock; ``github_http.py`` calls it for every request
that no injected fault pre-empts (see github_server.py for the route list).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode

from tests.servers import github_graphql, github_statuses
from tests.servers.github_diff import FilePatch, count_diff_lines
from tests.servers.github_shapes import Views, compare_json
from tests.servers.github_state import DOC_REVIEWS, DOCS, MAX_BODY, ApiError, IssueComment, Token, fake_sha, now_iso

if TYPE_CHECKING:
    from tests.servers.github_server import GitHubServer

MAX_FILES_LISTED = 3000
_MEDIA_RE = re.compile(r"application/vnd\.github(?:\.v3)?\.(diff|patch|raw)")


@dataclass
class Reply:
    status: int
    body: Any  # JSON-able, or str for text media types
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"


def media_type(headers: dict[str, str]) -> str | None:
    m = _MEDIA_RE.search(headers.get("accept", ""))
    return m.group(1) if m else None


def json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "Problems parsing JSON") from None


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
        doc = "https://docs.github.com/rest/pulls/pulls#get-a-pull-request"
        if ctx.srv.diff_too_slow:
            raise ApiError(422, "Server Error: Sorry, this diff is taking too long to generate.",
                           [{"resource": "PullRequest", "field": "diff", "code": "not_available"}], doc)
        diff_too_large(ctx.srv, pr.head.diff_text, pr.head.files, doc)
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
        ("POST", r"/graphql", github_graphql.post_graphql),
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
        ("POST", _R + r"/statuses/(?P<sha>[^/]+)", github_statuses.create_status),
        ("GET", _R + r"/statuses/(?P<ref>[^/]+)", github_statuses.list_statuses),  # the older path, PyGithub's
        ("GET", _R + r"/commits/(?P<ref>[^/]+)/statuses", github_statuses.list_statuses),
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
    token = _anonymous_reader(srv, method, path, headers) or srv.token_for(headers)
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


def _anonymous_reader(srv: GitHubServer, method: str, path: str, headers: dict[str, str]) -> Token | None:
    """With ``anonymous_reads``: a GET without a token of a public repository's route reads as nobody."""
    if not srv.anonymous_reads or headers.get("authorization") or method != "GET":
        return None
    m = re.match(r"/repos/([^/]+/[^/]+)(?:/|$)", path)
    if m is None or srv._repo(m.group(1)).private:
        return None
    return Token(scope="read", login="", installation=False)
