#!/usr/bin/env python3
"""Choose the held-out eval cases and decoy commits of a repository from its public history.

Writes the choice into a manifest (default scripts/heldout_data.json) in the format
scripts/build_shared_data.py reads; that script then builds the cases from the same history
(`--manifest scripts/heldout_data.json --dest tests/fixtures`). The choice is a fixed rule on
the history, not on what a model does with the cases, so a held-out set is never tuned on:

- eval: a commit with one parent whose subject says it fixes something (`fix`, `bug`,
  `correct`), not docs/typos/tests/lint/CI, that changes exactly one Python file outside the
  tests and docs (tests and changelogs beside it are left out of the case), by 1 to 20 lines,
  not only comments. The newest `--cases` such commits (non-merge history), one of each patch, are taken.
- corpus: ordinary commits (no fix/bug subject, not a chosen fix) with one parent that change
  1 to 4 Python files, each by 5 to 150 lines: the decoys `review-bot eval --haystack` puts
  around each case are whole file diffs of these, as a pull request carries them. Only the
  Python files' diffs are kept (`paths`), without the files' contents (`diff_only`).

    python3 scripts/select_heldout_cases.py werkzeug /path/to/werkzeug.git --url https://github.com/pallets/werkzeug
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FIX_SUBJECT = re.compile(r"\b(fix(es|ed)?|bug|bugfix|correct(s|ed)?)\b", re.IGNORECASE)
NOT_A_CODE_FIX = re.compile(r"\b(typo|typos|docs?|documentation|docstring|comment|changelog|changes|readme|test|tests|"
                            r"testing|lint|flake8|mypy|typing|type hints?|annotations?|pyright|ci|tox|build|"
                            r"warning|warnings|deprecation|style|format|formatting|black|isort|pre-commit|"
                            r"spelling|grammar|example|examples|link|links|version|release|merge|pep8|pycodestyle|syntax|"
                            r"linting|spaces|whitespace|revert|unused|capitali[sz]ation|captilization|references|F\d{3})\b|^\W*fix(es|ed)?\W*\S+\.py\W*$|^\W*fix\W*$",
                            re.IGNORECASE)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True)
    return done.stdout.decode("utf-8", errors="replace")


def is_side_file(path: str) -> bool:
    """Tests, docs, changelogs, examples: what a fix carries beside the code it fixes."""
    low = path.lower()
    parts = low.split("/")
    name = parts[-1]
    return (any(p in ("tests", "test", "testing", "docs", "doc", "examples", "artwork", ".github") for p in parts[:-1])
            or name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
            or name.startswith(("changes", "changelog", "history", "readme", "authors")) or not name.endswith(".py")
            or name in ("setup.py", "noxfile.py"))


def numstat(repo: Path, sha: str) -> list[tuple[int, int, str]]:
    out = []
    for line in git(repo, "show", "--no-renames", "--format=", "--numstat", sha).splitlines():
        added, deleted, path = line.split("\t", 2)
        if added == "-":
            continue  # binary
        out.append((int(added), int(deleted), path))
    return out


def only_comments(repo: Path, sha: str, path: str) -> bool:
    diff = git(repo, "show", "--format=", "-U0", sha, "--", path)
    changed = [ln[1:].strip() for ln in diff.splitlines()
               if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    return all(not c or c.startswith("#") or c.startswith(('"""', "'''")) for c in changed)


def commits(repo: Path, ref: str) -> list[tuple[str, int, str]]:
    """(sha, parent count, subject) of the non-merge history, newest first."""
    out = []
    for line in git(repo, "log", "--no-merges", "--format=%H %P%x00%s", ref).splitlines():
        head, _, subject = line.partition("\0")
        shas = head.split()
        out.append((shas[0], len(shas) - 1, subject))
    return out


def choose(repo: Path, ref: str, cases: int, corpus: int) -> tuple[dict[str, dict], dict[str, dict]]:
    history = commits(repo, ref)
    evals: dict[str, dict] = {}
    fix_shas: set[str] = set()
    seen: list[list[bytes]] = []
    for sha, parents, subject in history:
        if len(evals) >= cases:
            break
        if parents != 1 or not FIX_SUBJECT.search(subject) or NOT_A_CODE_FIX.search(subject):
            continue
        stats = numstat(repo, sha)
        code = [(a, d, p) for a, d, p in stats if not is_side_file(p)]
        if len(code) != 1 or not 1 <= code[0][0] + code[0][1] <= 20 or code[0][1] == 0 and code[0][0] == 0:
            continue
        path = code[0][2]
        if only_comments(repo, sha, path):
            continue
        status = git(repo, "show", "--no-renames", "--format=", "--name-status", sha, "--", path).split()[0]
        if status != "M":
            continue
        patch = git(repo, "show", "--format=", sha, "--", path)
        same = subprocess.run(["git", "patch-id", "--stable"], input=patch.encode(), capture_output=True, check=True)
        if same.stdout.split()[:1] in seen:
            continue  # the same fix picked onto another branch
        seen.append(same.stdout.split()[:1])
        evals[sha[:10]] = {"fix_commit": sha, "paths": [path]}
        fix_shas.add(sha)
    decoys: dict[str, dict] = {}
    for sha, parents, subject in history:
        if len(decoys) >= corpus:
            break
        if parents != 1 or sha in fix_shas or FIX_SUBJECT.search(subject):
            continue
        py = [(a, d, p) for a, d, p in numstat(repo, sha) if p.endswith(".py")]
        if not 1 <= len(py) <= 4 or not all(5 <= a + d <= 150 for a, d, _ in py):
            continue
        parent = git(repo, "rev-parse", f"{sha}^").strip()
        decoys[sha[:10]] = {"base": parent, "head": sha, "paths": sorted(p for _, _, p in py), "diff_only": True}
    return evals, decoys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the set's name, e.g. werkzeug")
    parser.add_argument("repo", type=Path, help="a clone (bare is fine) with the history")
    parser.add_argument("--url", required=True, help="the public URL the manifest names")
    parser.add_argument("--ref", default="HEAD")
    parser.add_argument("--cases", type=int, default=48)
    parser.add_argument("--corpus", type=int, default=60)
    parser.add_argument("--manifest", type=Path, default=REPO_ROOT / "scripts" / "heldout_data.json")
    args = parser.parse_args(argv)
    evals, decoys = choose(args.repo, args.ref, args.cases, args.corpus)
    manifest = (json.loads(args.manifest.read_text(encoding="utf-8")) if args.manifest.is_file()
                else {"_comment": "Held-out eval sets and their decoy corpora, chosen by "
                                  "scripts/select_heldout_cases.py and built by scripts/build_shared_data.py "
                                  "--manifest scripts/heldout_data.json --dest tests/fixtures.",
                      "repositories": {}, "corpus": {}, "eval": {}, "head_files": True})
    manifest["repositories"][args.name] = args.url
    manifest["eval"][args.name] = evals
    manifest["corpus"][args.name] = decoys
    args.manifest.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"select_heldout_cases: {args.name}: {len(evals)} cases, {len(decoys)} decoy commits", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
