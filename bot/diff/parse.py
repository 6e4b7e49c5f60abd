"""Unified diffs -> FileDiff / Hunk / Line, with the line numbers GitHub comments on.

The input is split into one section per file first, by the scanner of `bot.diff.scan` (which
counts each hunk's lines against its header and locates a broken file). Hunk bodies are then
parsed by `unidiff`, except a file whose hunk lines all start with "+", "-" or " " (most files):
the scanner has counted those already, so each line's kind, text and numbers follow from its
first character alone, and they are read here, as unidiff reads them, without its per-line
regex and objects (tests/test_diff_fast.py checks both ways agree). File headers (paths, status,
modes) are read by `bot.diff.header`.
GitHub's per-file patches (`parse_file_patch`) go through the same hunk counting and parsing.

Lines are split on "\\n" only, as git counts them: a lone "\\r" inside a line stays in the
text, and one "\\r" before the "\\n" is part of the line ending (CRLF), never of `Line.text`.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Sequence
from itertools import chain, repeat
from operator import attrgetter, itemgetter
from typing import Any

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError
from unidiff.patch import Line as UnidiffLine

from bot.diff.header import bare_line
from bot.diff.header import read_header as _read_header
from bot.diff.languages import language_for
from bot.diff.scan import (
    HUNK_HEADER,
    Problem,
    Section,
    count_hunk,
    first_chars,
    quote_text,
    scan,
    show_path,
    split_lines,
)
from bot.errors import InputError
from bot.types import FileDiff, FileStatus, Hunk, Line, ParsedDiff, Skipped, stored_at_once

_KINDS = ("+", "-", " ")  # unidiff line types we keep
_SUBMODULE_LINE = re.compile(r"Subproject commit [0-9a-f]{7,64}(-dirty)?")
_TYPE = attrgetter("line_type")
_VALUE = attrgetter("value")
_SOURCE = attrgetter("source_line_no")
_TARGET = attrgetter("target_line_no")
_AFTER_KIND = itemgetter(slice(1, None))  # line[1:], called from C
_BETWEEN_KIND_AND_NEWLINE = itemgetter(slice(1, -1))  # line[1:-1]
_NONES = repeat(None)  # never exhausted: the number of a side a line is not on
_FIRST = itemgetter(0)

# GitHub's /pulls/N/files statuses -> ours. "changed" is a mode or type change.
_GITHUB_STATUS: dict[str, FileStatus] = {
    "added": "added", "removed": "removed", "modified": "modified", "renamed": "renamed",
    "copied": "copied", "changed": "mode", "unchanged": "mode",
}


def _hunks(path: str, hunk_texts: list[list[str]], heads: list[tuple[int, int, int, int]] | None = None,
           kinds: list[str] | None = None) -> tuple[Hunk, ...]:
    """Hunks (already counted by the scanner) through unidiff, or read directly when plain, into our
    frozen types. `heads` and `kinds`: the scanner's numbers and first characters of each hunk."""
    if not hunk_texts:
        return ()
    bodies = [text[1:] for text in hunk_texts]
    flat = list(chain.from_iterable(bodies))
    all_kinds = first_chars(flat) if kinds is None else "".join(kinds)
    # (An empty hunk goes to unidiff too: it reads the next hunk's header as the empty one's body.)
    if all(bodies) and not all_kinds.strip("+- "):
        return _plain_hunks(path, hunk_texts, bodies, flat, all_kinds, heads)
    return _unidiff_hunks(path, hunk_texts)


def _unidiff_hunks(path: str, hunk_texts: list[list[str]]) -> tuple[Hunk, ...]:
    feed = ["--- a\n", "+++ b\n"]
    for text in hunk_texts:
        feed += text
        if not text[-1].endswith("\n"):
            feed[-1] += "\n"
    patch = PatchSet(feed)
    parsed = list(patch[0])
    lines = _hunk_lines(parsed)
    return tuple(Hunk(path=path, old_start=hunk.source_start, old_len=hunk.source_length,
                      new_start=hunk.target_start, new_len=hunk.target_length, header=bare_line(text[0]), lines=body)
                 for text, hunk, body in zip(hunk_texts, parsed, lines, strict=True))


def _plain_hunks(path: str, hunk_texts: list[list[str]], bodies: list[list[str]], flat: list[str] | None = None,
                 kinds: str | None = None, heads: list[tuple[int, int, int, int]] | None = None) -> tuple[Hunk, ...]:
    """`_hunks` where every body line starts with "+", "-" or " ": what unidiff makes of them, read
    directly. unidiff's value is the line after its first character, numbered on the side(s) its
    kind is on from the header's starts (a missing length is 1, as in unidiff's Hunk). The lines
    are split_lines's: each holds at most one "\\n", at its end. `flat`, `kinds` and `heads`: the
    body lines in one list, their first characters and each header's numbers, when the caller has them."""
    if flat is None or kinds is None:
        flat = list(chain.from_iterable(bodies))
        kinds = first_chars(flat)
    headers = list(map(bare_line, map(_FIRST, hunk_texts)))
    if heads is None:
        heads = []
        for header in headers:
            match = HUNK_HEADER.match(header)
            if match is None:  # the scanner found each by this pattern: never here
                raise UnidiffParseError(f"not a hunk header: {header!r}")
            heads.append((int(match.group(1)), int(match.group(2) or 1), int(match.group(3)), int(match.group(4) or 1)))
    old_sides: list[range] = []
    new_sides: list[range] = []
    at = 0
    for (old, _, new, _), body in zip(heads, bodies, strict=True):
        hunk_kinds = kinds[at:at + len(body)]
        at += len(body)
        added, deleted = hunk_kinds.count("+"), hunk_kinds.count("-")
        old_sides.append(range(old, old + len(body) - added))
        new_sides.append(range(new, new + len(body) - deleted))
    # Each line takes the next number of the side(s) its kind is on, None on the other: a C loop
    # that asks the kind's iterator (the file's numbers of that side, hunk after hunk, or endless
    # None) for it.
    on_old, on_new = chain.from_iterable(old_sides), chain.from_iterable(new_sides)
    olds = list(map(next, map({"+": _NONES, "-": on_old, " ": on_old}.__getitem__, kinds)))
    news = list(map(next, map({"+": on_new, "-": _NONES, " ": on_new}.__getitem__, kinds)))
    made = _make_lines(list(kinds), olds, news, _body_texts(flat, bodies))
    out: list[Hunk] = []
    at = 0
    for header, (old_start, old_len, new_start, new_len), body in zip(headers, heads, bodies, strict=True):
        out.append(stored_at_once(Hunk, path=path, old_start=old_start, old_len=old_len, new_start=new_start,
                                  new_len=new_len, header=header, lines=tuple(made[at:at + len(body)])))
        at += len(body)
    return tuple(out)


def _body_texts(flat: list[str], bodies: list[list[str]]) -> list[str]:
    """The texts of plain body lines (`flat`, the lines of `bodies` in order), as unidiff reads them."""
    joined = "".join(flat)
    if "\r" not in joined and joined.count("\n") == len(flat):  # each line ends in its newline, none in CR
        return list(map(_BETWEEN_KIND_AND_NEWLINE, flat))
    values: list[str] = []
    for body in bodies:
        values += map(_AFTER_KIND, body)
        if body and not values[-1].endswith("\n"):  # as the feed to unidiff ends every hunk's last line
            values[-1] += "\n"
    return _texts(values)


def _texts(values: list[str]) -> list[str]:
    """Line texts from unidiff's values, each ending in the "\\n" of its input line."""
    joined = "".join(values)
    texts = joined.split("\n")
    texts.pop()  # after the last value's "\n"
    if "\r" in joined and "\r\n" in joined:  # one "\r" before the "\n" is the line ending (CRLF)
        texts = [t[:-1] if t.endswith("\r") else t for t in texts]
    return texts


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
    made = _make_lines(kinds, list(map(_SOURCE, flat)), list(map(_TARGET, flat)), _texts(list(map(_VALUE, flat))))
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


def _file_diff(section: Section) -> FileDiff | Problem:
    head = _read_header(section.header)
    path = (head.old_path if head.status == "removed" else head.new_path) or head.old_path \
        or f"<unnamed file at diff line {section.start}>"
    hunks = _hunks(path, section.hunks, section.heads, section.kinds)
    if not hunks and not head.is_binary and any(h.startswith("+++ ") for h in section.header):
        return Problem(section.start + len(section.header), "the file header is not followed by any hunk "
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
    first = next((bare_line(ln) for ln in lines if ln.strip()), "")
    hunk_at = next((n for n, ln in enumerate(lines, 1) if HUNK_HEADER.match(bare_line(ln))), None)
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
    lines = split_lines(text)
    sections = scan(lines)
    if not sections:
        raise _not_a_diff(lines)
    files: list[FileDiff] = []
    skipped: list[Skipped] = []
    first_error: str | None = None
    for section in sections:
        problem = section.problem
        if problem is None and section.combined:
            problem = Problem(section.start, "combined (merge) diffs are not supported")
        if problem is None:
            try:
                parsed = _file_diff(section)
            except (UnidiffParseError, ValueError) as exc:
                parsed = Problem(section.start, f"unidiff refused the file ({type(exc).__name__})")
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
            first_error = f"diff line {problem.lineno}: {show_path(path)}: {problem.what}{quoted}"
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
    lines = split_lines(patch or "")
    firsts = first_chars(lines)
    i = 0
    while i < len(lines):
        match = HUNK_HEADER.match(bare_line(lines[i]))
        if match is None:
            if lines[i].strip():
                raise InputError(f"{show_path(path)}: patch line {i + 1}: expected a hunk header, got "
                                 f"{quote_text(bare_line(lines[i]))}; GitHub's patch is malformed")
            i += 1
            continue
        end, problem = count_hunk(lines, i, int(match.group(2) or 1), int(match.group(4) or 1), firsts)
        if problem is not None:
            quoted = f": {problem.quoted}" if problem.quoted else ""
            raise InputError(f"{show_path(path)}: patch line {problem.lineno}: {problem.what}{quoted}")
        hunk_texts.append(lines[i:end])
        i = max(end, i + 1)
    try:
        hunks = _hunks(path, hunk_texts)
    except (UnidiffParseError, ValueError) as exc:
        raise InputError(f"{show_path(path)}: unidiff refused the patch ({type(exc).__name__})") from exc
    if our_status == "mode" and hunks:
        our_status = "modified"
    return FileDiff(path=path, old_path=None if our_status == "added" else (old_path or path),
                    status=our_status, hunks=hunks, language=language_for(path),
                    is_submodule=_is_submodule_text(hunks))
