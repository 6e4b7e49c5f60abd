"""Split a unified diff into one section per file, counting each hunk's lines against its header.

The scanner, before any parsing: a removed SQL comment `-- x` is never taken for a file header,
and a broken file is found, located (line number, what is wrong) and skipped on its own.
Lines are split on "\\n" only, as git counts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from operator import itemgetter

from bot.diff.header import bare_line
from bot.redact.line import redact_path
from bot.redact.scrub import redact_text

HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
_QUOTED_MAX = 60
# Line breaks other than "\n" that str.splitlines would also split on.
_OTHER_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
# In the string of first characters of the lines: the first line that is no plain body line.
_BODY_RUN_END = re.compile(r"[^-+ \n]")
_FIRST = itemgetter(0)


def quote_text(text: str) -> str:
    """Untrusted text for an error message: credentials replaced, repr-escaped and capped."""
    # A credentials file passed as --diff must not land in a CI log through this message.
    text = redact_text(text)[0]
    if len(text) > _QUOTED_MAX:
        return repr(text[:_QUOTED_MAX]) + "..."
    return repr(text)


def show_path(path: str) -> str:
    """A path for an error message: a credential in it replaced (a file named after a token)."""
    path = redact_path(path)
    return path if re.fullmatch(r"[\w./+@<>-]{1,120}", path) else quote_text(path)


def split_lines(text: str) -> list[str]:
    """Lines with their "\\n" kept, split on "\\n" only (str.splitlines also splits on \\r, \\f ...)."""
    if not any(brk in text for brk in _OTHER_BREAKS):
        return text.splitlines(keepends=True)  # the same lines, split in C
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def first_chars(lines: list[str]) -> str:
    """The first character of every line (none is empty), for counting hunks with str methods."""
    return "".join(map(_FIRST, lines))


def _is_body(line: str) -> bool:
    return line[:1] in ("+", "-", " ") or line in ("\n", "\r\n")


@dataclass(frozen=True)
class Problem:
    """What is wrong with a file's diff. `what` is our own words; `quoted` the escaped input."""

    lineno: int  # 1-based line in the input
    what: str
    quoted: str = ""  # repr-escaped and capped; for the error message only, never for a Skipped


@dataclass
class Section:
    """The lines of one file's diff, as found by the scanner."""

    start: int  # 1-based line number in the input
    header: list[str] = field(default_factory=list)  # lines before the first hunk
    hunks: list[list[str]] = field(default_factory=list)  # each: header line + body lines
    # Of each hunk: (old start, old length, new start, new length) from its header, and the first
    # characters of its body lines: the parser reads them from here instead of again.
    heads: list[tuple[int, int, int, int]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    problem: Problem | None = None
    combined: bool = False  # `diff --cc` (merge) sections: not supported


def count_hunk(lines: list[str], i: int, old_len: int, new_len: int,
                firsts: str | None = None) -> tuple[int, Problem | None]:
    """Consume the body of a hunk whose header is lines[i]; return (next index, problem).

    `firsts` (see first_chars) allows the fast path: when the run of plain body lines after
    the header holds exactly the counts of the header, and the line after it is no body line
    nor a `\\` marker, the line by line walk below would end there too, without a problem.
    """
    if firsts is not None:
        start = i + 1
        stop = _BODY_RUN_END.search(firsts, start)
        end = len(firsts) if stop is None else stop.start()
        if stop is None or stop.group() not in ("\\", "\r"):
            run = firsts[start:end]
            added, deleted = run.count("+"), run.count("-")
            context = end - start - added - deleted
            if deleted + context == old_len and added + context == new_len:
                return end, None
    header = HUNK_HEADER.match(bare_line(lines[i]))
    assert header is not None
    ref = f"@@ -{header.group(1)},{old_len} +{header.group(3)},{new_len} @@"
    old_seen = new_seen = 0
    j = i + 1
    while old_seen < old_len or new_seen < new_len:
        if j >= len(lines):
            return j, _short_hunk(i + 1, ref, old_seen, old_len, new_seen, new_len, "truncated?")
        line = lines[j]
        kind = line[:1]
        if kind == "\\":
            j += 1
            continue
        if not _is_body(line):
            if line.startswith(("diff ", "@@ ", "--- ", "Binary files ")):
                return j, _short_hunk(i + 1, ref, old_seen, old_len, new_seen, new_len,
                                      "counts disagree with the header?")
            return j, Problem(j + 1, f"hunk {ref}: a line inside the hunk starts with none of ' ', '+', '-'",
                               quote_text(bare_line(line)))
        if kind == "+":
            new_seen += 1
        elif kind == "-":
            old_seen += 1
        else:
            old_seen += 1
            new_seen += 1
        if old_seen > old_len or new_seen > new_len:
            side = "new" if new_seen > new_len else "old"
            return j + 1, Problem(j + 1, f"hunk {ref} has more {side} lines than its header says")
        j += 1
    while j < len(lines) and lines[j].startswith("\\"):
        j += 1
    if j < len(lines) and lines[j][:1] in ("+", "-", " ") and not _is_separator(lines, j):
        return j, Problem(j + 1, f"hunk {ref} has more lines than its header says")
    return j, None


def _short_hunk(lineno: int, ref: str, old_seen: int, old_len: int, new_seen: int, new_len: int,
                why: str) -> Problem:
    if new_seen < new_len:
        return Problem(lineno, f"hunk {ref} ends after {new_seen} of {new_len} new lines ({why})")
    return Problem(lineno, f"hunk {ref} ends after {old_seen} of {old_len} old lines ({why})")


def _is_separator(lines: list[str], j: int) -> bool:
    """A line after a complete hunk that looks like a body line but is not one."""
    bare = bare_line(lines[j])
    if bare in ("--", "-- "):  # git format-patch signature
        return True
    return bare.startswith("--- ") and j + 1 < len(lines) and lines[j + 1].startswith("+++ ")


def _is_file_start(lines: list[str], i: int, current: Section | None) -> bool:
    line = lines[i]
    if line.startswith(("diff --git ", "diff --cc ", "diff --combined ")):
        return True
    if current is not None and current.problem is not None and current.header[0].startswith("diff --"):
        return False  # the rest of a broken git file: only its successor's `diff --git` ends it
    if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
        # Inside a git header block, ---/+++ restate the file the `diff --git` line opened.
        return current is None or bool(current.hunks) or not current.header[0].startswith("diff --git ") \
            or any(h.startswith("--- ") for h in current.header)
    if line.startswith("Binary files ") and (current is None or current.hunks
                                              or not current.header[0].startswith("diff --git ")):
        return True
    return False


def scan(lines: list[str]) -> list[Section]:
    """Split a diff into per-file sections, checking every hunk's line counts."""
    firsts = first_chars(lines)
    sections: list[Section] = []
    current: Section | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("@@") and _is_file_start(lines, i, current):  # no file starts with "@@"
            current = Section(start=i + 1, header=[line])
            current.combined = line.startswith(("diff --cc ", "diff --combined "))
            sections.append(current)
            i += 1
            continue
        if current is None or current.problem is not None or current.combined:
            i += 1  # preamble (mail headers, commit message) or the rest of a broken file
            continue
        # (On the line as it is: `$` matches before its newline and `.*` takes a CR, so the numbers
        # are those of bare_line(line), which is not made for every line.)
        match = HUNK_HEADER.match(line)
        if match is None:
            if not current.hunks:
                current.header.append(line)
            i += 1
            continue
        old_len = int(match.group(2) or 1)
        new_len = int(match.group(4) or 1)
        end, problem = count_hunk(lines, i, old_len, new_len, firsts)
        if problem is not None:
            current.problem = problem
        else:
            current.hunks.append(lines[i:end])
            current.heads.append((int(match.group(1)), old_len, int(match.group(3)), new_len))
            current.kinds.append(firsts[i + 1:end])
        i = max(end, i + 1)
    return sections
