"""Source: a pull request on GitHub (PyGithub), with its config read from the BASE commit.

Two steps, because settings sit between them: `open_pull_request` reads the pull request and
`.github/review-bot.toml` at its base sha (never the head: a PR must not configure its own
review); `load_pull_request` then reads the diff, and for an incremental run narrows it to
what changed since the last head the bot reviewed.

The diff comes from the diff media type; when GitHub refuses it (406 past 300 files or
20,000 lines, 422 when too slow) from the paginated `/files` patches instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from bot.diff.parse import parse_diff, parse_file_patch
from bot.errors import GitHubError, InputError
from bot.github.api import MAX_PR_FILES, MAX_REPO_TEXT_BYTES, ApiFailure, GitHubApi, unlisted_files
from bot.github.baseline import baseline_head
from bot.github.markers import path_key
from bot.sources import HeadFiles, ReviewInput
from bot.types import FileDiff, Hunk, ParsedDiff, Skipped, SourceInfo

CONFIG_PATH = ".github/review-bot.toml"
HEAD_READS = 3  # reads of the diff when pushes keep moving the head
COMPARE_MAX_FILES = 300  # the compare API lists at most 300 files; past that we can't trust it

DiffVia = Literal["diff", "files"]
# Per path, the new-side line numbers changed since the last reviewed head; None = the whole file.
ChangedLines = Mapping[str, frozenset[int] | None]


@dataclass(frozen=True)
class PullRequestMeta:
    repo: str
    number: int
    head_sha: str
    base_sha: str
    base_ref: str
    is_draft: bool
    is_fork: bool
    state: str  # open | closed
    changed_files: int
    config_text: str | None  # None: no config file on the base branch, use defaults
    config_origin: str  # "owner/name@<base sha>:.github/review-bot.toml", for messages
    title: str = ""  # untrusted
    body: str = ""  # untrusted

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(kind="pull_request", repo=self.repo, pr=self.number, base_sha=self.base_sha,
                          head_sha=self.head_sha, title=self.title, body=self.body)


@dataclass(frozen=True)
class PullRequestSource:
    meta: PullRequestMeta
    review_input: ReviewInput  # what the pipeline reviews (incremental skips applied)
    full_diff: ParsedDiff  # the whole PR diff: what GitHub checks comment lines against
    via: DiffVia
    last_reviewed_head: str | None
    incremental: bool  # True when hunks unchanged since `last_reviewed_head` were left out


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _sha(data: Mapping[str, Any], side: str, number: int) -> str:
    ref = data.get(side)
    sha = ref.get("sha") if isinstance(ref, Mapping) else None
    if not isinstance(sha, str) or not sha:
        raise InputError(f"pull request #{number}: GitHub's answer has no {side} sha; re-run the job")
    return sha


def _is_fork(data: Mapping[str, Any]) -> bool:
    head, base = data.get("head"), data.get("base")
    head_repo = head.get("repo") if isinstance(head, Mapping) else None
    base_repo = base.get("repo") if isinstance(base, Mapping) else None
    if not isinstance(head_repo, Mapping):
        return True  # the fork was deleted
    if not isinstance(base_repo, Mapping):
        return False
    return head_repo.get("full_name") != base_repo.get("full_name")


def open_pull_request(api: GitHubApi, number: int, config_path: str = CONFIG_PATH) -> PullRequestMeta:
    """Read the pull request and its config file at the base sha (two requests)."""
    if number <= 0:
        raise InputError(f"pull request number {number} is not positive; pass --pr N")
    data = api.pull(number)
    head_sha, base_sha = _sha(data, "head", number), _sha(data, "base", number)
    base = data.get("base")
    base_ref = _str(base.get("ref")) if isinstance(base, Mapping) else ""
    config_text = api.file_text(config_path, base_sha, max_bytes=MAX_REPO_TEXT_BYTES)
    changed = data.get("changed_files")
    return PullRequestMeta(
        repo=api.repo, number=number, head_sha=head_sha, base_sha=base_sha, base_ref=base_ref,
        is_draft=data.get("draft") is True, is_fork=_is_fork(data), state=_str(data.get("state")) or "open",
        changed_files=changed if isinstance(changed, int) else 0, config_text=config_text,
        config_origin=f"{api.repo}@{base_sha[:12]}:{config_path}",
        title=_str(data.get("title")), body=_str(data.get("body")))


def skip_reason(meta: PullRequestMeta, review_drafts: bool) -> str | None:
    """Why this pull request gets no review now (exit 0 with a notice), or None."""
    if meta.state != "open":
        return f"pull request #{meta.number} is {meta.state}; nothing to review"
    if meta.is_draft and not review_drafts:
        return (f"pull request #{meta.number} is a draft; it is reviewed when marked ready "
                "(set review_drafts = true under [review] to review drafts)")
    return None


def diff_from_files(files: list[dict[str, Any]], changed_files: int = 0) -> ParsedDiff:
    """`/pulls/N/files` entries -> ParsedDiff; a file without a patch is skipped as too large."""
    parsed: list[FileDiff] = []
    skipped: list[Skipped] = []
    for entry in files:
        path = _str(entry.get("filename"))
        if not path:
            continue
        status = _str(entry.get("status")) or "modified"
        old_path = _str(entry.get("previous_filename")) or None
        patch = entry.get("patch")
        changes = entry.get("changes")
        if not isinstance(patch, str) or not patch:
            if isinstance(changes, int) and changes > 0:
                skipped.append(Skipped(path=path, hunk=None, reason="too_large",
                                       detail="GitHub sent no patch for this file (binary or too large)"))
                continue
            patch = None  # a rename, mode change or empty file: nothing to comment on
        try:
            parsed.append(parse_file_patch(path, patch, status, old_path))
        except InputError:
            skipped.append(Skipped(path=path, hunk=None, reason="unparsable",
                                   detail="GitHub's patch for this file is malformed"))
    missing = changed_files - len(files)
    if len(files) >= MAX_PR_FILES and missing > 0:
        skipped.append(Skipped(path=unlisted_files(missing), hunk=None, reason="too_large",
                               detail=f"GitHub lists at most {MAX_PR_FILES} files of a pull request"))
    return ParsedDiff(files=tuple(parsed), skipped=tuple(skipped))


def read_diff(api: GitHubApi, meta: PullRequestMeta) -> tuple[ParsedDiff, DiffVia]:
    text = api.pull_diff(meta.number)
    if text is not None:
        return parse_diff(text), "diff"
    return diff_from_files(api.pull_files(meta.number), meta.changed_files), "files"


def read_diff_at_head(api: GitHubApi, meta: PullRequestMeta) -> tuple[ParsedDiff, DiffVia, PullRequestMeta]:
    """The diff of exactly the head we review: GitHub has no diff-by-sha for a pull request,
    so read the head again after the diff; if a push moved it, read both again for the new head."""
    for _ in range(HEAD_READS):
        diff, via = read_diff(api, meta)
        data = api.pull(meta.number)
        head = _sha(data, "head", meta.number)
        if head == meta.head_sha:
            return diff, via, meta
        meta = replace(meta, head_sha=head, base_sha=_sha(data, "base", meta.number))
    raise GitHubError(f"pull request #{meta.number}: new commits arrived during each of {HEAD_READS} reads of "
                      "its diff; re-run the job when the pushes stop")


def _changed_positions(file: FileDiff) -> frozenset[int]:
    """New-side lines a later diff touched: added lines, and both neighbours of a deletion."""
    lines: set[int] = set()
    for hunk in file.hunks:
        cursor = hunk.new_start  # the new-side number of the next line that has one
        for line in hunk.lines:
            if line.new_no is not None:
                if line.kind == "+":
                    lines.add(line.new_no)
                cursor = line.new_no + 1
            elif line.kind == "-":
                lines.update((cursor - 1, cursor))
        if not hunk.lines:
            lines.add(hunk.new_start)
    return frozenset(lines)


def changed_since(api: GitHubApi, old_head: str, new_head: str) -> ChangedLines | None:
    """What changed from `old_head` to `new_head`, or None when we can't tell (review all)."""
    if old_head == new_head:
        return {}
    try:
        data = api.compare(old_head, new_head)
    except ApiFailure as err:
        if err.status in (401, 403):
            raise
        return None  # a huge or failing comparison: review everything, fingerprints dedupe
    if data is None:
        return None
    files = data.get("files")
    if not isinstance(files, list) or len(files) >= COMPARE_MAX_FILES:
        return None
    changed: dict[str, frozenset[int] | None] = {}
    for entry in files:
        if not isinstance(entry, dict):
            continue
        path, patch = _str(entry.get("filename")), entry.get("patch")
        if not path:
            continue
        # A file at another path at the baseline is reviewed whole: what was skipped at the old
        # path (exclude, vendored, binary by name) was never seen, whatever this patch touches.
        renamed = bool(_str(entry.get("previous_filename"))) and entry.get("previous_filename") != path
        if not isinstance(patch, str) or not patch or renamed:
            changed[path] = None
            continue
        try:
            file = parse_file_patch(path, patch, _str(entry.get("status")) or "modified",
                                    _str(entry.get("previous_filename")) or None)
        except InputError:
            changed[path] = None
            continue
        changed[path] = _changed_positions(file)
    return changed


def _touches(hunk: Hunk, lines: frozenset[int]) -> bool:
    low = hunk.new_start
    high = hunk.new_start + max(hunk.new_len, 1) - 1
    return any(low <= n <= high for n in lines)


def narrow_to_changes(diff: ParsedDiff, changed: ChangedLines, unreviewed: frozenset[str] = frozenset()
                      ) -> tuple[ParsedDiff, tuple[Skipped, ...]]:
    """Keep the hunks that overlap `changed`; the rest become Skipped(reason="incremental").

    A file the baseline left unreviewed (`unreviewed`: path_key of each) is kept whole: the model
    never saw its hunks, however little changed since.
    """
    files: list[FileDiff] = []
    skipped: list[Skipped] = []
    for file in diff.files:
        if (file.path in changed and changed[file.path] is None) or path_key(file.path) in unreviewed:
            files.append(file)
            continue
        lines = changed.get(file.path) or frozenset()
        touched = [_touches(h, lines) for h in file.hunks]
        kept = tuple(h for h, keep in zip(file.hunks, touched, strict=True) if keep)
        skipped.extend(Skipped(path=file.path, hunk=h.ref, reason="incremental",
                               detail="unchanged since the last reviewed commit")
                       for h, keep in zip(file.hunks, touched, strict=True) if not keep)
        if kept:
            files.append(FileDiff(path=file.path, old_path=file.old_path, status=file.status, hunks=kept,
                                  language=file.language, is_binary=file.is_binary,
                                  is_submodule=file.is_submodule))
    return ParsedDiff(files=tuple(files), skipped=diff.skipped), tuple(skipped)


def load_pull_request(api: GitHubApi, meta: PullRequestMeta, *,
                      incremental: bool = False) -> PullRequestSource:
    """Read the diff; when `incremental`, leave out hunks unchanged since our last reviewed head."""
    full, via, meta = read_diff_at_head(api, meta)
    last_head: str | None = None
    review_diff: ParsedDiff = full
    skipped: tuple[Skipped, ...] = ()
    narrowed = False
    if incremental:
        baseline = baseline_head(api, meta.number)
        if baseline is not None:
            last_head = baseline.sha
            changed = changed_since(api, last_head, meta.head_sha)
            if changed is not None:
                review_diff, skipped = narrow_to_changes(full, changed, baseline.unreviewed)
                narrowed = True
    return PullRequestSource(meta=meta, review_input=ReviewInput(info=meta.info, diff=review_diff,
                                                                 skipped=skipped),
                             full_diff=full, via=via, last_reviewed_head=last_head, incremental=narrowed)


def fetch_pull_request(api: GitHubApi, number: int, *, incremental: bool = False,
                       config_path: str = CONFIG_PATH) -> PullRequestSource:
    """Both steps at once, for callers that already have their settings."""
    return load_pull_request(api, open_pull_request(api, number, config_path), incremental=incremental)


# GitHub requests [review] context = "function" may spend a run: one contents GET per changed Python
# file (the pull request's files list carries no contents), at the head commit. Past it, files go without.
MAX_HEAD_FILES = 20
MAX_HEAD_FILE_BYTES = 2 * 1024 * 1024  # as a git range reads them (bot.sources.git_range)


def read_head_files(api: GitHubApi, head_sha: str, paths: list[str]) -> tuple[HeadFiles, int]:
    """(path, text at `head_sha`) of the first MAX_HEAD_FILES of `paths`, and the GET requests spent.

    A file that cannot be had (gone, too large, not UTF-8, a refusal after retries) only goes
    without context: the review itself does not depend on it.
    """
    texts: list[tuple[str, str]] = []
    asked = paths[:MAX_HEAD_FILES]
    for path in asked:
        try:
            text = api.file_text(path, head_sha, max_bytes=MAX_HEAD_FILE_BYTES)
        except (ApiFailure, InputError, GitHubError):
            continue
        if text is not None:
            texts.append((path, text))
    return tuple(texts), len(asked)
