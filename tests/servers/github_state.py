"""Diff model and review validation for the GitHub emulator (see github_server.py).

This module is an independent oracle: it parses unified diffs with its own small
state machine (no unidiff, nothing from ``bot/``), so the bot's own diff code is
checked against a second implementation rather than against itself.

What it reproduces from GitHub:
- ``/pulls/{n}/files`` entries: status, previous_filename, additions, deletions,
  and ``patch`` = the file's diff from its first ``@@`` line on (absent when binary
  or when there is no hunk, e.g. a pure rename or a mode change);
- the commentable lines of each file: RIGHT = added + context lines by new number,
  LEFT = deleted + context lines by old number, each tied to its hunk;
- the legacy ``position`` (1 = the line below the first ``@@``; later ``@@`` lines
  take a position too);
- the JSON-schema style errors of ``POST /pulls/{n}/reviews``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}

# The two wordings GitHub has used for a comment that is not on the diff.
LINE_ERROR = "Line could not be resolved"
LINE_ERROR_LEGACY = (
    "Pull request review thread line must be part of the diff and "
    "Pull request review thread diff hunk can't be blank"
)
PATH_ERROR = "Path could not be resolved"
SAME_HUNK_ERROR = "Pull request review thread start line must be part of the same hunk as the line."
START_BEFORE_ERROR = "Pull request review thread start line must precede the end line."


@dataclass(frozen=True)
class PatchLine:
    kind: str  # "+", "-", " " or "\\" (the "\ No newline at end of file" marker)
    old_no: int | None
    new_no: int | None
    position: int  # GitHub's legacy position inside the file's patch
    hunk: int  # index of the hunk in its file


@dataclass(frozen=True)
class PatchHunk:
    index: int
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    text: tuple[str, ...]  # header line first, then the body lines as in the diff
    lines: tuple[PatchLine, ...]


@dataclass(frozen=True, eq=False)
class FilePatch:
    filename: str
    previous_filename: str | None
    status: str  # added | removed | modified | renamed | copied | changed
    binary: bool
    hunks: tuple[PatchHunk, ...]
    additions: int
    deletions: int
    right: Mapping[int, PatchLine] = field(repr=False)
    left: Mapping[int, PatchLine] = field(repr=False)
    by_position: Mapping[int, PatchLine] = field(repr=False)

    @property
    def patch(self) -> str | None:
        if self.binary or not self.hunks:
            return None
        return "\n".join(line for h in self.hunks for line in h.text)

    def commentable(self, side: str) -> Mapping[int, PatchLine]:
        return self.right if side == "RIGHT" else self.left

    def diff_hunk(self, target: PatchLine) -> str:
        """What GitHub stores as a comment's ``diff_hunk``: its hunk up to the commented line."""
        hunk = self.hunks[target.hunk]
        end = target.position - (hunk.lines[0].position - 1)
        return "\n".join(hunk.text[: end + 1])


def _unquote_c(s: str) -> str:
    """Decode a git C-quoted path (``"a/t\\303\\251st"``); unquoted input is returned as is."""
    if len(s) < 2 or not (s.startswith('"') and s.endswith('"')):
        return s
    out = bytearray()
    body, i = s[1:-1], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if re.fullmatch(r"[0-7]{3}", body[i + 1 : i + 4]):
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out.append(_C_ESCAPES.get(nxt, ord(nxt)))
            i += 2
            continue
        out.extend(ch.encode("utf-8"))
        i += 1
    return out.decode("utf-8", errors="surrogateescape")


def _split_git_header(rest: str) -> tuple[str, str]:
    """The two paths of ``diff --git A B``; ambiguous when unquoted names contain spaces."""
    if rest.startswith('"'):
        m = re.match(r'("(?:[^"\\]|\\.)*") (.*)$', rest)
        if m:
            return _unquote_c(m.group(1)), _unquote_c(m.group(2))
    if rest.endswith('"'):
        m = re.match(r'(.*?) ("(?:[^"\\]|\\.)*")$', rest)
        if m:
            return m.group(1), _unquote_c(m.group(2))
    # Unquoted: git only writes this form when both sides name the same file (plus prefixes).
    for k in [i for i, ch in enumerate(rest) if ch == " "]:
        a, b = rest[:k], rest[k + 1 :]
        if a.partition("/")[2] == b.partition("/")[2] or a == b:
            return a, b
    a, _, b = rest.partition(" ")
    return a, b


def _kind(line: str) -> str:
    # Some tools strip the lone space of an empty context line (leaving "" or, in CRLF files, "\r").
    return " " if line in ("", "\r") else line[:1]


def _strip(path: str, prefix: str) -> str | None:
    if path == "/dev/null":
        return None
    return path[len(prefix) :] if prefix and path.startswith(prefix) else path


class _Builder:
    def __init__(self, git: bool) -> None:
        self.git = git
        self.header_old: str | None = None
        self.header_new: str | None = None
        self.prefixes = ("", "")
        self.old_path: str | None = None
        self.new_path: str | None = None
        self.minus_seen = False
        self.flags: set[str] = set()
        self.binary = False
        self.in_binary_patch = False
        self.hunks: list[list[str]] = []
        self.hunk_starts: list[tuple[int, int, int, int]] = []

    def header(self, line: str) -> None:
        for key in ("new file mode", "deleted file mode", "old mode", "new mode"):
            if line.startswith(key):
                self.flags.add(key)
        for key in ("rename from ", "rename to ", "copy from ", "copy to "):
            if line.startswith(key):
                self.flags.add(key.strip())
                path = _unquote_c(line[len(key) :])
                if key.endswith("from "):
                    self.old_path = path
                else:
                    self.new_path = path
        if line.startswith("Binary files ") and line.endswith(" differ"):
            self.binary = True
        if line == "GIT binary patch":
            self.binary = self.in_binary_patch = True

    def file_names(self, minus: str, plus: str) -> None:
        self.minus_seen = True
        old = _unquote_c(minus.split("\t")[0] if not self.git else minus)
        new = _unquote_c(plus.split("\t")[0] if not self.git else plus)
        a_pre, b_pre = self.prefixes if self.git else ("a/", "b/")
        if old == "/dev/null":
            self.flags.add("new file mode")
        if new == "/dev/null":
            self.flags.add("deleted file mode")
        if "rename from" not in self.flags and "copy from" not in self.flags:
            self.old_path = _strip(old, a_pre) or self.old_path
            self.new_path = _strip(new, b_pre) or self.new_path

    def build(self) -> FilePatch:
        old = self.old_path or self.header_old
        new = self.new_path or self.header_new
        if "new file mode" in self.flags:
            status, old = "added", None
        elif "deleted file mode" in self.flags:
            status, new = "removed", None
        elif "rename from" in self.flags:
            status = "renamed"
        elif "copy from" in self.flags:
            status = "copied"
        elif self.hunks or self.binary or not ({"old mode", "new mode"} & self.flags):
            status = "modified"
        else:
            status = "changed"
        filename = new if new is not None else old
        if filename is None:
            raise ValueError("diff section without a file name")
        hunks: list[PatchHunk] = []
        right: dict[int, PatchLine] = {}
        left: dict[int, PatchLine] = {}
        by_pos: dict[int, PatchLine] = {}
        position, adds, dels = -1, 0, 0
        for idx, (text, (os_, ol, ns, nl)) in enumerate(zip(self.hunks, self.hunk_starts, strict=True)):
            position += 1  # the @@ line itself (0 for the first hunk)
            old_no, new_no = os_, ns
            plines: list[PatchLine] = []
            for raw in text[1:]:
                position += 1
                kind = _kind(raw)
                if kind == "\\":
                    pl = PatchLine("\\", None, None, position, idx)
                elif kind == "+":
                    pl = PatchLine("+", None, new_no, position, idx)
                    right[new_no] = pl
                    new_no += 1
                    adds += 1
                elif kind == "-":
                    pl = PatchLine("-", old_no, None, position, idx)
                    left[old_no] = pl
                    old_no += 1
                    dels += 1
                else:
                    pl = PatchLine(" ", old_no, new_no, position, idx)
                    right[new_no] = left[old_no] = pl
                    old_no += 1
                    new_no += 1
                plines.append(pl)
                if kind != "\\":
                    by_pos[position] = pl
            hunks.append(PatchHunk(idx, os_, ol, ns, nl, tuple(text), tuple(plines)))
        return FilePatch(
            filename=filename,
            previous_filename=old if status in ("renamed", "copied") else None,
            status=status,
            binary=self.binary,
            hunks=tuple(hunks),
            additions=adds,
            deletions=dels,
            right=right,
            left=left,
            by_position=by_pos,
        )


def parse_diff(text: str) -> list[FilePatch]:
    """Split a unified diff (git format, or plain ``---``/``+++``) into per-file patches.

    Raises ValueError on a hunk whose body does not match its ``@@`` counts.
    """
    lines = text.split("\n")  # not splitlines(): a lone CR inside a line is content
    if lines and lines[-1] == "":
        lines.pop()
    files: list[_Builder] = []
    cur: _Builder | None = None
    old_left = new_left = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if cur is not None and (old_left > 0 or new_left > 0):
            kind = _kind(line)
            if kind == "\\":
                pass
            elif kind == " " and old_left > 0 and new_left > 0:
                old_left, new_left = old_left - 1, new_left - 1
            elif kind == "-" and old_left > 0:
                old_left -= 1
            elif kind == "+" and new_left > 0:
                new_left -= 1
            else:
                name = cur.new_path or cur.header_new
                raise ValueError(f"malformed hunk in {name!r}: diff line {i + 1}: {line!r}")
            cur.hunks[-1].append(line)
        elif line.startswith("diff --git "):
            cur = _Builder(git=True)
            files.append(cur)
            a, b = _split_git_header(line[len("diff --git ") :])
            a_pre = "a/" if a.startswith("a/") and b.startswith("b/") else ""
            b_pre = "b/" if a_pre else ""
            cur.prefixes = (a_pre, b_pre)
            cur.header_old, cur.header_new = _strip(a, a_pre), _strip(b, b_pre)
        elif cur is not None and cur.in_binary_patch:
            pass
        elif cur is not None and (m := _HUNK_RE.match(line)):
            os_, ol, ns, nl = (int(g) if g is not None else 1 for g in m.groups())
            cur.hunks.append([line])
            cur.hunk_starts.append((os_, ol, ns, nl))
            old_left, new_left = ol, nl
        elif line.startswith("\\") and cur is not None and cur.hunks:
            cur.hunks[-1].append(line)
        elif line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            if cur is None or not cur.git or cur.hunks or cur.minus_seen:
                cur = _Builder(git=False)
                files.append(cur)
            cur.file_names(line[4:], lines[i + 1][4:])
            i += 2
            continue
        elif cur is not None and cur.git and not cur.hunks:
            cur.header(line)
        # Anything else (svn "Index:", hg "diff -r", mail headers) is noise between files.
        i += 1
    if cur is not None and (old_left > 0 or new_left > 0):
        raise ValueError(f"diff ends inside a hunk of {cur.new_path or cur.header_new!r}")
    return [b.build() for b in files]


def count_diff_lines(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


# ---------------------------------------------------------------------------
# POST /pulls/{n}/reviews: schema checks, then diff checks


def _type_error(path: str, value: Any, expected: str) -> str:
    shown = "nil" if value is None else repr(value).replace("'", '"')
    return f"Invalid request.\n\nFor '{path}', {shown} is not {expected}."


def schema_error(payload: Any) -> str | None:
    """The JSON-schema message GitHub gives for a malformed review payload, or None."""
    if not isinstance(payload, dict):
        return "Invalid request.\n\nInvalid input: request body must be an object."
    for key in ("body", "commit_id"):
        if key in payload and not isinstance(payload[key], str):
            return _type_error(f"properties/{key}", payload[key], "a string")
    event = payload.get("event")
    if "event" in payload and event not in ("APPROVE", "REQUEST_CHANGES", "COMMENT"):
        shown = "nil" if event is None else repr(event).replace("'", '"')
        return (
            f"Invalid request.\n\nFor 'properties/event', {shown} is not one of "
            '["APPROVE", "REQUEST_CHANGES", "COMMENT"].'
        )
    comments = payload.get("comments", [])
    if not isinstance(comments, list):
        return _type_error("properties/comments", comments, "an array")
    for c in comments:
        if not isinstance(c, dict):
            return _type_error("items", c, "an object")
        for key in ("path", "body"):
            if key not in c:
                return f'Invalid request.\n\n"{key}" wasn\'t supplied.'
            if not isinstance(c[key], str):
                return _type_error(f"properties/{key}", c[key], "a string")
        for key in ("line", "start_line", "position"):
            if key in c and (not isinstance(c[key], int) or isinstance(c[key], bool)):
                return _type_error(f"properties/{key}", c[key], "an integer")
        for key in ("side", "start_side"):
            if key in c and c[key] not in ("LEFT", "RIGHT"):
                shown = "nil" if c[key] is None else repr(c[key]).replace("'", '"')
                sides = '["LEFT", "RIGHT"]'
                return f"Invalid request.\n\nFor 'properties/{key}', {shown} is not one of {sides}."
    return None


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


def resolve_comment(
    files: Mapping[str, FilePatch], c: Mapping[str, Any], line_error: str
) -> ResolvedComment | str:
    """Place one review comment on the diff, or return GitHub's error for it."""
    fp = files.get(c["path"])
    if fp is None:
        return PATH_ERROR
    target: PatchLine | None
    if "line" in c:
        side = c.get("side", "RIGHT")
        target = fp.commentable(side).get(c["line"])
        line = c["line"]
    elif "position" in c:
        target = fp.by_position.get(c["position"])
        if target is None:
            return line_error
        side = "LEFT" if target.kind == "-" else "RIGHT"
        line = target.old_no if side == "LEFT" else target.new_no  # type: ignore[assignment]
    else:
        return line_error
    if target is None:
        return line_error
    start_line = c.get("start_line")
    start_side = None
    if start_line is not None:
        start_side = c.get("start_side", side)
        start = fp.commentable(start_side).get(start_line)
        if start is None:
            return line_error
        if start.hunk != target.hunk:
            return SAME_HUNK_ERROR
        if start.position >= target.position:
            return START_BEFORE_ERROR
    return ResolvedComment(
        path=fp.filename,
        body=c["body"],
        line=line,
        side=side,
        start_line=start_line,
        start_side=start_side,
        position=target.position,
        diff_hunk=fp.diff_hunk(target),
    )


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
# JSON shapes, as api.github.com writes them (the fields PyGithub reads, and then some)

_REPO_URLS = (
    ("forks", "forks"), ("keys", "keys{/key_id}"), ("collaborators", "collaborators{/collaborator}"),
    ("teams", "teams"), ("hooks", "hooks"), ("issue_events", "issues/events{/number}"), ("events", "events"),
    ("assignees", "assignees{/user}"), ("branches", "branches{/branch}"), ("tags", "tags"),
    ("blobs", "git/blobs{/sha}"), ("git_tags", "git/tags{/sha}"), ("git_refs", "git/refs{/sha}"),
    ("trees", "git/trees{/sha}"), ("statuses", "statuses/{sha}"), ("languages", "languages"),
    ("stargazers", "stargazers"), ("contributors", "contributors"), ("subscribers", "subscribers"),
    ("subscription", "subscription"), ("commits", "commits{/sha}"), ("git_commits", "git/commits{/sha}"),
    ("comments", "comments{/number}"), ("issue_comment", "issues/comments{/number}"),
    ("contents", "contents/{+path}"), ("compare", "compare/{base}...{head}"), ("merges", "merges"),
    ("archive", "{archive_format}{/ref}"), ("downloads", "downloads"), ("issues", "issues{/number}"),
    ("pulls", "pulls{/number}"), ("milestones", "milestones{/number}"),
    ("notifications", "notifications{?since,all,participating}"), ("labels", "labels{/name}"),
    ("releases", "releases{/id}"), ("deployments", "deployments"),
)
_KNOWN_USER_IDS = {"github-actions[bot]": 41898282, "octocat": 583231}
_HTML = "https://github.com"


class Views:
    def __init__(self, api: str, repos: Mapping[str, Repo], pulls: Mapping[tuple[str, int], Pull]) -> None:
        self.api, self.repos, self.pulls = api, repos, pulls

    def user(self, login: str) -> dict[str, Any]:
        uid = _KNOWN_USER_IDS.get(login, 1000 + zlib.crc32(login.encode()) % 90_000_000)
        bot = login.endswith("[bot]")
        url = f"{self.api}/users/{quote(login)}"
        return {
            "login": login, "id": uid, "node_id": _node("U" if not bot else "B", uid),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4", "gravatar_id": "",
            "url": url, "html_url": f"{_HTML}/apps/{login[:-5]}" if bot else f"{_HTML}/{login}",
            "followers_url": f"{url}/followers", "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}", "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions", "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos", "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events", "type": "Bot" if bot else "User",
            "user_view_type": "public", "site_admin": False,
        }

    def repo(self, full_name: str, fork: bool = False, permissions: dict[str, bool] | None = None,
             default_branch: str = "main", rid: int | None = None) -> dict[str, Any]:
        r = self.repos.get(full_name)
        rid = r.id if r else rid or 100_000_000 + zlib.crc32(full_name.encode()) % 100_000_000
        owner, _, name = full_name.partition("/")
        url = f"{self.api}/repos/{full_name}"
        data: dict[str, Any] = {
            "id": rid, "node_id": _node("R", rid), "name": name, "full_name": full_name,
            "private": bool(r and r.private), "owner": self.user(owner), "html_url": f"{_HTML}/{full_name}",
            "description": None, "fork": fork, "url": url,
        }
        for name, suffix in _REPO_URLS:
            data[f"{name}_url"] = f"{url}/{suffix}"
        data.update({
            "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
            "pushed_at": "2020-01-01T00:00:00Z", "git_url": f"git://github.com/{full_name}.git",
            "ssh_url": f"git@github.com:{full_name}.git", "clone_url": f"{_HTML}/{full_name}.git",
            "svn_url": f"{_HTML}/{full_name}", "homepage": None, "size": 1, "stargazers_count": 0,
            "watchers_count": 0, "language": "Python", "has_issues": True, "has_projects": True,
            "has_downloads": True, "has_wiki": True, "has_pages": False, "has_discussions": False,
            "forks_count": 0, "mirror_url": None, "archived": False, "disabled": False,
            "open_issues_count": 0, "license": None, "allow_forking": True, "is_template": False,
            "web_commit_signoff_required": False, "topics": [],
            "visibility": "private" if data["private"] else "public", "forks": 0, "open_issues": 0,
            "watchers": 0, "default_branch": r.default_branch if r else default_branch,
        })
        if permissions is not None:
            data["permissions"] = permissions
        return data

    def _part(self, pr: Pull, which: str) -> dict[str, Any]:
        base = which == "base"
        full = pr.repo if base or not pr.fork else f"{pr.user}/{pr.repo.partition('/')[2]}"
        ref, sha = (pr.base_ref, pr.base_sha) if base else (pr.head_ref, pr.head_sha)
        owner = full.partition("/")[0]
        return {"label": f"{owner}:{ref}", "ref": ref, "sha": sha, "user": self.user(owner),
                "repo": self.repo(full, fork=not base and pr.fork)}

    def pull(self, pr: Pull, review_comments: int = 0, comments: int = 0) -> dict[str, Any]:
        url = f"{self.api}/repos/{pr.repo}/pulls/{pr.number}"
        issue = f"{self.api}/repos/{pr.repo}/issues/{pr.number}"
        html = f"{_HTML}/{pr.repo}/pull/{pr.number}"
        files = pr.head.files
        return {
            "url": url, "id": pr.id, "node_id": _node("PR", pr.id), "html_url": html,
            "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "issue_url": issue,
            "number": pr.number, "state": "open", "locked": False, "title": pr.title,
            "user": self.user(pr.user),
            "body": pr.body, "created_at": pr.created_at, "updated_at": pr.updated_at, "closed_at": None,
            "merged_at": None, "merge_commit_sha": None, "assignee": None, "assignees": [],
            "requested_reviewers": [], "requested_teams": [], "labels": [], "milestone": None,
            "commits_url": f"{url}/commits", "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{self.api}/repos/{pr.repo}/pulls/comments{{/number}}",
            "comments_url": f"{issue}/comments",
            "statuses_url": f"{self.api}/repos/{pr.repo}/statuses/{pr.head_sha}",
            "head": self._part(pr, "head"), "base": self._part(pr, "base"),
            "_links": {k: {"href": v} for k, v in (
                ("self", url), ("html", html), ("issue", issue), ("comments", f"{issue}/comments"),
                ("review_comments", f"{url}/comments"),
                ("review_comment", f"{self.api}/repos/{pr.repo}/pulls/comments{{/number}}"),
                ("commits", f"{url}/commits"),
                ("statuses", f"{self.api}/repos/{pr.repo}/statuses/{pr.head_sha}"))},
            "author_association": "CONTRIBUTOR", "auto_merge": None, "active_lock_reason": None,
            "draft": pr.draft, "merged": False, "mergeable": True, "rebaseable": True,
            "mergeable_state": "draft" if pr.draft else "clean", "merged_by": None, "comments": comments,
            "review_comments": review_comments, "maintainer_can_modify": pr.fork, "commits": len(pr.heads),
            "additions": sum(f.additions for f in files), "deletions": sum(f.deletions for f in files),
            "changed_files": len(files),
        }

    def file(
        self, repo: str, sha: str, fp: FilePatch, override: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        path = quote(fp.filename)
        data: dict[str, Any] = {
            "sha": fake_sha("blob", sha, fp.filename), "filename": fp.filename, "status": fp.status,
            "additions": fp.additions, "deletions": fp.deletions, "changes": fp.additions + fp.deletions,
            "blob_url": f"{_HTML}/{repo}/blob/{sha}/{path}", "raw_url": f"{_HTML}/{repo}/raw/{sha}/{path}",
            "contents_url": f"{self.api}/repos/{repo}/contents/{path}?ref={sha}",
        }
        if fp.patch is not None:
            data["patch"] = fp.patch
        if fp.previous_filename is not None:
            data["previous_filename"] = fp.previous_filename
        for key, value in (override or {}).items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        return data

    def review(self, r: Review) -> dict[str, Any]:
        pr_url = f"{self.api}/repos/{r.repo}/pulls/{r.number}"
        html = f"{_HTML}/{r.repo}/pull/{r.number}#pullrequestreview-{r.id}"
        data: dict[str, Any] = {
            "id": r.id, "node_id": _node("PRR", r.id), "user": self.user(r.user), "body": r.body,
            "state": r.state, "html_url": html, "pull_request_url": pr_url, "author_association": "NONE",
            "_links": {"html": {"href": html}, "pull_request": {"href": pr_url}},
            "commit_id": r.commit_id,
        }
        if r.submitted_at is not None:
            data["submitted_at"] = r.submitted_at
        return data

    def review_comment(self, c: ReviewComment) -> dict[str, Any]:
        p = c.placed
        url = f"{self.api}/repos/{c.repo}/pulls/comments/{c.id}"
        pr_url = f"{self.api}/repos/{c.repo}/pulls/{c.number}"
        html = f"{_HTML}/{c.repo}/pull/{c.number}#discussion_r{c.id}"
        return {
            "url": url, "pull_request_review_id": c.review_id, "id": c.id, "node_id": _node("PRRC", c.id),
            "diff_hunk": p.diff_hunk, "path": p.path, "position": p.position, "original_position": p.position,
            "commit_id": c.commit_id, "original_commit_id": c.commit_id, "user": self.user(c.user),
            "body": p.body, "created_at": c.created_at, "updated_at": c.created_at, "html_url": html,
            "pull_request_url": pr_url, "author_association": "NONE",
            "_links": {"self": {"href": url}, "html": {"href": html}, "pull_request": {"href": pr_url}},
            "reactions": {"url": f"{url}/reactions", "total_count": 0},
            "start_line": p.start_line, "original_start_line": p.start_line, "start_side": p.start_side,
            "line": p.line, "original_line": p.line, "side": p.side, "subject_type": "line",
        }

    def issue_comment(self, c: IssueComment) -> dict[str, Any]:
        url = f"{self.api}/repos/{c.repo}/issues/comments/{c.id}"
        return {
            "url": url, "html_url": f"{_HTML}/{c.repo}/pull/{c.number}#issuecomment-{c.id}",
            "issue_url": f"{self.api}/repos/{c.repo}/issues/{c.number}", "id": c.id,
            "node_id": _node("IC", c.id), "user": self.user(c.user), "created_at": c.created_at,
            "updated_at": c.updated_at, "author_association": "NONE", "body": c.body,
            "reactions": {"url": f"{url}/reactions", "total_count": 0}, "performed_via_github_app": None,
        }

    def commit(self, repo: str, sha: str, files: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        url = f"{self.api}/repos/{repo}/commits/{sha}"
        person = {"name": "octocat", "email": "octocat@github.com", "date": "2020-01-01T00:00:00Z"}
        data: dict[str, Any] = {
            "sha": sha, "node_id": _node("C", zlib.crc32(sha.encode())), "url": url,
            "html_url": f"{_HTML}/{repo}/commit/{sha}", "comments_url": f"{url}/comments",
            "commit": {"url": f"{self.api}/repos/{repo}/git/commits/{sha}", "author": person,
                       "committer": person, "message": f"commit {sha[:7]}", "comment_count": 0,
                       "tree": {"sha": fake_sha("tree", sha), "url": f"{self.api}/repos/{repo}/git/trees/x"},
                       "verification": {"verified": False, "reason": "unsigned", "signature": None,
                                        "payload": None}},
            "author": None, "committer": None, "parents": [],
        }
        if files is not None:
            data["files"] = files
            data["stats"] = {"additions": sum(f["additions"] for f in files),
                             "deletions": sum(f["deletions"] for f in files),
                             "total": sum(f["changes"] for f in files)}
        return data

    def content(self, repo: str, path: str, ref: str, text: str) -> dict[str, Any]:
        data = text.encode("utf-8")
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        url = f"{self.api}/repos/{repo}/contents/{quote(path)}?ref={quote(ref)}"
        html = f"{_HTML}/{repo}/blob/{ref}/{quote(path)}"
        git = f"{self.api}/repos/{repo}/git/blobs/{blob}"
        raw = base64.b64encode(data).decode("ascii")
        return {
            "name": path.rsplit("/", 1)[-1], "path": path, "sha": blob, "size": len(data), "url": url,
            "html_url": html, "git_url": git,
            "download_url": f"https://raw.githubusercontent.com/{repo}/{ref}/{quote(path)}", "type": "file",
            # GitHub wraps the base64 payload every 60 characters.
            "content": "".join(raw[i : i + 60] + "\n" for i in range(0, len(raw), 60)), "encoding": "base64",
            "_links": {"self": url, "git": git, "html": html},
        }

    def dir_entry(self, repo: str, path: str, ref: str, kind: str) -> dict[str, Any]:
        url = f"{self.api}/repos/{repo}/contents/{quote(path)}?ref={quote(ref)}"
        return {"name": path.rsplit("/", 1)[-1], "path": path, "sha": fake_sha(kind, ref, path), "size": 0,
                "url": url, "html_url": f"{_HTML}/{repo}/tree/{ref}/{quote(path)}", "git_url": None,
                "download_url": None, "type": kind, "_links": {"self": url}}


def _node(kind: str, num: int) -> str:
    return base64.b64encode(f"0:{kind}{num}".encode()).decode("ascii").rstrip("=")
