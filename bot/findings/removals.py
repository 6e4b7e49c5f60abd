"""A finding about a deleted line: where it goes on the new side.

A removal can be the bug (a deleted check, a dropped `.copy()`), but a review comment sits on a
line of the new file. When the code a message quotes is found only on deleted lines, the
finding goes on the nearest new line of the same hunk (the one right after the deletion when
both neighbours are as near: the code that now runs where the removed line was). GitHub takes
a comment on any added or context line of the hunk ("RIGHT" side).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.types import Hunk


def nearest_new_line(hunk: Hunk, index: int) -> int | None:
    """The new line number nearest to hunk.lines[index] (a deleted line), the following one on a
    tie; None when the hunk has no new line at all."""
    lines = hunk.lines
    after = next((k for k in range(index + 1, len(lines)) if lines[k].new_no is not None and lines[k].kind != "-"),
                 None)
    before = next((k for k in range(index - 1, -1, -1) if lines[k].new_no is not None and lines[k].kind != "-"),
                  None)
    if after is not None and (before is None or after - index <= index - before):
        return lines[after].new_no
    return lines[before].new_no if before is not None else None


def removed_line_anchor(hunks: Sequence[Hunk], quote: str, cited: int) -> int | None:
    """Where a finding quoting `quote` goes when only deleted lines hold it (whitespace-normalised),
    the cited number choosing among several; None when no deleted line holds it."""
    anchors = [line for h in hunks for i, ln in enumerate(h.lines)
               if ln.kind == "-" and quote in " ".join(ln.text.split())
               and (line := nearest_new_line(h, i)) is not None]
    if not anchors:
        return None
    return cited if cited in anchors else min(anchors, key=lambda n: (abs(n - cited), n))
