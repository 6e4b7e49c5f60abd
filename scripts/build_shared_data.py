#!/usr/bin/env python3
"""Rebuild the test data that lives in ../shared from public git history.

The cases are listed in scripts/shared_data.json (which repository, which commits):

- corpus/<repo>/<case>/: a range of the repository's history, `git diff BASE HEAD`, as
  `pr.diff`, and `oracle.json` holding the old and new contents of every file it touches
  (`{"base", "head", "files": {path: {"status", "old_path", "old", "new"}}}`; a binary side,
  or a side that does not exist, is null).
  A case may name `paths` (only those files' diffs) and `diff_only` (no oracle.json): the
  held-out decoy corpora (scripts/heldout_data.json, chosen by scripts/select_heldout_cases.py).
  With the manifest's `"head_files": true`, a diff_only case also gets `head.json.gz`: the head
  text of each changed Python file (see below).
- eval/<repo>/<case>/: a bug-fix commit reversed (`git diff -U5 FIX FIX^ -- PATHS`, a change
  that brings the bug back) as `pr.diff`, and `labels.json` naming the lines the fix touched
  on the new side: `added` for a line the reversed change adds, `removed-before` for the new
  line before which it removed one. With `"head_files": true`, also `head.json.gz`:
  `{"commit": FIX^, "files": {path: text}}` of its paths on the new side, gzip'd (mtime 0, so the
  bytes are the same on every rebuild); `review-bot eval` gives them to [review] context = "function".
  An existing case without it gets it added in place (its pr.diff is not rebuilt).

Each repository is fetched with a plain `git clone` into a cache (default
~/.cache/review-bot/git), once; existing cases are kept unless --force, and when every case
exists nothing is cloned. Needs git and Python 3.10, nothing else.

    python3 scripts/build_shared_data.py                     # into ../shared (or $REVIEW_BOT_SHARED)
    python3 scripts/build_shared_data.py --dest /tmp/shared --url jinja=/path/to/a/jinja/clone
    python3 scripts/build_shared_data.py --manifest scripts/heldout_data.json --dest tests/fixtures
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
MANIFEST = REPO_ROOT / "scripts" / "shared_data.json"
# The same output whatever the user's git configuration says.
GIT_CONFIG = ["-c", "core.quotePath=true", "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false",
              "-c", "diff.relative=false", "-c", "core.autocrlf=false"]
DIFF_OPTIONS = ["--no-color", "--no-ext-diff", "--no-textconv", "--find-renames", "--abbrev=8",
                "--diff-algorithm=myers", "--indent-heuristic", "--src-prefix=a/", "--dst-prefix=b/"]


class BuildError(Exception):
    pass


def git(repo: Path, *args: str) -> bytes:
    done = subprocess.run(["git", *GIT_CONFIG, "-C", str(repo), *args], capture_output=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"git {' '.join(args)}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def has_commit(repo: Path, sha: str) -> bool:
    done = subprocess.run(["git", "-C", str(repo), "cat-file", "-e", f"{sha}^{{commit}}"],
                          capture_output=True, check=False)
    return done.returncode == 0


def ensure_clone(url: str, cache: Path, name: str, commits: list[str]) -> Path:
    """A bare clone of `url` in the cache holding every commit in `commits`."""
    target = cache / f"{name}.git"
    if not target.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=cache))
        print(f"build_shared_data: git clone {url}", file=sys.stderr)
        done = subprocess.run(["git", "clone", "--quiet", "--bare", url, str(partial / "repo.git")], check=False)
        if done.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            raise BuildError(f"git clone {url} failed (exit {done.returncode})")
        (partial / "repo.git").rename(target)
        shutil.rmtree(partial, ignore_errors=True)
    missing = [sha for sha in commits if not has_commit(target, sha)]
    if missing:
        print(f"build_shared_data: fetching {len(missing)} commit(s) missing from the cache", file=sys.stderr)
        subprocess.run(["git", "-C", str(target), "fetch", "--quiet", url, "+refs/heads/*:refs/heads/*",
                        "+refs/tags/*:refs/tags/*"], check=False)
        for sha in [s for s in missing if not has_commit(target, s)]:
            subprocess.run(["git", "-C", str(target), "fetch", "--quiet", url, sha], check=False)
        still = [sha for sha in missing if not has_commit(target, sha)]
        if still:
            raise BuildError(f"{url} has no commit {still[0]}")
    return target


def text_or_none(data: bytes | None) -> str | None:
    """A file's text as the oracle stores it; None for a binary file (as git decides: a NUL byte in
    the first 8000 bytes) or one that is not UTF-8."""
    if data is None or b"\0" in data[:8000]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def blob(repo: Path, commit: str, path: str) -> bytes:
    return git(repo, "cat-file", "blob", f"{commit}:{path}")


def name_status(repo: Path, base: str, head: str) -> list[tuple[str, str, str]]:
    """(status, old_path, path) of every file the range touches, as `git diff --name-status` says."""
    fields = git(repo, "diff", "--name-status", "-z", "--find-renames", base, head).decode("utf-8").split("\0")
    out: list[tuple[str, str, str]] = []
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i]
        if status[0] in "RC":
            out.append((status, fields[i + 1], fields[i + 2]))
            i += 3
        else:
            out.append((status, fields[i + 1], fields[i + 1]))
            i += 2
    return out


def build_corpus_case(repo: Path, base: str, head: str, folder: Path, *, paths: list[str] | None = None,
                      diff_only: bool = False, head_files: bool = False) -> None:
    """`paths`: only these files' diffs; `diff_only`: no oracle.json (a decoy corpus needs only the diff);
    `head_files`: head.json.gz of its changed Python files (a diff_only case's stand-in for the oracle)."""
    limit = ["--", *paths] if paths else []
    diff = git(repo, "diff", *DIFF_OPTIONS, "-U3", base, head, *limit)
    (folder / "pr.diff").write_bytes(diff)
    if diff_only:
        if head_files:
            write_head_files(repo, head, corpus_head_paths(repo, base, head, paths), folder)
        return
    files: dict[str, dict[str, str | None]] = {}
    for status, old_path, path in name_status(repo, base, head):
        old = None if status[0] == "A" else blob(repo, base, old_path)
        new = None if status[0] == "D" else blob(repo, head, path)
        binary = any(side is not None and text_or_none(side) is None for side in (old, new))
        files[path] = {"status": status, "old_path": old_path,
                       "old": None if binary else text_or_none(old), "new": None if binary else text_or_none(new)}
    oracle = {"base": base, "head": head, "files": dict(sorted(files.items()))}
    (folder / "oracle.json").write_text(json.dumps(oracle), encoding="utf-8")


HEAD_FILES = "head.json.gz"


def write_head_files(repo: Path, commit: str, paths: list[str], folder: Path) -> None:
    """head.json.gz: the text of each of `paths` at `commit` (a file missing there, binary or not
    UTF-8 is left out), as gzip'd JSON with sorted keys and mtime 0: the same bytes every time."""
    files: dict[str, str] = {}
    for path in paths:
        try:
            text = text_or_none(blob(repo, commit, path))
        except BuildError:  # not at that commit
            continue
        if text is not None:
            files[path] = text
    data = json.dumps({"commit": commit, "files": files}, sort_keys=True).encode("utf-8")
    partial_file = folder / f".{HEAD_FILES}.part"
    partial_file.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    partial_file.rename(folder / HEAD_FILES)


def corpus_head_paths(repo: Path, base: str, head: str, paths: list[str] | None) -> list[str]:
    """The Python files a corpus range changes and keeps (within `paths` when given)."""
    return [path for status, _, path in name_status(repo, base, head)
            if status[0] != "D" and path.endswith(".py") and (not paths or path in paths)]


def parent_of(repo: Path, fix: str) -> str:
    parents = git(repo, "rev-list", "--parents", "-n", "1", fix).decode().split()
    if len(parents) != 2:
        raise BuildError(f"{fix} is not a commit with one parent")
    return parents[1]


def labels_for(diff_text: str) -> list[dict[str, object]]:
    """The fix's lines, as new-side positions of the reversed diff (one label per changed line)."""
    labels: list[dict[str, object]] = []
    path = ""
    new_no = 0
    in_hunk = False
    for line in diff_text.split("\n"):
        if line.startswith("diff --git "):
            in_hunk = False
        elif not in_hunk and line.startswith("+++ "):
            path = line[4:].removeprefix("b/")
        elif line.startswith("@@ "):
            new_range = line.split(" ")[2]  # +START[,LEN]
            start = int(new_range[1:].split(",")[0])
            new_no = start if "," not in new_range or new_range.split(",")[1] != "0" else start + 1
            in_hunk = True
        elif in_hunk and line.startswith("+"):
            labels.append({"path": path, "line": new_no, "kind": "added"})
            new_no += 1
        elif in_hunk and line.startswith("-"):
            labels.append({"path": path, "line": new_no, "kind": "removed-before"})
        elif in_hunk and line.startswith(" "):
            new_no += 1
    return labels


def build_eval_case(repo: Path, fix: str, paths: list[str], folder: Path, head_files: bool = False) -> None:
    parent = parent_of(repo, fix)
    diff = git(repo, "diff", *DIFF_OPTIONS, "-U5", fix, parent, "--", *paths)
    if not diff:
        raise BuildError(f"{fix}: the fix changes none of {', '.join(paths)}")
    subject = git(repo, "log", "-1", "--format=%s", fix).decode("utf-8").strip()
    data = {"fix_commit": fix, "fix_subject": subject, "labels": labels_for(diff.decode("utf-8"))}
    (folder / "pr.diff").write_bytes(diff)
    (folder / "labels.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    if head_files:  # the reversed fix's new side is the fix's parent
        write_head_files(repo, parent, paths, folder)


def publish(folder: Path, make: Callable[[Path], None]) -> bool:
    """Build a case into a temporary folder beside `folder`, then move it into place (no half-built case
    survives an interruption). False when it already exists."""
    if folder.is_dir():
        return False
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        make(work)
        work.rename(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return True


def build(manifest: dict[str, Any], dest: Path, cache: Path, urls: dict[str, str],
          force: bool = False) -> int:
    """Build every case of the manifest that is missing under `dest`; returns how many were built."""
    built = 0
    heads = bool(manifest.get("head_files"))
    repositories: dict[str, str] = {**manifest["repositories"], **urls}
    corpus: dict[str, dict[str, dict[str, Any]]] = manifest.get("corpus", {})
    evals: dict[str, dict[str, dict[str, Any]]] = manifest.get("eval", {})
    for name in sorted(set(corpus) | set(evals)):
        if name not in repositories:
            raise BuildError(f"no URL for repository {name!r}")
        wanted = [dest / "corpus" / name / case for case in corpus.get(name, {})]
        wanted += [dest / "eval" / name / case for case in evals.get(name, {})]
        if not force and all(folder.is_dir() and (not heads or (folder / HEAD_FILES).is_file()
                                                  or not _wants_heads(folder, corpus.get(name, {})))
                             for folder in wanted):
            continue  # nothing to build: no clone, no network
        commits = [c[k] for c in corpus.get(name, {}).values() for k in ("base", "head")]
        commits += [str(c["fix_commit"]) for c in evals.get(name, {}).values()]
        repo = ensure_clone(repositories[name], cache, name, commits)
        for case, spec in corpus.get(name, {}).items():
            folder = dest / "corpus" / name / case
            if force:
                shutil.rmtree(folder, ignore_errors=True)
            diff_only = bool(spec.get("diff_only"))
            if folder.is_dir() and heads and diff_only and not (folder / HEAD_FILES).is_file():
                write_head_files(repo, spec["head"], corpus_head_paths(repo, spec["base"], spec["head"],
                                                                       spec.get("paths")), folder)
                built += 1
            built += publish(folder, partial(build_corpus_case, repo, spec["base"], spec["head"],
                                             paths=spec.get("paths"), diff_only=diff_only,
                                             head_files=heads))
        for case, espec in evals.get(name, {}).items():
            folder = dest / "eval" / name / case
            if force:
                shutil.rmtree(folder, ignore_errors=True)
            paths = [str(p) for p in espec["paths"]]
            if folder.is_dir() and heads and not (folder / HEAD_FILES).is_file():
                write_head_files(repo, parent_of(repo, str(espec["fix_commit"])), paths, folder)
                built += 1
            built += publish(folder, partial(build_eval_case, repo, str(espec["fix_commit"]), paths,
                                             head_files=heads))
    return built


def _wants_heads(folder: Path, corpus_specs: dict[str, dict[str, Any]]) -> bool:
    """Whether an existing case folder gets head.json.gz: every eval case, a diff_only corpus case."""
    if folder.parent.parent.name == "eval":
        return True
    return bool(corpus_specs.get(folder.name, {}).get("diff_only"))


def main(argv: list[str] | None = None) -> int:
    default_dest = Path(os.environ.get("REVIEW_BOT_SHARED", REPO_ROOT.parent / "shared"))
    default_cache = Path(os.environ.get("REVIEW_BOT_GIT_CACHE", Path.home() / ".cache" / "review-bot" / "git"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=default_dest, help=f"default: {default_dest}")
    parser.add_argument("--cache", type=Path, default=default_cache, help=f"clones go here; default: {default_cache}")
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    parser.add_argument("--url", action="append", default=[], metavar="NAME=URL",
                        help="clone repository NAME from URL (a path or file:// URL works) instead")
    parser.add_argument("--force", action="store_true", help="rebuild cases that exist already")
    args = parser.parse_args(argv)
    urls = dict(item.split("=", 1) for item in args.url)
    try:
        manifest = json.loads(args.manifest.read_text(encoding="utf-8"))
        built = build(manifest, args.dest.resolve(), args.cache.resolve(), urls, force=args.force)
    except (BuildError, OSError, ValueError, KeyError) as err:
        print(f"build_shared_data: {err}", file=sys.stderr)
        return 1
    print(f"build_shared_data: {built} case(s) built under {args.dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
