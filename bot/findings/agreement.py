"""Agreement of two samples: keep what a second, independent reading of the same change also says.

A small model names lines whenever it is asked for them; a line it names on two readings of the
change (a different packing of the pull request, another sampling seed, another prompt) is less
likely to be filler. A finding of the first sample is kept when the second has a finding in the
same place: the same file (and side), its lines within `window` lines of the first's.

Places are spans (where, first line, last line): `where` is whatever must be equal for two
findings to be comparable. The eval (`review-bot eval --agree-with CONFIG`) gives new-file
positions keyed by path (a deleted line sits before the next new line, as the scorer places it);
a product cross-check (`[review] samples`) would give (path, side) and the finding's own lines.
The check only removes: nothing the first sample did not say is ever added.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

AGREEMENT_WINDOW = 3  # lines; the same tolerance as the eval's hit rule (bot.eval.cases.WINDOW)

Span = tuple[Hashable, int, int]  # (where, first line, last line), first <= last


def agrees(span: Span, others: Sequence[Span], window: int = AGREEMENT_WINDOW) -> bool:
    """Whether another sample has a finding at the same place within `window` lines of `span`."""
    where, first, last = span
    return any(o_where == where and o_first - window <= last and first <= o_last + window
               for o_where, o_first, o_last in others)


def agreement(spans: Sequence[Span], others: Sequence[Span], window: int = AGREEMENT_WINDOW) -> tuple[bool, ...]:
    """For each finding of the first sample, in order: does the second sample agree with it?"""
    return tuple(agrees(span, others, window) for span in spans)


__all__ = ["AGREEMENT_WINDOW", "Span", "agreement", "agrees"]
