"""[review] context = "function": beside a Python hunk, the def or class around its changed lines,
read from the head file, as read-only context.

The context is PR text, like the diff: it is made from head files the pipeline has redacted
(bot.redact.scrub.redact_head_files) and is defused here as hunk listings are. It is shown, never
commentable: findings are grounded on the request's hunks only (bot.findings.grounding), so a
finding on a line that only the context shows is dropped as ungrounded.

Only the hunks the diff itself has get a context (looked up by identity): a part of a hunk too large
for one request (bot.plan.split.split_hunk) has none, since the hunk alone already fills a request.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence

from bot.diff.hunk_text import MIN_NUMBER_WIDTH, defuse
from bot.diff.languages import language_for
from bot.types import FileDiff, Hunk

# Lines of head-file code one hunk's context shows at most (the def or class line, then the lines
# nearest the hunk), so a hunk inside a long function or class costs a bounded number of tokens.
MAX_CONTEXT_LINES = 60

Span = tuple[int, int]  # first and last line (1-based) of a def or class


def reads_head_file(path: str) -> bool:
    """Whether a hunk of `path` can get a context: the one language `definition_spans` reads."""
    return language_for(path) == "python"


def wants_head_file(file: FileDiff) -> bool:
    """Whether the head text of a file of the diff serves its context: changed lines there, and a
    file that still exists. What the GitHub source fetches and the pipeline keeps (bot.pipeline.screen)."""
    return bool(file.hunks) and file.status != "removed" and reads_head_file(file.path)


def definition_spans(text: str) -> list[Span] | None:
    """(first, last) line of every def, async def and class of a Python file; None when it does not parse.

    Lines are counted on "\\n" as git counts them; a file with another line break (a lone CR) would
    number lines differently in `ast`, so it gets no context.
    """
    text = text.replace("\r\n", "\n")
    if "\r" in text:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: a NUL byte
        return None
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return [(node.lineno, node.end_lineno or node.lineno) for node in ast.walk(tree) if isinstance(node, kinds)]


def changed_span(hunk: Hunk) -> Span | None:
    """The new-file lines a hunk changes: its added lines, or for a pure removal the new line before
    each removed run (after it, at the top of a hunk)."""
    added = [ln.new_no for ln in hunk.lines if ln.kind == "+" and ln.new_no is not None]
    if not added:
        previous: int | None = None
        for index, ln in enumerate(hunk.lines):
            if ln.kind != "-":
                previous = ln.new_no if ln.new_no is not None else previous
            elif index == 0 or hunk.lines[index - 1].kind != "-":
                after = next((x.new_no for x in hunk.lines[index + 1:] if x.kind != "-"), None)
                place = previous if previous is not None else after
                if place is not None:
                    added.append(place)
    return (min(added), max(added)) if added else None


def smallest_enclosing(spans: Sequence[Span], first: int, last: int) -> Span | None:
    inside = [s for s in spans if s[0] <= first and last <= s[1]]
    return min(inside, key=lambda s: (s[1] - s[0], -s[0])) if inside else None


def excerpt(lines: Sequence[str], span: Span, hunk: Hunk, max_lines: int = MAX_CONTEXT_LINES) -> str:
    """The lines of `span` outside the hunk, numbered as the diff numbers new lines, at most
    `max_lines` of them: the def/class line first, then the nearest to the hunk on either side;
    a gap is one "..." row and the hunk's own place one row saying the change is below."""
    start, end = span[0], min(span[1], len(lines))
    low, high = hunk.new_start, hunk.new_start + hunk.new_len - 1
    before = [n for n in range(start, end + 1) if n < low][::-1]  # nearest first
    after = [n for n in range(start, end + 1) if n > high]
    keep: set[int] = {start} if before and before[-1] == start and max_lines > 0 else set()
    for pair in zip(before, after, strict=False):
        for n in pair:
            if len(keep) < max_lines:
                keep.add(n)
    for n in before[len(after):] + after[len(before):]:
        if len(keep) < max_lines:
            keep.add(n)
    if not keep:
        return ""
    width = max(MIN_NUMBER_WIDTH, len(str(end)))
    blank = " " * width
    rows: list[str] = []
    previous = None
    marked = False
    for n in sorted(keep):
        if not marked and n > high:
            rows.append(f"{blank} | ... [lines {low}-{high}: the change, shown below as a diff]")
            marked, previous = True, high
        if previous is not None and n > previous + 1:
            rows.append(f"{blank} | ...")
        rows.append(f"{str(n).rjust(width)} | {lines[n - 1]}")
        previous = n
    if not marked:
        rows.append(f"{blank} | ... [lines {low}-{high}: the change, shown below as a diff]")
    return defuse("\n".join(rows))


class HeadContext:
    """The context of each hunk of a diff, made once (bot.pipeline.prepare makes one per plan):
    called with a hunk, its context text, or "" (no head file, not Python, at module level, a
    file that does not parse, or a hunk the diff does not have)."""

    def __init__(self, head_files: Mapping[str, str], hunks: Iterable[Hunk],
                 max_lines: int = MAX_CONTEXT_LINES) -> None:
        self.max_lines = max_lines
        self._texts: dict[int, tuple[Hunk, str]] = {}  # by id; the hunk is kept so its id stays its own
        parsed: dict[str, tuple[list[str], list[Span]] | None] = {}
        for hunk in hunks:
            text = head_files.get(hunk.path)
            if text is None or not reads_head_file(hunk.path):
                continue
            if hunk.path not in parsed:
                spans = definition_spans(text)
                parsed[hunk.path] = None if spans is None else (text.replace("\r\n", "\n").split("\n"), spans)
            known = parsed[hunk.path]
            changed = changed_span(hunk)
            if known is None or changed is None:
                continue
            lines, spans = known
            span = smallest_enclosing(spans, *changed)
            context = excerpt(lines, span, hunk, max_lines) if span is not None else ""
            if context:
                self._texts[id(hunk)] = (hunk, context)

    def __call__(self, hunk: Hunk) -> str:
        known = self._texts.get(id(hunk))
        return known[1] if known is not None and known[0] is hunk else ""

    def __len__(self) -> int:
        return len(self._texts)


def no_context(hunk: Hunk) -> str:
    """The context of every hunk when [review] context is "diff": none."""
    return ""
