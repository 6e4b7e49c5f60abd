"""Unified diffs -> FileDiff / Hunk / Line, with the line numbers GitHub comments on.

The input is split into one section per file first, by a scanner that counts each hunk's
lines against its header (so a removed SQL comment `-- x` is never taken for a file header,
and a broken file is found, located and skipped on its own). Hunk bodies are then parsed
by `unidiff`; file headers (paths, status, modes) are read by `bot.diff_header`.

Lines are split on "\\n" only, as git counts them: a lone "\\r" inside a line stays in the
text, and one "\\r" before the "\\n" is part of the line ending (CRLF), never of `Line.text`.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import attrgetter, itemgetter
from typing import Any

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError
from unidiff.patch import Line as UnidiffLine

from bot.diff_header import DEV_NULL as DEV_NULL
from bot.diff_header import SUBMODULE_MODE as SUBMODULE_MODE
from bot.diff_header import bare_line as _bare
from bot.diff_header import read_header as _read_header
from bot.errors import InputError
from bot.languages import language_for as language_for
from bot.redact import redact_text
from bot.types import FileDiff, FileStatus, Hunk, Line, ParsedDiff, Skipped

_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
_QUOTED_MAX = 60
_KINDS = ("+", "-", " ")  # unidiff line types we keep
# Line breaks other than "\n" that str.splitlines would also split on.
_OTHER_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
# In the string of first characters of the lines: the first line that is no plain body line.
_BODY_RUN_END = re.compile(r"[^-+ \n]")
_SUBMODULE_LINE = re.compile(r"Subproject commit [0-9a-f]{7,64}(-dirty)?")
_FIRST = itemgetter(0)
_TYPE = attrgetter("line_type")
_VALUE = attrgetter("value")
_SOURCE = attrgetter("source_line_no")
_TARGET = attrgetter("target_line_no")

# GitHub's /pulls/N/files statuses -> ours. "changed" is a mode or type change.
_GITHUB_STATUS: dict[str, FileStatus] = {
    "added": "added", "removed": "removed", "modified": "modified", "renamed": "renamed",
    "copied": "copied", "changed": "mode", "unchanged": "mode",
}


def quote_text(text: str) -> str:
    """Untrusted text for an error message: credentials replaced, repr-escaped and capped."""
    # A credentials file passed as --diff must not land in a CI log through this message.
    text = redact_text(text)[0]
    if len(text) > _QUOTED_MAX:
        return repr(text[:_QUOTED_MAX]) + "..."
    return repr(text)


def _show_path(path: str) -> str:
    return path if re.fullmatch(r"[\w./+@-]{1,120}", path) else quote_text(path)


def _split_lines(text: str) -> list[str]:
    """Lines with their "\\n" kept, split on "\\n" only (str.splitlines also splits on \\r, \\f ...)."""
    if not any(brk in text for brk in _OTHER_BREAKS):
        return text.splitlines(keepends=True)  # the same lines, split in C
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _first_chars(lines: list[str]) -> str:
    """The first character of every line (none is empty), for counting hunks with str methods."""
    return "".join(map(_FIRST, lines))


def _is_body(line: str) -> bool:
    return line[:1] in ("+", "-", " ") or line in ("\n", "\r\n")


@dataclass(frozen=True)
class _Problem:
    """What is wrong with a file's diff. `what` is our own words; `quoted` the escaped input."""

    lineno: int  # 1-based line in the input
    what: str
    quoted: str = ""  # repr-escaped and capped; for the error message only, never for a Skipped


@dataclass
class _Section:
    """The lines of one file's diff, as found by the scanner."""

    start: int  # 1-based line number in the input
    header: list[str] = field(default_factory=list)  # lines before the first hunk
    hunks: list[list[str]] = field(default_factory=list)  # each: header line + body lines
    problem: _Problem | None = None
    combined: bool = False  # `diff --cc` (merge) sections: not supported


def _count_hunk(lines: list[str], i: int, old_len: int, new_len: int,
                firsts: str | None = None) -> tuple[int, _Problem | None]:
    """Consume the body of a hunk whose header is lines[i]; return (next index, problem).

    `firsts` (see _first_chars) allows the fast path: when the run of plain body lines after
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
    header = _HUNK_HEADER.match(_bare(lines[i]))
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
            return j, _Problem(j + 1, f"hunk {ref}: a line inside the hunk starts with none of ' ', '+', '-'",
                               quote_text(_bare(line)))
        if kind == "+":
            new_seen += 1
        elif kind == "-":
            old_seen += 1
        else:
            old_seen += 1
            new_seen += 1
        if old_seen > old_len or new_seen > new_len:
            side = "new" if new_seen > new_len else "old"
            return j + 1, _Problem(j + 1, f"hunk {ref} has more {side} lines than its header says")
        j += 1
    while j < len(lines) and lines[j].startswith("\\"):
        j += 1
    if j < len(lines) and lines[j][:1] in ("+", "-", " ") and not _is_separator(lines, j):
        return j, _Problem(j + 1, f"hunk {ref} has more lines than its header says")
    return j, None


def _short_hunk(lineno: int, ref: str, old_seen: int, old_len: int, new_seen: int, new_len: int,
                why: str) -> _Problem:
    if new_seen < new_len:
        return _Problem(lineno, f"hunk {ref} ends after {new_seen} of {new_len} new lines ({why})")
    return _Problem(lineno, f"hunk {ref} ends after {old_seen} of {old_len} old lines ({why})")


def _is_separator(lines: list[str], j: int) -> bool:
    """A line after a complete hunk that looks like a body line but is not one."""
    bare = _bare(lines[j])
    if bare in ("--", "-- "):  # git format-patch signature
        return True
    return bare.startswith("--- ") and j + 1 < len(lines) and lines[j + 1].startswith("+++ ")


def _is_file_start(lines: list[str], i: int, current: _Section | None) -> bool:
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


def _scan(lines: list[str]) -> list[_Section]:
    """Split a diff into per-file sections, checking every hunk's line counts."""
    firsts = _first_chars(lines)
    sections: list[_Section] = []
    current: _Section | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("@@") and _is_file_start(lines, i, current):  # no file starts with "@@"
            current = _Section(start=i + 1, header=[line])
            current.combined = line.startswith(("diff --cc ", "diff --combined "))
            sections.append(current)
            i += 1
            continue
        if current is None or current.problem is not None or current.combined:
            i += 1  # preamble (mail headers, commit message) or the rest of a broken file
            continue
        match = _HUNK_HEADER.match(_bare(line))
        if match is None:
            if not current.hunks:
                current.header.append(line)
            i += 1
            continue
        old_len = int(match.group(2) or 1)
        new_len = int(match.group(4) or 1)
        end, problem = _count_hunk(lines, i, old_len, new_len, firsts)
        if problem is not None:
            current.problem = problem
        else:
            current.hunks.append(lines[i:end])
        i = max(end, i + 1)
    return sections


def _hunks(path: str, hunk_texts: list[list[str]]) -> tuple[Hunk, ...]:
    """Hunks (already counted by the scanner) through unidiff, into our frozen types."""
    if not hunk_texts:
        return ()
    feed = ["--- a\n", "+++ b\n"]
    for text in hunk_texts:
        feed += text
        if not text[-1].endswith("\n"):
            feed[-1] += "\n"
    patch = PatchSet(feed)
    parsed = list(patch[0])
    bodies = _hunk_lines(parsed)
    return tuple(Hunk(path=path, old_start=hunk.source_start, old_len=hunk.source_length,
                      new_start=hunk.target_start, new_len=hunk.target_length, header=_bare(text[0]), lines=body)
                 for text, hunk, body in zip(hunk_texts, parsed, bodies, strict=True))


def _hunk_lines(parsed: Sequence[Sequence[UnidiffLine]]) -> list[tuple[Line, ...]]:
    """Our Lines of each unidiff hunk, without `\\` markers; built a column at a time.

    unidiff numbers only the side a line is on (source for '-', target for '+', both for
    context), which is exactly old_no / new_no. Every value ends in the "\\n" of its input line.
    """
    flat = list(chain.from_iterable(parsed))
    kinds = list(map(_TYPE, flat))
    if "\\" in kinds or "" in kinds:  # unidiff's other types: no-newline markers, trailing empty lines
        parsed = [[ln for ln in hunk if _TYPE(ln) in _KINDS] for hunk in parsed]
        flat = list(chain.from_iterable(parsed))
        kinds = list(map(_TYPE, flat))
    joined = "".join(map(_VALUE, flat))
    texts = joined.split("\n")
    texts.pop()  # after the last value's "\n"
    if "\r" in joined and "\r\n" in joined:  # one "\r" before the "\n" is the line ending (CRLF)
        texts = [t[:-1] if t.endswith("\r") else t for t in texts]
    made = _make_lines(kinds, list(map(_SOURCE, flat)), list(map(_TARGET, flat)), texts)
    bodies: list[tuple[Line, ...]] = []
    at = 0
    for hunk in parsed:
        bodies.append(tuple(made[at:at + len(hunk)]))
        at += len(hunk)
    return bodies


_new_object = object.__new__
# Line has slots: each field's member descriptor stores a value without the frozen __setattr__.
_LINE_SETTERS: tuple[Callable[[Line, Any], None], ...] = tuple(
    vars(Line)[name].__set__ for name in ("kind", "old_no", "new_no", "text"))


def _make_lines(kinds: list[str], olds: list[int | None], news: list[int | None], texts: list[str]) -> list[Line]:
    """`Line(kind, old_no, new_no, text)` for each index, a field at a time for all lines.

    What the dataclass's own __init__ does (object.__setattr__ per field, as Line is frozen),
    in C loops: per-line __init__ calls were a third of the time of parsing a large diff.
    """
    made = list(map(_new_object, repeat(Line, len(texts))))
    columns: tuple[list[Any], ...] = (kinds, olds, news, texts)
    for store, values in zip(_LINE_SETTERS, columns, strict=True):
        deque(map(store, made, values), maxlen=0)
    return made


def _file_diff(section: _Section) -> FileDiff | _Problem:
    head = _read_header(section.header)
    path = (head.old_path if head.status == "removed" else head.new_path) or head.old_path \
        or f"<unnamed file at diff line {section.start}>"
    hunks = _hunks(path, section.hunks)
    if not hunks and not head.is_binary and any(h.startswith("+++ ") for h in section.header):
        return _Problem(section.start + len(section.header), "the file header is not followed by any hunk "
                        "(truncated?)")
    status = head.status
    if status == "mode" and hunks:
        status = "modified"  # a mode change with edits: the edits are what we review
    if status == "modified" and not section.header[0].startswith("diff --git ") and len(hunks) == 1:
        # svn and bzr name both sides even for an added or removed file; only the hunk tells.
        if hunks[0].old_start == 0 and hunks[0].old_len == 0:
            status = "added"
        elif hunks[0].new_start == 0 and hunks[0].new_len == 0:
            status = "removed"
    return FileDiff(path=path, old_path=None if status == "added" else (head.old_path or path),
                    status=status, hunks=hunks, language=language_for(path), is_binary=head.is_binary,
                    is_submodule=head.is_submodule or _is_submodule_text(hunks))


def _is_submodule_text(hunks: tuple[Hunk, ...]) -> bool:
    """A gitlink diff is one hunk of `Subproject commit <sha>` lines (GitHub patches carry no modes)."""
    return len(hunks) == 1 and all(_SUBMODULE_LINE.fullmatch(ln.text) for ln in hunks[0].lines)


def _not_a_diff(lines: list[str]) -> InputError:
    first = next((_bare(ln) for ln in lines if ln.strip()), "")
    hunk_at = next((n for n, ln in enumerate(lines, 1) if _HUNK_HEADER.match(_bare(ln))), None)
    where = (f"a hunk header at line {hunk_at} but no file header ('diff --git' or '---'/'+++') before it"
             if hunk_at else f"no file header ('diff --git' or '---'/'+++') in {len(lines)} lines, "
             f"first line {quote_text(first)}")
    return InputError(f"input is not a unified diff: {where}; pass the output of `git diff` "
                      f"(or use --git BASE..HEAD)")


def parse_diff(data: str | bytes) -> ParsedDiff:
    """A whole unified diff (git, svn, hg, bzr ...) -> files; a broken file becomes a `Skipped`.

    Raises InputError when the input holds no file diff at all, or when no file in it parses.
    """
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    if not text or text.isspace():  # `not text.strip()`, without copying the text
        return ParsedDiff(files=())
    lines = _split_lines(text)
    sections = _scan(lines)
    if not sections:
        raise _not_a_diff(lines)
    files: list[FileDiff] = []
    skipped: list[Skipped] = []
    first_error: str | None = None
    for section in sections:
        problem = section.problem
        if problem is None and section.combined:
            problem = _Problem(section.start, "combined (merge) diffs are not supported")
        if problem is None:
            try:
                parsed = _file_diff(section)
            except (UnidiffParseError, ValueError) as exc:
                parsed = _Problem(section.start, f"unidiff refused the file ({type(exc).__name__})")
            if isinstance(parsed, FileDiff):
                files.append(parsed)
                continue
            problem = parsed
        head = _read_header(section.header)
        path = head.new_path or head.old_path or f"<unnamed file at diff line {section.start}>"
        skipped.append(Skipped(path=path, hunk=None, reason="unparsable",
                               detail=f"diff line {problem.lineno}: {problem.what}"))
        if first_error is None:
            quoted = f": {problem.quoted}" if problem.quoted else ""
            first_error = f"diff line {problem.lineno}: {_show_path(path)}: {problem.what}{quoted}"
    if not files and first_error is not None:
        raise InputError(f"{first_error}; no file in the diff could be parsed; pass the complete "
                         f"output of `git diff`")
    return ParsedDiff(files=tuple(files), skipped=tuple(skipped))


def parse_file_patch(path: str, patch: str | None, status: str, old_path: str | None = None) -> FileDiff:
    """One entry of GitHub's `/pulls/N/files`: `patch` holds only the `@@` hunks of `path`.

    `patch` None (binary, or too large for GitHub) gives a FileDiff without hunks; the caller
    decides what that means. A malformed patch raises InputError naming the file and hunk.
    """
    our_status = _GITHUB_STATUS.get(status, "modified")
    hunk_texts: list[list[str]] = []
    lines = _split_lines(patch or "")
    firsts = _first_chars(lines)
    i = 0
    while i < len(lines):
        match = _HUNK_HEADER.match(_bare(lines[i]))
        if match is None:
            if lines[i].strip():
                raise InputError(f"{_show_path(path)}: patch line {i + 1}: expected a hunk header, got "
                                 f"{quote_text(_bare(lines[i]))}; GitHub's patch is malformed")
            i += 1
            continue
        end, problem = _count_hunk(lines, i, int(match.group(2) or 1), int(match.group(4) or 1), firsts)
        if problem is not None:
            quoted = f": {problem.quoted}" if problem.quoted else ""
            raise InputError(f"{_show_path(path)}: patch line {problem.lineno}: {problem.what}{quoted}")
        hunk_texts.append(lines[i:end])
        i = max(end, i + 1)
    try:
        hunks = _hunks(path, hunk_texts)
    except (UnidiffParseError, ValueError) as exc:
        raise InputError(f"{_show_path(path)}: unidiff refused the patch ({type(exc).__name__})") from exc
    if our_status == "mode" and hunks:
        our_status = "modified"
    return FileDiff(path=path, old_path=None if our_status == "added" else (old_path or path),
                    status=our_status, hunks=hunks, language=language_for(path),
                    is_submodule=_is_submodule_text(hunks))
