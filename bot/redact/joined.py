"""Secrets split over several string literals, or put on the line below their name.

`tok = ('ghp_abc…'` / `'…xyz')`, `'ghp_' + '<rest>'`, `"abc" "def"`, and a dict's `'token':` with
the value on the next line: no line holds the whole credential, or its name. So before the lines
are matched one by one, adjacent string literals (side by side, joined by `+`, over a line end
or a backslash continuation) are joined into one value, and a literal that starts the line below
a dangling `name:` or `name =` gets that name. Each such value is put in a line of its own, as
the code would have written it unsplit (the text before it on its line, or the name above, then
the joined literal, then what follows it), and matched with every pattern. Where the joined
value is replaced, every piece of it is: a piece of a split secret need not look random on its
own. (`bot.redact.multiline` does the same where a secret's *name* says the value goes on.)

Linear time as the rest of bot.redact: bounded quantifiers, no competing neighbours; chains do
not overlap, and the context put around a value is bounded (CONTEXT), so each character is read
a bounded number of times.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate
from operator import attrgetter

from bot.redact.patterns import GAP, KEY, PASSWORD, bounded
from bot.types import Line


def _once(pattern: str) -> str:
    """`pattern` for `bounded`, each run (`{0,GAP}`, `{0,LONGEST}`) possessive where `re` has them (3.11).

    Every run in this module's patterns is of characters that what follows it cannot start with
    (spaces or tabs before a `+`, a backslash, a line end, a quote or the line's end; a literal's
    body before its closing quote), so giving characters back never lets a match succeed: the
    matches are the same, found without `re` trying every shorter run first wherever one fails
    (CHAIN at each quote, the lines that start with a quote: 0.1x unidiff's parse on the corpus
    diff). tests/test_redact_joined.py compares each with its plain form.
    """
    if sys.version_info < (3, 11):
        return pattern
    return pattern.replace(",GAP}", ",GAP}+").replace(",LONGEST}", ",LONGEST}+")


def _runs(pattern: str) -> str:
    return bounded(_once(pattern))


def _literal(group: str) -> str:
    """One string literal without escapes or other quotes in it (as bot.redact.multiline reads
    them), with a quote of its own (`'abc'"def"` is one value in a shell)."""
    return rf"""(?P<{group}>["'`])[^"'`\n\\]{{0,LONGEST}}(?P={group})"""


# Between two literals of one value: spaces, a `+`, one line end (maybe after a backslash), a `+`.
_SEP = r"""[ \t]{0,GAP}(?:\+[ \t]{0,GAP})?(?:\\?\n[ \t]{0,GAP}(?:\+[ \t]{0,GAP})?)?"""
CHAIN = re.compile(_runs(_literal("first") + "(?:" + _SEP + _literal("next") + "){1,64}"))
_CHAIN_FROM_HERE = re.compile(_runs(_literal("first") + "(?:" + _SEP + _literal("next") + "){0,64}"))
LITERAL = re.compile(_runs(r"""(?P<q>["'`])(?P<value>[^"'`\n\\]{0,LONGEST})(?P=q)"""))
# A line that ends in an operator, and the next starts with a literal: the value of the name above.
BELOW = re.compile(_runs(r"""(?::|=>?|:=)[ \t]{0,GAP}\n[ \t]{0,GAP}(?=["'`])"""))
_DANGLING = re.compile(_runs(r"""(?::|=>?|:=)[ \t]{0,GAP}$"""))
# `name = (` before a value and `)` after it: the parentheses only group the pieces.
_OPEN = re.compile(_runs(r"""(?P<op>:|=>?|:=)[ \t]{0,GAP}\([ \t]{0,GAP}$"""))
_CLOSE = re.compile(_runs(r"""[ \t]{0,GAP}\)"""))
# The places _may_chain starts from, over a whole hunk: two quotes with only what may stand between
# two literals between them (searched for as one pattern per quote, each starting with its quote,
# in the texts that hold that quote: `re` skips to a fixed first character in a fast loop, to one
# of a class in a slow one, 2x slower than the three), a line that starts with a literal (maybe
# after a `+`: a branch, not an optional group, 2x faster), and the end of the line above it (a
# literal or an operator, maybe then `+` or `\`). tests/test_redact_joined.py checks the first
# two against the single patterns they replace.
_INLINE_DOUBLE = re.compile(_runs(r"""["](?:[ \t]{0,GAP}(?:\+[ \t]{0,GAP})?)["'`]"""))
_INLINE_SINGLE = re.compile(_runs(r"""['](?:[ \t]{0,GAP}(?:\+[ \t]{0,GAP})?)["'`]"""))
_INLINE_BACK = re.compile(_runs(r"""[`](?:[ \t]{0,GAP}(?:\+[ \t]{0,GAP})?)["'`]"""))
_INLINES = (('"', _INLINE_DOUBLE), ("'", _INLINE_SINGLE), ("`", _INLINE_BACK))
_ENDS = re.compile(_runs(r"""(?:["'`]|:|=>?)[ \t]{0,GAP}(?:\+[ \t]{0,GAP})?\\?$"""), re.M)
_STARTS = re.compile(_runs(r"""\n[ \t]{0,GAP}(?:["'`]|\+[ \t]{0,GAP}["'`])"""))  # (after a `\n`: faster than re.M)
# Where a BELOW match ends (_chains): a line that starts with a quote.
_LINE_QUOTE = re.compile(_runs(r"""\n[ \t]{0,GAP}(?=["'`])"""))
CONTEXT = 200  # characters of the line kept before a joined value (a name, an annotation, a call)

# (text) -> (the text redacted, credentials found in it): the line patterns of bot.redact.scrub.
LineRedactor = Callable[[str], tuple[str, int]]
Span = tuple[int, int, str]  # (start, end, placeholder) in one line's text


_TEXT = attrgetter("text")


def _side(lines: Sequence[Line], excluded: str) -> list[int]:
    return [i for i, line in enumerate(lines) if line.kind != excluded]


def _chains(text: str) -> dict[int, int]:
    """{start: end} of the values in `text` made of several literals or on the line below their name.

    BELOW's matches are found as `BELOW.finditer` finds them (tests/test_redact_joined.py compares
    the two on generated text), from the only places one can end: a line that starts with a quote
    (a scan that stops at line ends, not at every `:` and `=` of the code as BELOW's does).
    """
    found: dict[int, int] = {}
    for line in _LINE_QUOTE.finditer(text):  # every BELOW match holds one: its `\n`, spaces, quote
        newline = line.start()
        head = text[max(0, newline - GAP - 2):newline]  # the operator, at most GAP spaces before the `\n`
        kept = head.rstrip(" \t")
        if len(head) - len(kept) <= GAP and kept.endswith((":", "=", "=>")):
            chain = _CHAIN_FROM_HERE.match(text, line.end())
            if chain is not None:
                found[chain.start()] = chain.end()
    for match in CHAIN.finditer(text):
        found.setdefault(match.start(), match.end())
    return found


def _may_chain(probe: str, lines: Sequence[Line]) -> bool:
    """Whether `_chains` may find a value on either side of a hunk (`probe`: "\\n" and its lines joined).

    Each value it finds has two literals on one line (the first one's closing quote, what may
    stand between two, a quote: alike on both sides), or its first junction or its name's
    operator ends a line and the next line of the same side starts with a quote. The cheap
    conditions of joined_values hold in most hunks of code: an empty string's own two quotes
    are two quotes side by side, and every block's `:` ends a line. Here an in-line place counts
    only where CHAIN matches from the literal before it, and a line start only after a line of
    its side that ends as a first literal or a name does. tests/test_redact_joined.py checks that
    no hunk this rejects has a value on either side.
    """
    for quote, pattern in _INLINES:
        hit = pattern.search(probe) if quote in probe else None
        line_start = previous = 0  # probe[0] is a line end
        while hit is not None:
            # The literal before `close` starts at the last quote before it on its line. The last
            # place (a quote) bounds the look back, so a long line costs one reading, not one a place.
            close = hit.start()
            newline = probe.rfind("\n", previous, close)
            line_start = newline if newline >= 0 else line_start
            since = max(line_start, previous)
            opener = max(probe.rfind('"', since, close), probe.rfind("'", since, close), probe.rfind("`", since, close))
            if opener > line_start and probe[opener] == quote and CHAIN.match(probe, opener) is not None:
                return True
            previous = close
            hit = pattern.search(probe, close + 1)
    row, last = -1, 0
    for start in _STARTS.finditer(probe):
        row += probe.count("\n", last, start.start() + 1)  # the line that starts after this line end
        last = start.start() + 1
        for excluded in ("+", "-"):  # the old side (no '+') and the new side (no '-')
            if lines[row].kind == excluded:
                continue
            above = row - 1
            while above >= 0 and lines[above].kind == excluded:
                above -= 1
            if above >= 0 and _ENDS.search(lines[above].text) is not None:
                return True
    return False


def _placeholder(value: str, redacted: str, found: int) -> str | None:
    """The placeholder that replaced `value` in `redacted`, or None where it survived."""
    if not found or not value or value in redacted:
        return None
    return PASSWORD if PASSWORD in redacted and KEY not in redacted else KEY


def joined_values(lines: Sequence[Line], redact: LineRedactor,
                  may_change: Callable[[str], bool] | None = None) -> tuple[dict[int, str], int]:
    """({line index: text with the pieces of split credentials replaced}, credentials found).

    `may_change(text)`: False where `redact` can change no joined line of the lines (`text`: "\n"
    and the lines joined by "\n"), a cheaper question than where the values are (bot.redact.joined_gate).
    """
    probe = "\n" + "\n".join(map(_TEXT, lines))
    if "'" not in probe and '"' not in probe and "`" not in probe:  # (a scan in C, before three of `re`)
        return {}, 0
    if not _may_chain(probe, lines) or (may_change is not None and not may_change(probe)):
        return {}, 0
    spans: dict[int, set[Span]] = {}
    seen: set[tuple[int, int]] = set()  # (line, column) of a chain's first piece: context lines are on both sides
    count = 0
    for excluded in ("+", "-"):  # the old side (no '+') and the new side (no '-')
        indices = _side(lines, excluded)
        texts = [lines[i].text for i in indices]
        text = "\n".join(texts)
        if "'" not in text and '"' not in text and "`" not in text:
            continue
        chains = sorted(_chains(text).items())
        if not chains:
            continue
        starts = list(accumulate((len(line_text) + 1 for line_text in texts[:-1]), initial=0))
        previous_end = 0
        for k, (start, end) in enumerate(chains):
            row = bisect_right(starts, start) - 1
            # The context stops at the chains before and after: a name is not behind another value,
            # and so no text is read again for every one of many short chains on a line.
            after = chains[k + 1][0] if k + 1 < len(chains) else len(text)
            before, previous_end = max(previous_end, starts[row], start - CONTEXT), end
            if (indices[row], start - starts[row]) in seen:
                continue
            pieces = list(LITERAL.finditer(text, start, end))
            value = "".join(piece.group("value") for piece in pieces)
            if not value:  # nothing a placeholder could replace: most are a docstring's `""` below a `def`
                continue
            prefix = text[min(before, start):start]
            if not prefix.strip() and row and _DANGLING.search(texts[row - 1]):
                prefix = texts[row - 1][-CONTEXT:] + " "
            elif len(pieces) < 2:
                continue
            last = bisect_right(starts, end - 1) - 1
            line_end = starts[last] + len(texts[last])
            quote = pieces[0].group("q")
            suffix = text[end:max(end, min(line_end, end + CONTEXT, after))]
            opened = _OPEN.search(prefix)
            if opened is not None:  # `API_KEY = ('abc'` ... `'def')`: the value as if written unsplit
                prefix = prefix[:opened.start()] + opened.group("op") + " "
                closed = _CLOSE.match(suffix)
                suffix = suffix[closed.end():] if closed else suffix
            redacted, found = redact(prefix + quote + value + quote + suffix)
            placeholder = _placeholder(value, redacted, found)
            if placeholder is None:
                continue
            seen.add((indices[row], start - starts[row]))
            count += 1
            for piece in pieces:
                at = bisect_right(starts, piece.start()) - 1
                column = piece.start("value") - starts[at]
                spans.setdefault(indices[at], set()).add((column, column + len(piece.group("value")), placeholder))
    changed = {}
    for i, line_spans in spans.items():
        line_text = lines[i].text
        for begin, stop, placeholder in sorted(line_spans, reverse=True):
            line_text = line_text[:begin] + placeholder + line_text[stop:]
        changed[i] = line_text
    return changed, count
