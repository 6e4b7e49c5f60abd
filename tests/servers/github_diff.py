"""The GitHub emulator's own unified-diff parser (see github_server.py).

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
  take a position too).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["FilePatch", "PatchHunk", "PatchLine", "count_diff_lines", "parse_diff"]

_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


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
