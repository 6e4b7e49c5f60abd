"""Hunk text as prompts print it and the planner counts it: listings, plain diffs, defusing.

Templates get these texts pre-rendered (see bot.prompts.views.HunkView) and bot.plan.packing
prices them, so the planner's estimate bounds what a template prints. A hunk's text is built in one pass over
its lines, and listing_length prices a listing without building it.
"""

from __future__ import annotations

import re
from operator import attrgetter

from bot.types import Hunk, Line

MIN_NUMBER_WIDTH = 4

# StarCoder2 special tokens: untrusted text must not be able to spell one (the tokenizer would
# turn it into the real token and fake the PR structure or a stop).
_SPECIAL = re.compile(
    r"<(?=(?:\|endoftext\||pr|pr_[a-z_]+|repo_name|reponame|file_sep|filename|gh_stars|issue_start|"
    r"issue_comment|issue_closed|jupyter_[a-z]+|empty_output|commit_before|commit_msg|commit_after|"
    r"fim_[a-z]+|code_to_intermediate|intermediate_to_code)>)")
_TEXT = attrgetter("text")
_NEW_NO = attrgetter("new_no")
_KIND = attrgetter("kind")


def defuse(text: str) -> str:
    """Break any StarCoder2 special token spelled inside untrusted text ("<pr>" -> "< pr>").

    A match is one "<" judged by what follows it on its own line, so defusing lines joined
    with "\\n" equals joining the defused lines, and defusing twice equals defusing once.
    """
    return _SPECIAL.sub("< ", text) if "<" in text else text


def display_path(path: str) -> str:
    """A path as prompts print it: the PR names its files, so it gets the same care as its text."""
    if not path.isprintable():  # a newline in a file name must not start a new prompt line
        path = path.encode("unicode_escape").decode("ascii")
    return defuse(path)


def number_width(hunk: Hunk) -> int:
    """Width of the new-line-number column of a hunk's listing (at least 4)."""
    return max(MIN_NUMBER_WIDTH, len(str(hunk.new_start + hunk.new_len - 1)))


def render_line(line: Line, width: int) -> str:
    """`  12 + foo` for added/context lines (new number), `     - bar` for deleted ones."""
    number = "" if line.kind == "-" or line.new_no is None else str(line.new_no)
    return f"{number:>{width}} {line.kind} {defuse(line.text)}"


def _numbered(lines: tuple[Line, ...], width: int) -> list[str]:
    """render_line(ln, width) for each line, before defusing (str.rjust pads as `:>` does)."""
    blank = " " * width
    return [f"{blank if ln.kind == '-' or ln.new_no is None else str(ln.new_no).rjust(width)} {ln.kind} {ln.text}"
            for ln in lines]


def numbered_lines(hunk: Hunk) -> tuple[str, ...]:
    """The numbered lines of a hunk's listing, as render_line makes them."""
    lines = _numbered(hunk.lines, number_width(hunk))
    return tuple(map(defuse, lines)) if any("<" in ln for ln in lines) else tuple(lines)


def hunk_section(hunk: Hunk) -> str:
    """The text after the second `@@` of the header (usually the enclosing function)."""
    parts = hunk.header.split("@@", 2)
    return defuse(parts[2]) if len(parts) == 3 and not parts[0] else ""


def hunk_listing(hunk: Hunk) -> str:
    """The numbered listing templates show and the planner counts: header, then one line each."""
    return defuse("\n".join([hunk.ref + hunk_section(hunk), *_numbered(hunk.lines, number_width(hunk))]))


def listing_length(hunk: Hunk) -> int:
    """len(hunk_listing(hunk)), without making the listing when every line number fits its column."""
    lines = hunk.lines
    width = number_width(hunk)
    numbers = list(filter(None, map(_NEW_NO, lines)))  # 0 would fit; None prints no number
    if numbers and (max(numbers) >= 10 ** width or min(numbers) <= -(10 ** (width - 1))):
        return len(hunk_listing(hunk))  # a number wider than the column widens its line
    texts = "\n".join(map(_TEXT, lines))
    special = len(defuse(texts)) - len(texts) if "<" in texts else 0  # defuse adds one space a token
    # The header, then for each line "\n", the number column, " ", its kind, " " and its text.
    return len(hunk.ref) + len(hunk_section(hunk)) + len(lines) * (width + 3) + len("".join(map(_KIND, lines))) \
        + len(texts) - max(len(lines) - 1, 0) + special


def hunk_diff(hunk: Hunk, upto: int | None = None) -> str:
    """Plain unified-diff text of a hunk (or of its first `upto` lines); never longer than the listing."""
    lines = hunk.lines if upto is None else hunk.lines[:upto]
    return defuse("\n".join([hunk.ref, *[ln.kind + ln.text for ln in lines]]))


TARGET_TAIL_LINES = 12  # lines a review-comment block shows of its target hunk, as a bound on its size


def hunk_tail(hunk: Hunk, upto: int, max_lines: int = TARGET_TAIL_LINES) -> Hunk:
    """The last `max_lines` of the first `upto` lines of `hunk`, as a hunk of its own.

    Its header counts exactly the lines kept and starts at their real line numbers (an empty
    side starts, as unified diffs do, at the line before), so the text reads as a valid hunk.
    """
    start = max(upto - max_lines, 0)
    old_next = hunk.old_start if hunk.old_len else hunk.old_start + 1
    new_next = hunk.new_start if hunk.new_len else hunk.new_start + 1
    for line in hunk.lines[:start]:
        old_next += line.kind != "+"
        new_next += line.kind != "-"
    lines = hunk.lines[start:upto]
    old_len = sum(1 for ln in lines if ln.kind != "+")
    new_len = sum(1 for ln in lines if ln.kind != "-")
    old_start = old_next if old_len else old_next - 1
    new_start = new_next if new_len else new_next - 1
    parts = hunk.header.split("@@", 2)
    section = parts[2] if len(parts) == 3 and not parts[0] else ""
    return Hunk(path=hunk.path, old_start=old_start, old_len=old_len, new_start=new_start, new_len=new_len,
                header=f"@@ -{old_start},{old_len} +{new_start},{new_len} @@{section}", lines=lines)
