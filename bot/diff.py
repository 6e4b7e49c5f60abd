"""Unified diffs -> FileDiff / Hunk / Line, with the line numbers GitHub comments on.

The input is split into one section per file first, by a scanner that counts each hunk's
lines against its header (so a removed SQL comment `-- x` is never taken for a file header,
and a broken file is found, located and skipped on its own). Hunk bodies are then parsed
by `unidiff`; file headers (paths, status, modes) are read here, because unidiff keeps C
quotes in paths and strips any one-letter prefix, which misnames `--no-prefix` diffs.

Lines are split on "\\n" only, as git counts them: a lone "\\r" inside a line stays in the
text, and one "\\r" before the "\\n" is part of the line ending (CRLF), never of `Line.text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from bot.errors import InputError
from bot.redact import redact_text
from bot.types import FileDiff, FileStatus, Hunk, Line, LineKind, ParsedDiff, Skipped

DEV_NULL = "/dev/null"
SUBMODULE_MODE = "160000"
_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
_QUOTED_MAX = 60
_KINDS: dict[str, LineKind] = {"+": "+", "-": "-", " ": " "}  # unidiff line types we keep

# GitHub's /pulls/N/files statuses -> ours. "changed" is a mode or type change.
_GITHUB_STATUS: dict[str, FileStatus] = {
    "added": "added", "removed": "removed", "modified": "modified", "renamed": "renamed",
    "copied": "copied", "changed": "mode", "unchanged": "mode",
}

_LANGUAGES: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyx": "cython", ".js": "javascript", ".mjs": "javascript",
    ".cjs": "javascript", ".jsx": "javascript", ".ts": "typescript", ".tsx": "typescript",
    ".java": "java", ".kt": "kotlin", ".kts": "kotlin", ".scala": "scala", ".go": "go", ".rs": "rust",
    ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp",
    ".cs": "csharp", ".rb": "ruby", ".php": "php", ".swift": "swift", ".m": "objective-c",
    ".sh": "shell", ".bash": "shell", ".zsh": "shell", ".ps1": "powershell", ".lua": "lua",
    ".pl": "perl", ".r": "r", ".jl": "julia", ".dart": "dart", ".ex": "elixir", ".exs": "elixir",
    ".erl": "erlang", ".hs": "haskell", ".ml": "ocaml", ".clj": "clojure", ".sql": "sql",
    ".html": "html", ".htm": "html", ".css": "css", ".scss": "scss", ".vue": "vue",
    ".svelte": "svelte", ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml",
    ".xml": "xml", ".md": "markdown", ".rst": "restructuredtext", ".tex": "latex",
    ".j2": "jinja", ".jinja": "jinja", ".jinja2": "jinja", ".proto": "protobuf", ".tf": "terraform",
    ".cmake": "cmake", ".gradle": "groovy", ".groovy": "groovy", ".zig": "zig", ".nim": "nim",
}
_LANGUAGE_BY_NAME: dict[str, str] = {
    "Dockerfile": "dockerfile", "Makefile": "makefile", "GNUmakefile": "makefile",
    "CMakeLists.txt": "cmake", "Jenkinsfile": "groovy", "Rakefile": "ruby", "Gemfile": "ruby",
}


def language_for(path: str) -> str | None:
    """The language a prompt should name for `path`, by file name or extension; None if unknown."""
    name = PurePosixPath(path).name
    if name in _LANGUAGE_BY_NAME:
        return _LANGUAGE_BY_NAME[name]
    if name.startswith("Dockerfile."):
        return "dockerfile"
    return _LANGUAGES.get(PurePosixPath(name).suffix.lower())


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
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _bare(line: str) -> str:
    """A header line without its line ending (LF or CRLF)."""
    return line.rstrip("\n").removesuffix("\r")


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


def _count_hunk(lines: list[str], i: int, old_len: int, new_len: int) -> tuple[int, _Problem | None]:
    """Consume the body of a hunk whose header is lines[i]; return (next index, problem)."""
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
    sections: list[_Section] = []
    current: _Section | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if _is_file_start(lines, i, current):
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
        end, problem = _count_hunk(lines, i, old_len, new_len)
        if problem is not None:
            current.problem = problem
        else:
            current.hunks.append(lines[i:end])
        i = max(end, i + 1)
    return sections


def _unquote(token: str) -> str:
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
            if re.fullmatch(r"[0-3][0-7]{2}", body[k + 1:k + 4]):
                out.append(int(body[k + 1:k + 4], 8))
                k += 4
                continue
        out.extend(ch.encode("utf-8", "surrogatepass"))  # a str input may hold lone surrogates
        k += 1
    return out.decode("utf-8", "replace")


def _split_git_paths(rest: str) -> tuple[str, str]:
    """`a/x b/x` from a `diff --git` line; paths may be quoted or hold spaces."""
    if rest.startswith('"'):
        end = re.match(r'"(?:[^"\\]|\\.)*"', rest)
        if end:
            return rest[:end.end()], rest[end.end():].lstrip(" ")
    if rest.endswith('"') and ' "' in rest:
        cut = rest.rindex(' "')
        return rest[:cut], rest[cut + 1:]
    spaces = [m.start() for m in re.finditer(" ", rest)]
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
        end = re.match(r'"(?:[^"\\]|\\.)*"', raw)
        if end:
            return _unquote(end.group(0))
    return raw.split("\t")[0]


@dataclass(frozen=True)
class _Header:
    old_path: str | None
    new_path: str | None
    status: FileStatus
    is_binary: bool
    is_submodule: bool


def _strip_prefix(path: str | None, prefix: str | None) -> str | None:
    if path is None or path == DEV_NULL or prefix is None:
        return path
    return path[len(prefix):] if path.startswith(prefix) else path


def _read_header(header: list[str]) -> _Header:
    """Paths, status and flags from the lines before a file's first hunk."""
    git_old = git_new = minus = plus = None
    renamed_from = renamed_to = None
    copied = renamed = added = removed = binary = False
    old_mode = new_mode = None
    for line in header:
        bare = _bare(line)
        if bare.startswith("diff --git "):
            left, right = _split_git_paths(bare[len("diff --git "):])
            git_old, git_new = _unquote(left), _unquote(right)
        elif bare.startswith("--- ") and minus is None:
            minus = _file_path(bare[4:])
        elif bare.startswith("+++ ") and plus is None:
            plus = _file_path(bare[4:])
        elif bare.startswith(("rename from ", "copy from ")):
            renamed_from = _unquote(bare.split(" ", 2)[2])
            renamed, copied = (True, False) if bare.startswith("rename") else (False, True)
        elif bare.startswith(("rename to ", "copy to ")):
            renamed_to = _unquote(bare.split(" ", 2)[2])
        elif bare.startswith("new file mode "):
            added, new_mode = True, bare.rsplit(" ", 1)[1]
        elif bare.startswith("deleted file mode "):
            removed, old_mode = True, bare.rsplit(" ", 1)[1]
        elif bare.startswith("old mode "):
            old_mode = bare.rsplit(" ", 1)[1]
        elif bare.startswith("new mode "):
            new_mode = bare.rsplit(" ", 1)[1]
        elif re.fullmatch(r"index [0-9a-f]+\.\.[0-9a-f]+ \d+", bare):
            old_mode = old_mode or bare.rsplit(" ", 1)[1]
            new_mode = new_mode or bare.rsplit(" ", 1)[1]
        elif bare == "GIT binary patch":
            binary = True
        elif bare.startswith("Binary files ") and bare.endswith(" differ"):
            binary = True
            names = re.match(r"Binary files (.+?) and (.+) differ$", bare)
            # " and " may be part of a name: trust this line only when there is nothing better
            if names and minus is None and git_old is None:
                minus, plus = _unquote(names.group(1)), _unquote(names.group(2))
    old_prefix = new_prefix = None
    if git_old is not None and git_new is not None:
        if re.match(r"[a-z0-9]/", git_old) and re.match(r"[a-z0-9]/", git_new) and git_old[0] != git_new[0]:
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
    return _Header(old_path=None if old == DEV_NULL else old, new_path=None if new == DEV_NULL else new,
                   status=status, is_binary=binary,
                   is_submodule=SUBMODULE_MODE in (old_mode, new_mode))


def _hunks(path: str, hunk_texts: list[list[str]]) -> tuple[Hunk, ...]:
    """Hunks (already counted by the scanner) through unidiff, into our frozen types."""
    if not hunk_texts:
        return ()
    body = "".join("".join(h) if h[-1].endswith("\n") else "".join(h) + "\n" for h in hunk_texts)
    patch = PatchSet("--- a\n+++ b\n" + body)
    result = []
    for text, parsed in zip(hunk_texts, patch[0], strict=True):
        lines = tuple(
            Line(kind=_KINDS[ln.line_type], old_no=ln.source_line_no if ln.line_type != "+" else None,
                 new_no=ln.target_line_no if ln.line_type != "-" else None,
                 text=ln.value.removesuffix("\n").removesuffix("\r"))
            for ln in parsed if ln.line_type in _KINDS)
        result.append(Hunk(path=path, old_start=parsed.source_start, old_len=parsed.source_length,
                           new_start=parsed.target_start, new_len=parsed.target_length,
                           header=_bare(text[0]), lines=lines))
    return tuple(result)


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
    return len(hunks) == 1 and all(re.fullmatch(r"Subproject commit [0-9a-f]{7,64}(-dirty)?", ln.text)
                                   for ln in hunks[0].lines)


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
    if not text.strip():
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
    i = 0
    while i < len(lines):
        match = _HUNK_HEADER.match(_bare(lines[i]))
        if match is None:
            if lines[i].strip():
                raise InputError(f"{_show_path(path)}: patch line {i + 1}: expected a hunk header, got "
                                 f"{quote_text(_bare(lines[i]))}; GitHub's patch is malformed")
            i += 1
            continue
        end, problem = _count_hunk(lines, i, int(match.group(2) or 1), int(match.group(4) or 1))
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
