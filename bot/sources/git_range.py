"""Source: `git diff BASE..HEAD` of the repository in the current directory."""

from __future__ import annotations

import subprocess

from bot.diff.languages import language_for
from bot.diff.parse import parse_diff
from bot.errors import InputError
from bot.sources import HeadFiles, ReviewInput
from bot.types import ParsedDiff, SourceInfo

GIT_DIFF_ARGS = ("-c", "core.quotepath=false", "diff", "--no-color", "--no-ext-diff", "--find-renames",
                 "--src-prefix=a/", "--dst-prefix=b/")


def _git(args: list[str], cwd: str | None) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False, timeout=300)
    except FileNotFoundError:
        raise InputError("git is not installed; install git or pass a diff file with --diff") from None
    except subprocess.TimeoutExpired:
        raise InputError("git took longer than 300 s; review a smaller range") from None
    if done.returncode != 0:
        first = done.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        reason = first[0][:200] if first else f"exit {done.returncode}"
        raise InputError(f"git {' '.join(args[-1:])}: {reason}")
    return done.stdout


def _commit(name: str, cwd: str | None) -> str:
    try:
        return _git(["rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"], cwd).decode().strip()
    except InputError as err:
        if "not a git repository" in str(err):
            raise InputError("--git: this folder is not in a git repository; run from the repository "
                             "or pass a diff file with --diff") from None
        raise InputError(f"--git: no commit named {name!r} here; check the range (e.g. main..HEAD) "
                         "and fetch the base branch if it is missing (git fetch origin main)") from None


def read_git_range(spec: str, cwd: str | None = None, head_files: bool = False) -> ReviewInput:
    """`spec` is BASE..HEAD (or BASE...HEAD for the merge base); a bare BASE means BASE..HEAD.

    `head_files` ([review] context = "function"): also the head commit's text of each changed Python
    file (`git cat-file blob HEAD_SHA:PATH`, one git call a file)."""
    if spec.startswith("-") or not spec.strip():
        raise InputError(f"--git {spec!r}: expected a range like main..HEAD")
    if "..." in spec:
        base, head = spec.split("...", 1)
    elif ".." in spec:
        base, head = spec.split("..", 1)
    else:
        base, head = spec, "HEAD"
    head = head or "HEAD"
    base_sha, head_sha = _commit(base, cwd), _commit(head, cwd)
    shown = spec if ".." in spec else f"{base}..{head}"
    data = _git([*GIT_DIFF_ARGS, shown], cwd)
    if not data.strip():
        # A fresh clone has no local main beyond HEAD, so main..HEAD is empty: say so, never "0/0 reviewed".
        raise InputError(f"nothing to review: {shown} has no changes")
    info = SourceInfo(kind="git", base_sha=base_sha, head_sha=head_sha)
    diff = parse_diff(data)
    texts = _head_texts(diff, head_sha, cwd) if head_files else ()
    return ReviewInput(info=info, diff=diff, head_files=texts)


MAX_HEAD_FILE_BYTES = 2 * 1024 * 1024  # a larger file gets no context: parsing it would cost more than it tells


def _head_texts(diff: ParsedDiff, head_sha: str, cwd: str | None) -> HeadFiles:
    out = []
    for file in diff.files:
        if not file.hunks or file.status == "removed" or language_for(file.path) != "python":
            continue
        try:
            data = _git(["cat-file", "blob", f"{head_sha}:{file.path}"], cwd)
        except InputError:  # not at the head as a blob (a submodule, an odd path): no context, no error
            continue
        if len(data) <= MAX_HEAD_FILE_BYTES and b"\0" not in data[:8000]:
            out.append((file.path, data.decode("utf-8", "replace")))
    return tuple(out)
