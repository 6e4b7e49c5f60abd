"""Cutting a hunk too large for one request into parts at line boundaries (bot.plan.packing uses it)."""

from __future__ import annotations

from bot.diff.hunk_text import hunk_section, number_width, render_line
from bot.plan.tokens import TokenEstimator
from bot.plan.tokens import count_many as _count_many
from bot.types import Hunk

SPLIT_OVERLAP = 3  # lines a split part repeats from the part before it, for context


def _part(hunk: Hunk, start: int, end: int, old_next: int, new_next: int, section: str) -> Hunk:
    lines = hunk.lines[start:end]
    old_len = sum(1 for ln in lines if ln.kind != "+")
    new_len = sum(1 for ln in lines if ln.kind != "-")
    # Unified-diff convention: an empty side's start is the line before the change.
    old_start = old_next if old_len else old_next - 1
    new_start = new_next if new_len else new_next - 1
    return Hunk(path=hunk.path, old_start=old_start, old_len=old_len, new_start=new_start, new_len=new_len,
                header=f"@@ -{old_start},{old_len} +{new_start},{new_len} @@{section}", lines=lines)


def split_hunk(hunk: Hunk, limit: int, estimator: TokenEstimator, per_hunk: int = 0,
               overlap: int = SPLIT_OVERLAP) -> list[tuple[Hunk, int]]:
    """Cut `hunk` at line boundaries into parts costing at most `limit` each, with their costs.

    Each part after the first repeats up to `overlap` lines of the one before, as context, when
    they fit. A part whose single line exceeds `limit` is returned anyway: the caller skips it.
    """
    lines = hunk.lines
    width = number_width(hunk)  # a part is never wider, so these costs stay upper bounds
    costs = _count_many(estimator, [render_line(ln, width) + "\n" for ln in lines])
    section = hunk_section(hunk)
    head = per_hunk + estimator.count(hunk.ref + section + "\n") + 1
    old_next = [hunk.old_start if hunk.old_len else hunk.old_start + 1]
    new_next = [hunk.new_start if hunk.new_len else hunk.new_start + 1]
    for ln in lines:
        old_next.append(old_next[-1] + (ln.kind != "+"))
        new_next.append(new_next[-1] + (ln.kind != "-"))
    parts: list[tuple[Hunk, int]] = []
    start = 0
    while start < len(lines):
        end, total = start, head
        while end < len(lines) and total + costs[end] <= limit:
            total += costs[end]
            end += 1
        if end == start:  # one line alone is over the limit
            total += costs[end]
            end += 1
        parts.append((_part(hunk, start, end, old_next[start], new_next[start], section), total))
        if end >= len(lines):
            break
        # Overlap only as much as still leaves room for the next new line: every part makes progress.
        back = min(overlap, end - start - 1)
        while back and head + sum(costs[end - back:end]) + costs[end] > limit:
            back -= 1
        start = end - back
    return parts
