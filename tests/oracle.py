"""The corpus oracle: a case's pr.diff, parsed by bot.diff.parse, must agree with the old and new file
contents git recorded in its oracle.json (used on ../shared and on cases the data script builds)."""

from __future__ import annotations

import json
from pathlib import Path

from bot.diff.parse import parse_diff
from bot.types import Hunk

GIT_STATUS = {"A": "added", "D": "removed", "M": "modified", "R": "renamed", "C": "copied"}


def git_lines(text: str) -> list[str]:
    """A file's lines as git numbers them: split on "\\n" only; CRLF's "\\r" is the line ending."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln.removesuffix("\r") for ln in lines]


def apply_hunks(old: list[str], hunks: tuple[Hunk, ...]) -> list[str]:
    """Rebuild the new file from the old one: checks every number and text independently of
    how git chose its hunks."""
    out: list[str] = []
    pos = 0  # lines of `old` consumed
    for hunk in hunks:
        first_old = next((ln.old_no for ln in hunk.lines if ln.old_no is not None), hunk.old_start + 1)
        out.extend(old[pos:first_old - 1])
        pos = first_old - 1
        for ln in hunk.lines:
            if ln.kind != "+":
                assert ln.old_no == pos + 1 and old[pos] == ln.text, (hunk.ref, ln)
                pos += 1
            if ln.kind != "-":
                assert ln.new_no == len(out) + 1, (hunk.ref, ln)
                out.append(ln.text)
    return out + old[pos:]


def check_case_against_oracle(case: Path) -> None:
    parsed = parse_diff((case / "pr.diff").read_bytes())
    oracle = json.loads((case / "oracle.json").read_text())["files"]
    assert parsed.skipped == ()
    assert {f.path for f in parsed.files} == set(oracle)
    for f in parsed.files:
        entry = oracle[f.path]
        new = git_lines(entry["new"]) if entry["new"] is not None else []
        old = git_lines(entry["old"]) if entry["old"] is not None else []
        expected = GIT_STATUS[entry["status"][0]]
        assert f.status == expected or (f.status == "binary" and expected == "modified"), f.path
        if expected == "renamed":
            assert f.old_path == entry["old_path"]
        lines = {ln.new_no: ln.text for h in f.hunks for ln in h.lines if ln.new_no is not None}
        for n in f.commentable("RIGHT"):
            assert lines[n] == new[n - 1], (f.path, n)
        old_lines = {ln.old_no: ln.text for h in f.hunks for ln in h.lines if ln.old_no is not None}
        for n in f.commentable("LEFT"):
            assert old_lines[n] == old[n - 1], (f.path, n)
        for h in f.hunks:
            for ln in h.added:
                assert ln.old_no is None and ln.new_no is not None and new[ln.new_no - 1] == ln.text
            assert h.path == f.path
        if f.is_binary:
            assert f.hunks == ()
        else:
            assert apply_hunks(old, f.hunks) == new, f.path
