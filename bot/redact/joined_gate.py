"""Whether a hunk's split values (bot.redact.joined) can hold anything its wide screen finds.

A joined value changes a line only where the line redactor finds a credential in the joined line,
and in a hunk it finds none where the hunk's wide screen (bot.redact.screens) finds nothing in the
joined line, lowered. A joined line is text of one side of the hunk with these changes: the
junctions between the pieces are gone (closing quote, what may stand between two literals, opening
quote); a name's line above stands before the value with a space for the line end (no match of
the screens begins or ends at that space or at the operator before it); `= (` before a value
becomes `= ` and a `)` after it goes (the `(` only takes matches away; without the `)` the closing
quote meets the text after it); the closing quote may be another quote character; the rest is
cut short. So each of the wide screen's matches in a joined line is, in the hunk's lowered text,
a match of the RE2 superset of bot.redact.prefilter with junctions anywhere inside it (a junction
here may also pass over whole lines: lines of the other side stand between a side's lines), a
`)` after its quote, and any quote for another. Where that finds nothing, no joined value of the
hunk can change a line, and bot.redact.joined need not look for any (90 of the 129 hunks of the
corpus diff where it looked, 0.23x unidiff's parse).

Without google-re2 every hunk is looked at, as before. tests/test_redact_prefilter.py compares
what the redactor makes of generated hunks and of the labelled cases with and without the gate.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from bot.redact import prefilter
from bot.redact.joined import LineRedactor
from bot.redact.line import Tally
from bot.redact.line import redact_line as _redact_line
from bot.redact.screens import _NEEDLES, _WORDS, BEFORE_AT, WIDE_CODE_HUNK_SCREEN, WIDE_HUNK_SCREEN
from bot.redact.token_shapes import ARGUMENT_CHARACTER

# What the raw text holds between two pieces of one value (bot.redact.joined's _SEP between the
# quotes, unbounded, and after a line end any lines of the other side).
_JUNCTION = r"""["'`][ \t]*(?:\+[ \t]*)?(?:\\?\n(?:[^\n]*\n)*[ \t]*(?:\+[ \t]*)?)?["'`]"""
_JUNCTIONS = "(?:" + _JUNCTION + ")*"
_QUOTE_THEN = r"""["'`](?:[ \t]*\))?""" + _JUNCTIONS  # a quote, maybe the `)` after it, junctions


def _spliced(word: str) -> str:
    """`word` with junctions allowed between its characters."""
    return _JUNCTIONS.join(map(re.escape, word))


def superset(code: bool) -> str:
    """The pattern for the wide screen of code (`code`) or of config and prose, as above."""
    words = _WORDS if code else (*_WORDS, *_NEEDLES)
    branches = [_spliced(word) for word in sorted(set(words))]
    branches.append(BEFORE_AT + _JUNCTIONS + "@")  # screens._AT
    if code:  # a token's needle after a quote (screens._CODE_QUOTES)
        branches.append(_QUOTE_THEN + "(?:" + "|".join(_spliced(needle) for needle in _NEEDLES) + ")")
    # screens._ARGUMENT_REST: `(` or `,`, maybe a space, a quote, 12 characters of the value
    branches.append(r"[(,] ?" + _QUOTE_THEN + "(?:" + ARGUMENT_CHARACTER + _JUNCTIONS + "){12}")
    return "|".join(branches)


@cache
def _compiled(code: bool) -> Any:
    """RE2's program, compiled at first use (tens of milliseconds: not at every import)."""
    return prefilter.compile_superset(superset(code))


def may_hold_match(lowered: str, code: bool) -> bool:
    """False where no joined value of a hunk whose text, lowered, is `lowered` can change a line, and
    where its wide screen (of code: `code`) finds nothing in the text itself (no junction: the
    superset holds bot.redact.prefilter's). Hunk text: its lines joined by "\\n", maybe after a line."""
    if not prefilter.active():
        return True
    try:
        data = lowered.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: RE2 would read invalid UTF-8
        return True
    return _compiled(code).search(data) is not None


def joined_line_redactor(kind: tuple[bool, bool, bool]) -> LineRedactor:
    """The line redactor bot.redact.joined tries each joined value with, for a hunk of `kind`."""
    bare, _, shapes = kind
    wide = WIDE_HUNK_SCREEN if shapes else WIDE_CODE_HUNK_SCREEN

    def probe_line(text: str) -> tuple[str, int]:
        # Where the wide screen finds nothing no pattern changes the line (as for a hunk below):
        # most joined values (a docstring's quotes, "" and "") are ordinary text.
        if prefilter.search(wide, text.lower()) is None:
            return text, 0
        probe_tally = Tally()
        return _redact_line(text, bare, probe_tally, shapes), probe_tally.secrets

    return probe_line


def joined_gate(kind: tuple[bool, bool, bool]) -> Callable[[str], bool]:
    """joined_values's `may_change` for joined_line_redactor(kind): may_hold_match on the text lowered."""
    code = not kind[2]
    return lambda text: may_hold_match(text.lower(), code)
