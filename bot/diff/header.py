"""The file header of one file's diff (the lines before its first hunk): paths, status, modes.

Read here rather than by unidiff, because unidiff keeps C quotes in paths and strips any
one-letter prefix, which misnames `--no-prefix` diffs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.types import FileStatus

DEV_NULL = "/dev/null"
SUBMODULE_MODE = "160000"
_INDEX = re.compile(r"index [0-9a-f]+\.\.[0-9a-f]+ \d+")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_OCTAL = re.compile(r"[0-3][0-7]{2}")
_SPACE = re.compile(" ")
_ONE_LETTER_PREFIX = re.compile(r"[a-z0-9]/")
_BINARY_NAMES = re.compile(r"Binary files (.+?) and (.+) differ$")


def bare_line(line: str) -> str:
    """A header line without its line ending (LF or CRLF)."""
    return line.rstrip("\n").removesuffix("\r")


def unquote(token: str) -> str:
    """Undo git's C-style path quoting ("caf\\303\\251" -> café); unquoted tokens pass through."""
    if len(token) < 2 or not (token.startswith('"') and token.endswith('"')):
        return token
    escapes = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}
    out = bytearray()
    body = token[1:-1]
    k = 0
    while k < len(body):
        ch = body[k]
        if ch == "\\" and k + 1 < len(body):
            nxt = body[k + 1]
            if nxt in escapes:
                out.append(escapes[nxt])
                k += 2
                continue
            if _OCTAL.fullmatch(body[k + 1:k + 4]):
                out.append(int(body[k + 1:k + 4], 8))
                k += 4
                continue
        out.extend(ch.encode("utf-8", "surrogatepass"))  # a str input may hold lone surrogates
        k += 1
    return out.decode("utf-8", "replace")


def _split_git_paths(rest: str) -> tuple[str, str]:
    """`a/x b/x` from a `diff --git` line; paths may be quoted or hold spaces."""
    if rest.startswith('"'):
        end = _QUOTED.match(rest)
        if end:
            return rest[:end.end()], rest[end.end():].lstrip(" ")
    if rest.endswith('"') and ' "' in rest:
        cut = rest.rindex(' "')
        return rest[:cut], rest[cut + 1:]
    spaces = [m.start() for m in _SPACE.finditer(rest)]
    for cut in spaces:  # unquoted paths with spaces: the split where both sides name one path
        left, right = rest[:cut], rest[cut + 1:]
        if left[2:] == right[2:] or left == right:
            return left, right
    cut = rest.find(" b/") if " b/" in rest else (spaces[len(spaces) // 2] if spaces else len(rest))
    return rest[:cut], rest[cut + 1:]


def _file_path(raw: str) -> str:
    """The path in a ---/+++ line after the marker: up to a tab (timestamps follow one)."""
    raw = raw.removesuffix("\r")
    if raw.startswith('"'):
        end = _QUOTED.match(raw)
        if end:
            return unquote(end.group(0))
    return raw.split("\t")[0]


@dataclass(frozen=True)
class Header:
    old_path: str | None
    new_path: str | None
    status: FileStatus
    is_binary: bool
    is_submodule: bool


def _strip_prefix(path: str | None, prefix: str | None) -> str | None:
    if path is None or path == DEV_NULL or prefix is None:
        return path
    return path[len(prefix):] if path.startswith(prefix) else path


def read_header(header: list[str]) -> Header:
    """Paths, status and flags from the lines before a file's first hunk."""
    git_old = git_new = minus = plus = None
    renamed_from = renamed_to = None
    copied = renamed = added = removed = binary = False
    old_mode = new_mode = None
    for line in header:
        bare = bare_line(line)
        if bare.startswith("diff --git "):
            left, right = _split_git_paths(bare[len("diff --git "):])
            git_old, git_new = unquote(left), unquote(right)
        elif bare.startswith("--- ") and minus is None:
            minus = _file_path(bare[4:])
        elif bare.startswith("+++ ") and plus is None:
            plus = _file_path(bare[4:])
        elif bare.startswith(("rename from ", "copy from ")):
            renamed_from = unquote(bare.split(" ", 2)[2])
            renamed, copied = (True, False) if bare.startswith("rename") else (False, True)
        elif bare.startswith(("rename to ", "copy to ")):
            renamed_to = unquote(bare.split(" ", 2)[2])
        elif bare.startswith("new file mode "):
            added, new_mode = True, bare.rsplit(" ", 1)[1]
        elif bare.startswith("deleted file mode "):
            removed, old_mode = True, bare.rsplit(" ", 1)[1]
        elif bare.startswith("old mode "):
            old_mode = bare.rsplit(" ", 1)[1]
        elif bare.startswith("new mode "):
            new_mode = bare.rsplit(" ", 1)[1]
        elif _INDEX.fullmatch(bare):
            old_mode = old_mode or bare.rsplit(" ", 1)[1]
            new_mode = new_mode or bare.rsplit(" ", 1)[1]
        elif bare == "GIT binary patch":
            binary = True
        elif bare.startswith("Binary files ") and bare.endswith(" differ"):
            binary = True
            names = _BINARY_NAMES.match(bare)
            # " and " may be part of a name: trust this line only when there is nothing better
            if names and minus is None and git_old is None:
                minus, plus = unquote(names.group(1)), unquote(names.group(2))
    old_prefix = new_prefix = None
    if git_old is not None and git_new is not None:
        if _ONE_LETTER_PREFIX.match(git_old) and _ONE_LETTER_PREFIX.match(git_new) and git_old[0] != git_new[0]:
            old_prefix, new_prefix = git_old[:2], git_new[:2]
    elif (minus or "").startswith("a/") and (plus or "").startswith("b/") \
            or minus == DEV_NULL and (plus or "").startswith("b/") \
            or plus == DEV_NULL and (minus or "").startswith("a/"):
        old_prefix, new_prefix = "a/", "b/"
    old = renamed_from or _strip_prefix(minus, old_prefix) or _strip_prefix(git_old, old_prefix)
    new = renamed_to or _strip_prefix(plus, new_prefix) or _strip_prefix(git_new, new_prefix)
    added = added or old == DEV_NULL
    removed = removed or new == DEV_NULL
    status: FileStatus = "modified"
    if added:
        status = "added"
    elif removed:
        status = "removed"
    elif renamed:
        status = "renamed"
    elif copied:
        status = "copied"
    elif binary:
        status = "binary"
    elif old_mode is not None and new_mode is not None and old_mode != new_mode:
        status = "mode"
    return Header(old_path=None if old == DEV_NULL else old, new_path=None if new == DEV_NULL else new,
                   status=status, is_binary=binary,
                   is_submodule=SUBMODULE_MODE in (old_mode, new_mode))
