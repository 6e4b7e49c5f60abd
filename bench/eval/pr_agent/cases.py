"""The pull request pr-agent reviews for a case: exactly the one `review-bot eval --haystack` reviews.

The case's diff among its decoys comes from bot.eval (same draw, same files, same lines); it is
written back as unified diff text, and `pr_diff_text` checks that our own parser reads that text
back to the same files and lines, so both reviewers see one pull request.
"""

from __future__ import annotations

from bot.eval.cases import Case, load_cases, with_haystack
from bot.types import FileDiff, ParsedDiff


def _file_text(file: FileDiff) -> str:
    old = f"a/{file.old_path or file.path}" if file.status != "added" else "/dev/null"
    new = f"b/{file.path}" if file.status != "removed" else "/dev/null"
    out = [f"diff --git a/{file.old_path or file.path} b/{file.path}"]
    if file.status == "added":
        out.append("new file mode 100644")
    elif file.status == "removed":
        out.append("deleted file mode 100644")
    out += [f"--- {old}", f"+++ {new}"]
    for hunk in file.hunks:
        out.append(hunk.header)
        out += [f"{line.kind}{line.text}" for line in hunk.lines]
    return "\n".join(out) + "\n"


def diff_text(diff: ParsedDiff) -> str:
    return "".join(_file_text(f) for f in diff.files)


def _shape(diff: ParsedDiff) -> list[tuple[str, list[tuple[str, int | None, int | None, str]]]]:
    return [(f.path, [(ln.kind, ln.old_no, ln.new_no, ln.text) for h in f.hunks for ln in h.lines])
            for f in diff.files]


def pr_diff_text(case: Case) -> str:
    """The case's pull request (with its decoys) as unified diff text, checked to read back the same."""
    from bot.diff.parse import parse_diff

    text = diff_text(case.diff)
    if _shape(parse_diff(text.encode())) != _shape(case.diff):
        raise ValueError(f"case {case.name}: its diff does not read back the same as text")
    return text


def heldout_cases(eval_set: str, corpus: str, limit: int | None) -> list[Case]:
    """The cases as `review-bot eval --set SET --haystack CORPUS --limit N` builds them (default decoys)."""
    return with_haystack(load_cases(eval_set, limit), corpus)
