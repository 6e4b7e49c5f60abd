"""A screen's scan by a DFA first, where google-re2 is installed.

`re` is a backtracking engine: it stops at every character a branch of the screens may start with
(a third of the characters of code) and tries the branches there, so the screens' scans over a
large diff are most of what redaction costs where nothing is found (docs/benchmarks.md). RE2 reads
each byte once. It lacks lookbehinds, so `bot.redact.screens` gives it a superset of each screen
(`prefiltered`): a lookbehind's characters become part of the match, which then starts at most
`lead` characters before the screen's own. So wherever the screen matches at `s`, the superset
matches in [s - lead, s], and where the superset finds nothing, neither does the screen.

`search(pattern, text, pos)` is always exactly `pattern.search(text, pos)`: RE2 only says where
`re` need not look. In ASCII text its offsets are the text's, and `re` starts at its match; in
other text (UTF-8 offsets differ) it tells only whether to search at all. Without google-re2 (a
platform without its wheel) `re` does the whole scan, as before. tests/test_redact_prefilter.py
checks each superset on generated text.
"""

from __future__ import annotations

import re
from typing import Any

try:
    import re2
except ImportError:  # no wheel for this platform: `re` alone, as before
    re2 = None

# {id of a pattern: (its superset compiled by RE2, lead)}. Keyed by id as screens._FOUND is (hashing
# a compiled pattern hashes its program); the patterns are module constants, alive for good.
_DFAS: dict[int, tuple[Any, int]] = {}
# The last text encoded, and its bytes: a screen searches one hunk's text again and again.
_encoded: tuple[str, bytes] = ("", b"")


def compile_superset(superset: str) -> Any:
    """RE2's program for `superset` (only where a match starts is read); google-re2 must be installed."""
    options = re2.Options()
    options.log_errors = False  # a bad pattern raises; RE2 need not also write to stderr
    options.never_capture = True
    options.max_mem = 64 << 20  # (the default 8 MB leaves a large alternation's DFA short of states)
    return re2.compile(superset.encode(), options)


def prefiltered(pattern: re.Pattern[str], superset: str, lead: int) -> re.Pattern[str]:
    """`pattern`, its scans first done by RE2 on `superset` (see above); returned for assignment."""
    if re2 is not None:
        _DFAS[id(pattern)] = (compile_superset(superset), lead)
    return pattern


def search(pattern: re.Pattern[str], text: str, pos: int = 0) -> re.Match[str] | None:
    """`pattern.search(text, pos)`, RE2 first where `pattern` was given a superset."""
    global _encoded  # replaced whole (one assignment), so a thread reads one pair or the other
    known = _DFAS.get(id(pattern))
    if known is None:
        return pattern.search(text, pos)
    dfa, lead = known
    if text.isascii():  # (a flag of the string: no scan) one byte a character, so offsets agree
        last, data = _encoded
        if last is not text:
            data = text.encode("ascii")
            _encoded = (text, data)
        place = dfa.search(data, max(0, pos - lead))
        return None if place is None else pattern.search(text, max(pos, place.start()))
    if pos:
        return pattern.search(text, pos)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: RE2 would read invalid UTF-8, so `re` alone
        return pattern.search(text)
    return None if dfa.search(data) is None else pattern.search(text)


def active() -> bool:
    """Whether RE2 does the first scans (google-re2 installed)."""
    return bool(_DFAS)
