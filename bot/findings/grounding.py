"""Model completions -> findings that sit on real lines of the diff.

Data moves one way: parse (bot.findings.answers, one parser per template output format) -> ground
(keep only new lines the request's own hunks can take a comment on; the code a message
quotes picks its line, the number breaks ties) -> drop echoes of the prompt and one remark
repeated within a hunk -> merge duplicates -> severity floor -> caps. Nothing here repairs
malformed output: a line that does not follow the format is ignored, and a number off the
diff is counted, never moved.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.config import ReviewSettings
from bot.findings.answers import PARSERS, RawFinding, parse_answer
from bot.findings.removals import removed_line_anchor
from bot.findings.sanitize import sanitize_message
from bot.findings.vacuous import says_nothing
from bot.types import SEVERITY_RANK, Completion, Finding, Hunk, Request, Side

__all__ = ["FindingsOutcome", "PARSERS", "RawFinding", "collect_findings", "fingerprint",
           "ground", "parse_completion", "sanitize_message"]

@dataclass(frozen=True)
class FindingsOutcome:
    findings: tuple[Finding, ...]  # sorted by path, line
    dropped_ungrounded: int = 0
    dropped_capped: int = 0
    dropped_below_severity: int = 0
    dropped_echo: int = 0  # messages that only repeat the prompt's own words
    dropped_vacuous: int = 0  # messages that claim nothing (bot.findings.vacuous)


def parse_completion(text: str, parser: str, request: Request) -> list[RawFinding]:
    """Parse one completion with the named output format (see bot.findings.answers)."""
    return parse_answer(text, parser, request)


def _normal_text(text: str) -> str:
    return " ".join(text.split())


def fingerprint(path: str, line_text: str, message: str) -> str:
    """Short stable id of a finding: no line number, so it survives code moving up or down."""
    key = "\0".join((path, _normal_text(line_text), _normal_text(message).lower()))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def _resolve_path(path: str, known: Sequence[str] | frozenset[str]) -> str | None:
    """The file of `known` a written path names: the path itself first, then without a leading
    `/` or `./`, and only then without git's `a/` or `b/` (an exact name always wins)."""
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
    """The hunk whose new-side lines include `line`. Templates number lines by the new file
    only, so a number is a new line: one that is not on the diff is dropped, never moved to
    the old side where the same number means another line."""
    for hunk in hunks:
        if line in hunk.commentable("RIGHT"):
            return hunk, "RIGHT"
    return None


def ground(raw: RawFinding, request: Request) -> Finding | None:
    """A Finding on a line this request's hunks can take a comment on, or None."""
    placed = _ground(raw, request)
    return placed[0] if placed is not None else None


def _ground(raw: RawFinding, request: Request, by_quote: bool = True,
            run_files: frozenset[str] = frozenset()) -> tuple[Finding, Hunk] | None:
    path = _resolve_path(raw.path, request.files) if raw.path else None
    if path is None:
        return None
    if raw.written and _resolve_path(raw.written, run_files | {path}) != path:
        # "b/a.py" read as this request's a.py, while b/a.py is another file of the run: the
        # model named a file it was not shown here; it is counted, never moved to a.py.
        return None
    hunks = [h for h in request.hunks if h.path == path]
    line, start = raw.line, raw.start_line
    quoted = _quoted_line(hunks, raw.message, line) if by_quote else None
    if quoted is not None and quoted != line:
        line, start = quoted, None
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
                   fingerprint=fingerprint(path, _line_text(hunk, side, line), message)), hunk


QUOTE_PLACED = frozenset({"diagnostics"})  # formats in which the model names its own lines
_QUOTE = re.compile(r"`([^`\n]{3,})`")


def _quoted_line(hunks: Sequence[Hunk], message: str, cited: int) -> int | None:
    """Where the code the message quotes first sits, when the model quoted it.

    Models cite line numbers a line or two off, but copy the code they mean exactly: the
    new line holding that code wins (added lines first), the cited number breaking ties; code
    only a deleted line holds goes on the nearest new line (bot.findings.removals). None when
    the message quotes nothing that is on the diff (the number alone decides).
    """
    found = _QUOTE.search(message)
    if found is None or not found.group(1).strip():
        return None
    quote = " ".join(found.group(1).split())
    for kinds in ("+", "+ "):
        matches = [ln.new_no for h in hunks for ln in h.lines
                   if ln.kind in kinds and ln.new_no is not None and quote in " ".join(ln.text.split())]
        if matches:
            return cited if cited in matches else min(matches, key=lambda n: (abs(n - cited), n))
    return removed_line_anchor(hunks, quote, cited)  # a deleted line: the nearest new line of its hunk


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


def _echoes(message: str, prompt: str) -> bool:
    """A message the prompt already holds word for word ("wrong logic, off-by-one, ...") is the
    model reading the instructions back, not a finding."""
    return _normal_text(message).lower() in prompt


def collect_findings(results: Sequence[tuple[Request, Completion]], parser: str,
                     review: ReviewSettings) -> FindingsOutcome:
    """Every request's completion -> grounded, merged, filtered and capped findings."""
    grounded: list[Finding] = []
    ungrounded = echoed = vacuous = 0
    run_files = frozenset(path for request, _ in results for path in request.files)
    for request, completion in results:
        prompt = _normal_text(request.prompt).lower()
        diff_lines = [ln.text for h in request.hunks for ln in h.lines]
        said_in_hunk: set[tuple[str, str, str]] = set()
        for raw in parse_completion(_complete_lines(completion), parser, request):
            # A pr-comment answer sits where the prompt asked: only a model that chose its line is re-read.
            placed = _ground(raw, request, by_quote=parser in QUOTE_PLACED, run_files=run_files)
            if placed is None:
                ungrounded += 1
                continue
            finding, hunk = placed
            if _echoes(raw.message, prompt):
                echoed += 1
                continue
            if review.drop_vacuous and says_nothing(raw.message, diff_lines):
                vacuous += 1
                continue
            # The same words on several lines of one hunk are one remark the model could not place:
            # the first line it named keeps it.
            key = (finding.path, hunk.ref, _normal_text(finding.message).lower())
            if key not in said_in_hunk:
                said_in_hunk.add(key)
                grounded.append(finding)
    merged = _merge(grounded)
    floor = SEVERITY_RANK[review.min_severity]
    severe = [f for f in merged if SEVERITY_RANK[f.severity] >= floor]
    capped = _cap(severe, review.max_comments_per_file, review.max_comments)
    return FindingsOutcome(findings=tuple(capped), dropped_ungrounded=ungrounded,
                           dropped_capped=len(severe) - len(capped),
                           dropped_below_severity=len(merged) - len(severe), dropped_echo=echoed,
                           dropped_vacuous=vacuous)
