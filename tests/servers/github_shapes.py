"""JSON shapes of the GitHub emulator, as api.github.com writes them (see github_server.py).

The fields PyGithub reads, and then some.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from tests.servers.github_diff import FilePatch
from tests.servers.github_state import Compare, IssueComment, Pull, Repo, Review, ReviewComment, fake_sha

__all__ = ["Views", "compare_json"]

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


CONTENTS_INLINE_MAX = 1024 * 1024  # larger files: `encoding: "none"`, empty `content`


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
        too_big = len(data) > CONTENTS_INLINE_MAX  # GitHub: 1-100 MB files only through the raw media type
        return {
            "name": path.rsplit("/", 1)[-1], "path": path, "sha": blob, "size": len(data), "url": url,
            "html_url": html, "git_url": git,
            "download_url": f"https://raw.githubusercontent.com/{repo}/{ref}/{quote(path)}", "type": "file",
            # GitHub wraps the base64 payload every 60 characters.
            "content": "" if too_big else "".join(raw[i : i + 60] + "\n" for i in range(0, len(raw), 60)),
            "encoding": "none" if too_big else "base64",
            "_links": {"self": url, "git": git, "html": html},
        }

    def dir_entry(self, repo: str, path: str, ref: str, kind: str) -> dict[str, Any]:
        url = f"{self.api}/repos/{repo}/contents/{quote(path)}?ref={quote(ref)}"
        return {"name": path.rsplit("/", 1)[-1], "path": path, "sha": fake_sha(kind, ref, path), "size": 0,
                "url": url, "html_url": f"{_HTML}/{repo}/tree/{ref}/{quote(path)}", "git_url": None,
                "download_url": None, "type": kind, "_links": {"self": url}}


def _node(kind: str, num: int) -> str:
    return base64.b64encode(f"0:{kind}{num}".encode()).decode("ascii").rstrip("=")


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
