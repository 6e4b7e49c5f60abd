"""A model's answer -> RawFindings: one parser per output format a template declares.

Parsers read the shapes real models write (collected from real answers, kept as fixtures in
tests/fixtures/real_answers): compiler-style `PATH:LINE: SEVERITY: MESSAGE` lines, the same
in markdown bullets, bold or backticks, `Line 12:` / `L12:` under a heading or a `File:`
line that names the file, and findings inside a fenced block. Nothing is repaired or
guessed: a location comes from the answer (or, for a path-less line, from the one file the
answer is about), never from where a message would fit best. Grounding is bot.findings.grounding's job.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.diff.hunk_text import display_path
from bot.errors import ConfigError
from bot.prompts.views import comment_target
from bot.types import Request, Severity

MAX_PR_COMMENT_CHARS = 1500


@dataclass(frozen=True)
class RawFinding:
    """What the model said, before grounding: `path` "" when it named none and could not be inferred."""

    path: str
    line: int
    start_line: int | None
    severity: Severity
    message: str
    # The path as the answer wrote it ("b/a.py" read as the request's "a.py"), "" when it wrote
    # none: grounding checks it against every file of the run (an exact name wins).
    written: str = ""


# StarCoder2 special tokens: when a server leaves them in the text, the answer ends there.
_SPECIAL_TOKEN = re.compile(
    r"<(?:\|endoftext\||\|im_end\||\|im_start\||file_sep|filename|reponame|repo_name|gh_stars|fim_\w+|"
    r"empty_output|pr|pr_\w+|issue_\w+|commit_\w+|jupyter_\w+|code_to_intermediate|intermediate_to_code)>")

_SEVERITY_WORDS: dict[str, Severity] = {
    **dict.fromkeys(("error", "err", "fatal", "critical", "severe", "bug", "high", "major",
                     "blocker"), "error"),
    **dict.fromkeys(("warning", "warn", "warnings", "caution", "medium", "moderate"), "warning"),
    **dict.fromkeys(("info", "information", "informational", "note", "notice", "hint", "suggestion",
                     "nit", "minor", "low", "style"), "info"),
}

_BULLET = re.compile(r"^\s*(?:(?:[-*+\u2022]|\d{1,3}[.)]|>)\s+)*")
_WRAP = "`\"'*_"  # what markdown wraps a path or a location in
# After the path: `:LINE`, ` line LINE`, `, line LINE`, `(line LINE)`, `#L12`, ` L12`.
_LOCATION = re.compile(
    r"""
    [`"'*_]*\s*(?:[:,(]\s*|\#|\s+)?[`"'*_]*\s*
    (?:(?:on\s+)?lines?\s*|L)?(?P<line>\d{1,7})
    (?:\s*(?:-|\u2013|,|\.\.|to)\s*L?(?P<end>\d{1,7}))?       # LINE-LINE, LINE,LINE, L1-L3
    (?::\d{1,5}(?:-\d{1,5})?)?                                # a column: ignored
    [`"'*_)]*\s*(?::|\s-|\s\u2013|\.\s)(?!\d)\s*
    (?P<rest>.*?)\s*$
    """,
    re.VERBOSE | re.IGNORECASE,
)
# A location with a path the request does not know: still read, so it is counted as dropped.
# A file name may hold a space or two ("my notes.py"); a sentence has more.
_UNKNOWN_PATH = re.compile(r"[`\"'*]*(?!\d+[`\"'*]*\s*:)(?P<path>[^\s:`\"'*][^\s:`\"*]*(?: [^\s:`\"*]+){0,2}"
                           r"\.[^\s:`\"*]+)[`\"'*]*\s*:(?=\s*(?:line\s*)?\d)", re.IGNORECASE)
# A line that names no file: `12: error: ...`, `Line 12: ...`, `L12 - ...`, `**Line 12**: ...`.
_BARE = re.compile(r"[`\"'*_]*(?P<word>(?:on\s+)?lines?\s*|L)?(?=\d)", re.IGNORECASE)
# The format's own placeholder where the path belongs ("PATH:23: error: ..."): small models copy it.
_PLACEHOLDER = re.compile(r"[`\"'*<]*(?:path|file|file_?name|file_?path)[>`\"'*]*(?=\s*:\s*(?:line\s*)?\d)",
                          re.IGNORECASE)
_SEVERITY_PREFIX = re.compile(r"^[\[(]?\**(?P<word>[A-Za-z]+)\**[\])]?\**\s*:\s*\**\s*(?P<msg>.*)$")
_SEVERITY_BRACKET = re.compile(r"^\[(?P<word>[A-Za-z]+)\]\s+(?P<msg>.*)$")
_HAS_WORD = re.compile(r"[A-Za-z]{2}")
_HEADING = re.compile(r"^\s*(?:#{1,6}\s+|(?:file|in|path)\s*:?\s+)?[`\"'*_]*(?P<path>.+?)[`\"'*_]*\s*:?\s*$",
                      re.IGNORECASE)
_NO_FINDINGS = re.compile(r"^\W*(?:no\s+(?:findings|issues|bugs|problems)|nothing\s+to\s+report|lgtm)\b",
                          re.IGNORECASE)
_FENCE = re.compile(r"^\s*(?:```|~~~)")

# The PR-comment format carries no severity; these words mark a comment that claims a defect.
_DEFECT_WORDS = re.compile(
    r"\b(?:bugs?|buggy|errors?|crash(?:es|ed)?|wrong|incorrect(?:ly)?|should(?:n't)?|must|broken|"
    r"fails?|failing|leaks?|race|typo|invalid|missing|exceptions?|undefined|overflow)\b", re.IGNORECASE)
_USERNAME_PREFIX = re.compile(r"^\s*username_\d+\s*:\s*")
_TRIVIAL = frozenset((
    "", "lgtm", "looks good", "looks good to me", "thanks", "thank you", "thx", "ty", "nice", "great",
    "good", "ok", "okay", "done", "fixed", "agreed", "same", "ditto", "yes", "no", "ack", "approved",
    "ship it", "nice work", "good job", "great work", "awesome", "cool", "perfect", "sgtm", "merged",
))


def cut_special(text: str) -> str:
    match = _SPECIAL_TOKEN.search(text)
    return text[: match.start()] if match else text


def _split_severity(rest: str) -> tuple[Severity, str, bool]:
    """`SEVERITY: MESSAGE` -> (severity, message, whether a known severity word was there)."""
    match = _SEVERITY_PREFIX.match(rest) or _SEVERITY_BRACKET.match(rest)
    if match is None:
        return "warning", rest, False
    word = match.group("word").lower()
    if word in _SEVERITY_WORDS:
        return _SEVERITY_WORDS[word], match.group("msg").strip(), True
    # An unknown word in the severity slot ("typo: ...") still tells the reader something.
    return "warning", rest, False


class _Paths:
    """The request's files as the prompt printed them, longest first (a path may contain another)."""

    def __init__(self, request: Request) -> None:
        shown: dict[str, str] = {}
        for path in request.files:
            shown.setdefault(display_path(path), path)
            shown.setdefault(path, path)
        self.by_shown = shown
        ordered = sorted(shown, key=len, reverse=True)
        alternatives = "|".join(map(re.escape, ordered))
        # A path the request holds exactly wins; only then may a `./`, `/` or git's `a/`, `b/`
        # be taken off ("b/a.py" is b/a.py when the diff has it, not a.py with git's prefix).
        # The path ends where a location or a wrapper starts: "a.pyx" is not "a.py".
        self.pattern = re.compile(
            rf"[{re.escape(_WRAP)}]*(?:(?P<path>{alternatives})|(?P<prefix>\./|/|[ab]/)(?P<stripped>{alternatives}))"
            rf"(?=[\s:,(#`\"'*_]|$)") if ordered else None

    def match(self, text: str) -> tuple[str, int, str] | None:
        """(real path, end of the path, what was written when a prefix was taken off, else "")
        when `text` starts with one of the request's paths."""
        if self.pattern is None:
            return None
        found = self.pattern.match(text)
        if found is None:
            return None
        if found.group("path") is not None:
            return self.by_shown[found.group("path")], found.end(), ""
        path = self.by_shown[found.group("stripped")]
        return path, found.end(), found.group("prefix") + path

    def heading(self, text: str) -> str | None:
        """The path a line names and nothing else (`### a.py`, `**a.py**:`, `File: a.py`)."""
        found = _HEADING.match(text)
        if found is None:
            return None
        return self.by_shown.get(found.group("path").strip(_WRAP + " "))


def _location(text: str) -> tuple[int, int | None, str] | None:
    found = _LOCATION.match(text)
    if found is None:
        return None
    line, end = int(found.group("line")), found.group("end")
    start: int | None = None
    if end is not None and int(end) != line:
        start, line = sorted((line, int(end)))
    return line, start, found.group("rest")


def _finding(path: str, where: tuple[int, int | None, str], needs_severity: bool,
             written: str = "") -> RawFinding | None:
    line, start, rest = where
    severity, message, known = _split_severity(rest)
    if not _HAS_WORD.search(message) or (needs_severity and not known):
        return None
    return RawFinding(path, line, start, severity, message, written)


def _file_with_line(request: Request, line: int) -> str:
    """The one file of the request whose new lines on the diff include `line`, else ""."""
    files = {h.path for h in request.hunks if line in h.commentable("RIGHT")}
    return files.pop() if len(files) == 1 else ""


def _parse_line(text: str, paths: _Paths, context: str, request: Request) -> RawFinding | None:
    placeholder = _PLACEHOLDER.match(text)
    if placeholder is not None:
        # The path slot is there but unfilled: the file is the one the answer is about, or the
        # only file in which the number it gives is a changed line. Otherwise counted, not placed.
        where = _location(text[placeholder.end():])
        if where is None:
            return None
        return _finding(context or _file_with_line(request, where[0]), where, needs_severity=False)
    named = paths.match(text)
    if named is not None:
        path, end, written = named
        where = _location(text[end:])
        return _finding(path, where, needs_severity=False, written=written) if where else None
    unknown = _UNKNOWN_PATH.match(text)
    if unknown is not None:
        where = _location(text[unknown.end("path"):])
        path = unknown.group("path")
        return _finding(path, where, needs_severity=False, written=path) if where else None
    bare = _BARE.match(text)
    if bare is None:
        return None
    where = _location(text[bare.end():])
    if where is None:
        return None
    # "2: the second point" is chatter; a bare number needs a severity word, "Line 2:" does not.
    return _finding(context, where, needs_severity=not bare.group("word"))


def parse_diagnostics(text: str, request: Request) -> list[RawFinding]:
    """`PATH:LINE: SEVERITY: MESSAGE` lines and the markdown shapes instruct models wrap them in."""
    text = cut_special(text)
    paths = _Paths(request)
    files = request.files
    single = files[0] if len(files) == 1 else ""
    context = single  # the file a path-less line is about: the only one, or the last heading's
    found: list[RawFinding] = []
    for index, raw_line in enumerate(text.splitlines()):
        if index == 0 and _NO_FINDINGS.match(raw_line):
            return []  # a whole answer; what follows is the model talking on
        if _FENCE.match(raw_line) or not raw_line.strip():
            continue
        line = _BULLET.sub("", raw_line, count=1)
        heading = paths.heading(line)
        if heading is not None:
            context = heading
            continue
        finding = _parse_line(line, paths, context, request)
        if finding is not None:
            found.append(finding)
    return found


def _is_trivial(text: str) -> bool:
    words = re.sub(r"[^\w\s]", " ", text.lower())
    words = " ".join(w for w in words.split() if w not in ("this", "it", "all", "very", "so", "much"))
    return words in _TRIVIAL or not _HAS_WORD.search(words)


def parse_pr_comment(text: str, request: Request) -> list[RawFinding]:
    """StarCoder2's review-comment layout: the answer is one comment on the asked-about line."""
    text = _USERNAME_PREFIX.sub("", cut_special(text)).strip()
    if len(text) > MAX_PR_COMMENT_CHARS:
        cut = text[:MAX_PR_COMMENT_CHARS]
        paragraph = cut.rfind("\n\n")
        text = cut[:paragraph] if paragraph > MAX_PR_COMMENT_CHARS // 2 else cut
    if _is_trivial(text) or not request.hunks:
        return []
    path, line = comment_target(request.hunks)
    severity: Severity = "warning" if _DEFECT_WORDS.search(text) else "info"
    return [RawFinding(path, line, None, severity, text.strip())]


Parser = Callable[[str, Request], list[RawFinding]]
PARSERS: dict[str, Parser] = {"diagnostics": parse_diagnostics, "pr-comment": parse_pr_comment}
# Formats whose prompt ends in the first words of the answer (review.j2 ends with `PATH:`).
PRIMED = frozenset({"diagnostics"})


def parse_answer(text: str, parser: str, request: Request) -> list[RawFinding]:
    """Parse one answer with the named output format; lines that don't fit are ignored."""
    try:
        parse = PARSERS[parser]
    except KeyError:
        raise ConfigError(f"unknown output format '{parser}' in the template metadata; "
                          f"use one of {', '.join(PARSERS)}") from None
    if parser in PRIMED:
        text = with_primer(text, request)
    return parse(text, request)


def with_primer(text: str, request: Request) -> str:
    """Prepend the prompt's unfinished last line (`src/a.py:`) when the model continued it.

    A model that writes its first finding whole (`src/a.py:12: ...`, or another file's) did not
    continue the primer: gluing it on would turn that finding into `src/a.py:src/a.py:12`.
    """
    if request.messages:
        return text  # a chat answer starts afresh
    primer = request.prompt.rsplit("\n", 1)[-1]
    if not primer.strip():
        return text
    first = _BULLET.sub("", text.lstrip("\n").split("\n", 1)[0], count=1)
    if _Paths(request).match(first) is not None or _UNKNOWN_PATH.match(first) is not None:
        return text
    return primer + text
