"""Model completions -> findings that sit on real lines of the diff.

Data moves one way: parse (one parser per template output format) -> ground (keep only
lines the request's own hunks can take a comment on) -> merge duplicates -> severity
floor -> caps. Nothing here repairs malformed output: a line that does not follow the
format is ignored, and a finding off the diff is counted, never moved.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from bot.config import ReviewSettings
from bot.errors import ConfigError
from bot.prompts import comment_target
from bot.sanitize import sanitize_message
from bot.types import SEVERITY_RANK, Completion, Finding, Hunk, Request, Severity, Side

__all__ = ["FindingsOutcome", "PARSERS", "RawFinding", "collect_findings", "fingerprint",
           "ground", "parse_completion", "sanitize_message"]

MAX_PR_COMMENT_CHARS = 1500


@dataclass(frozen=True)
class RawFinding:
    """What the model said, before grounding: `path` "" when it named none and could not be inferred."""

    path: str
    line: int
    start_line: int | None
    severity: Severity
    message: str


@dataclass(frozen=True)
class FindingsOutcome:
    findings: tuple[Finding, ...]  # sorted by path, line
    dropped_ungrounded: int = 0
    dropped_capped: int = 0
    dropped_below_severity: int = 0


# StarCoder2 special tokens: when a server leaves them in the text, the answer ends there.
_SPECIAL_TOKEN = re.compile(
    r"<(?:\|endoftext\||file_sep|filename|reponame|repo_name|gh_stars|fim_\w+|empty_output|"
    r"pr|pr_\w+|issue_\w+|commit_\w+|jupyter_\w+|code_to_intermediate|intermediate_to_code)>")

_SEVERITY_WORDS: dict[str, Severity] = {
    **dict.fromkeys(("error", "err", "fatal", "critical", "severe", "bug", "high", "major",
                     "blocker"), "error"),
    **dict.fromkeys(("warning", "warn", "warnings", "caution", "medium", "moderate"), "warning"),
    **dict.fromkeys(("info", "information", "informational", "note", "notice", "hint", "suggestion",
                     "nit", "minor", "low", "style"), "info"),
}

_BULLET = re.compile(r"^\s*(?:(?:[-*+\u2022]|\d{1,3}[.)]|>)\s+)*")
# Backticks, quotes or bold may wrap the path, the line, or both ("`a.py:12`: ...").
_DIAGNOSTIC = re.compile(
    r"""
    [`"*]*
    (?:(?!\d+[`"*]*\s*:)(?P<path>[^\s:`"'*][^\s:`"*]*)[`"*]*\s*:\s*)?  # path; never all digits
    (?:line\s*)?(?P<line>\d{1,7})
    (?:\s*(?:-|\u2013|,|\.\.)\s*(?P<end>\d{1,7}))?     # LINE-LINE or LINE,LINE
    (?::\d{1,5}(?:-\d{1,5})?)?                         # a column: ignored
    [`"*]*\s*:(?!\d)\s*
    (?P<rest>.*?)\s*$
    """,
    re.VERBOSE | re.IGNORECASE,
)
_SEVERITY_PREFIX = re.compile(r"^[\[(]?(?P<word>[A-Za-z]+)[\])]?\s*:\s*(?P<msg>.*)$")
_SEVERITY_BRACKET = re.compile(r"^\[(?P<word>[A-Za-z]+)\]\s+(?P<msg>.*)$")
_HAS_WORD = re.compile(r"[A-Za-z]{2}")

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


def _cut_special(text: str) -> str:
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


def _parse_diagnostics(text: str, request: Request) -> list[RawFinding]:
    files = request.files
    found: list[RawFinding] = []
    for raw_line in _cut_special(text).splitlines():
        match = _DIAGNOSTIC.fullmatch(_BULLET.sub("", raw_line, count=1))
        if match is None:
            continue
        severity, message, known = _split_severity(match.group("rest"))
        if not _HAS_WORD.search(message):
            continue
        path = match.group("path")
        if path is None:
            if not known:
                continue  # "2: the second point" is chatter; a bare line needs a severity word
            path = files[0] if len(files) == 1 else ""
        line = int(match.group("line"))
        end = match.group("end")
        start: int | None = None
        if end is not None and int(end) != line:
            start, line = sorted((line, int(end)))
        found.append(RawFinding(path, line, start, severity, message))
    return found


def _is_trivial(text: str) -> bool:
    words = re.sub(r"[^\w\s]", " ", text.lower())
    words = " ".join(w for w in words.split() if w not in ("this", "it", "all", "very", "so", "much"))
    return words in _TRIVIAL or not _HAS_WORD.search(words)


def _parse_pr_comment(text: str, request: Request) -> list[RawFinding]:
    text = _USERNAME_PREFIX.sub("", _cut_special(text)).strip()
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
PARSERS: dict[str, Parser] = {"diagnostics": _parse_diagnostics, "pr-comment": _parse_pr_comment}


def parse_completion(text: str, parser: str, request: Request) -> list[RawFinding]:
    """Parse one completion with the named output format; lines that don't fit are ignored."""
    try:
        parse = PARSERS[parser]
    except KeyError:
        raise ConfigError(f"unknown output format '{parser}' in the template metadata; "
                          f"use one of {', '.join(PARSERS)}") from None
    return parse(_with_primer(text, request.prompt), request)


def _with_primer(text: str, prompt: str) -> str:
    """Prepend the prompt's unfinished last line (e.g. `src/a.py:`): the model continues it."""
    primer = prompt.rsplit("\n", 1)[-1]
    return primer + text if primer.strip() else text


def _normal_text(text: str) -> str:
    return " ".join(text.split())


def fingerprint(path: str, line_text: str, message: str) -> str:
    """Short stable id of a finding: no line number, so it survives code moving up or down."""
    key = "\0".join((path, _normal_text(line_text), _normal_text(message).lower()))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def _resolve_path(path: str, known: Sequence[str]) -> str | None:
    candidates = [path, path.lstrip("/")]
    bare = path.lstrip("/")
    while bare.startswith("./"):
        bare = bare[2:]
    candidates.append(bare)
    if bare.startswith(("a/", "b/")):
        candidates.append(bare[2:])
    for candidate in candidates:
        if candidate in known:
            return candidate
    return None


def _line_text(hunk: Hunk, side: Side, number: int) -> str:
    for ln in hunk.lines:
        if side == "RIGHT" and ln.kind != "-" and ln.new_no == number:
            return ln.text
        if side == "LEFT" and ln.kind != "+" and ln.old_no == number:
            return ln.text
    return ""


def _place(hunks: Sequence[Hunk], line: int) -> tuple[Hunk, Side] | None:
    for side in ("RIGHT", "LEFT"):
        for hunk in hunks:
            if line in hunk.commentable(side):
                return hunk, side
    return None


def ground(raw: RawFinding, request: Request) -> Finding | None:
    """A Finding on a line this request's hunks can take a comment on, or None."""
    path = _resolve_path(raw.path, request.files) if raw.path else None
    if path is None:
        return None
    hunks = [h for h in request.hunks if h.path == path]
    line, start = raw.line, raw.start_line
    placed = _place(hunks, line)
    if start is not None and (placed is None or start not in placed[0].commentable(placed[1])):
        if placed is None:  # the range ran past the hunk: its first line still anchors it
            line = start
            placed = _place(hunks, line)
        start = None
    if placed is None:
        return None
    hunk, side = placed
    message = sanitize_message(raw.message)
    if not message:
        return None
    return Finding(path=path, line=line, side=side, start_line=start, severity=raw.severity,
                   message=message, suggestion=None,
                   fingerprint=fingerprint(path, _line_text(hunk, side, line), message))


def _merge(findings: Sequence[Finding]) -> list[Finding]:
    """One finding per (path, side, line, message) and per fingerprint; the worst severity wins."""
    kept: list[Finding] = []
    index: dict[object, int] = {}
    for finding in findings:
        keys = ((finding.path, finding.side, finding.line, _normal_text(finding.message).lower()),
                finding.fingerprint)
        at = next((index[k] for k in keys if k in index), None)
        if at is None:
            for key in keys:
                index[key] = len(kept)
            kept.append(finding)
        elif SEVERITY_RANK[finding.severity] > SEVERITY_RANK[kept[at].severity]:
            kept[at] = replace(kept[at], severity=finding.severity)
    return kept


def _by_position(finding: Finding) -> tuple[str, int, str, int, str]:
    return (finding.path, finding.line, finding.side, finding.start_line or finding.line, finding.message)


def _worst_first(findings: Sequence[Finding]) -> list[Finding]:
    by_position = sorted(findings, key=_by_position)
    return sorted(by_position, key=lambda f: -SEVERITY_RANK[f.severity])


def _cap(findings: Sequence[Finding], per_file: int, total: int) -> list[Finding]:
    kept: list[Finding] = []
    per_path: dict[str, int] = {}
    for finding in _worst_first(findings):
        if per_path.get(finding.path, 0) >= per_file:
            continue
        per_path[finding.path] = per_path.get(finding.path, 0) + 1
        kept.append(finding)
    return sorted(kept[: max(total, 0)], key=_by_position)


def _complete_lines(completion: Completion) -> str:
    """The answer without a last line the token limit cut in half: a half message is no finding."""
    text = completion.text
    if completion.finish_reason == "length" and not text.endswith("\n"):
        return text.rsplit("\n", 1)[0] + "\n" if "\n" in text else ""
    return text


def collect_findings(results: Sequence[tuple[Request, Completion]], parser: str,
                     review: ReviewSettings) -> FindingsOutcome:
    """Every request's completion -> grounded, merged, filtered and capped findings."""
    grounded: list[Finding] = []
    ungrounded = 0
    for request, completion in results:
        for raw in parse_completion(_complete_lines(completion), parser, request):
            finding = ground(raw, request)
            if finding is None:
                ungrounded += 1
            else:
                grounded.append(finding)
    merged = _merge(grounded)
    floor = SEVERITY_RANK[review.min_severity]
    severe = [f for f in merged if SEVERITY_RANK[f.severity] >= floor]
    capped = _cap(severe, review.max_comments_per_file, review.max_comments)
    return FindingsOutcome(findings=tuple(capped), dropped_ungrounded=ungrounded,
                           dropped_capped=len(severe) - len(capped),
                           dropped_below_severity=len(merged) - len(severe))
