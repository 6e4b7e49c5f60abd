"""Private-key blocks in diff lines: which lines belong to one, and what of a line is key material.

A block's BEGIN and END markers stay (they are public structure and tell the model what was
there); everything between becomes `<KEY>`. `bot.redact.scrub` decides where to look.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import accumulate
from operator import and_

from bot.redact.patterns import (
    BASE64_RUN,
    KEY,
    KEY_BEGIN,
    KEY_END,
    MASK_LEAD,
    MASK_TRAIL,
    MIN_BARE_PEM_LINES,
    PEM_BODY,
    PEM_LONG,
    PEM_PAIR,
    PEM_SECOND_LINE,
    PEM_WIDE,
    PUBLIC_PEM_STARTS,
)
from bot.redact.prefilter import search as prefiltered_search


def _mask(segment: str) -> str:
    """Key material in a segment -> `<KEY>`, keeping indentation, quotes and `\\n` escapes around it."""
    lead = MASK_LEAD.match(segment).end()  # type: ignore[union-attr]  # (it matches the empty string)
    trail = MASK_TRAIL.match(segment[:lead - 1 if lead else None:-1]).end()  # type: ignore[union-attr]
    if lead + trail >= len(segment):
        return segment
    return segment[:lead] + KEY + segment[len(segment) - trail:]


def _begin_of_key(text: str) -> re.Match[str] | None:
    """A BEGIN marker followed by key material (a string constant holding only the marker is not)."""
    begin = KEY_BEGIN.search(text)
    if begin is None:
        return None
    rest = text[begin.end():]
    end = KEY_END.search(rest)
    rest = (rest[:end.start()] if end else rest).strip()
    return begin if not rest or rest.startswith(("\\n", "\\r")) or BASE64_RUN.match(rest) else None


def redact_key_line(text: str) -> str:
    """A line inside a private-key block: BEGIN/END markers stay, everything between becomes `<KEY>`."""
    begin = _begin_of_key(text)
    end = KEY_END.search(text, begin.end() if begin else 0)
    if begin and end:
        return text[:begin.end()] + _mask(text[begin.end():end.start()]) + text[end.start():]
    if begin:
        return text[:begin.end()] + _mask(text[begin.end():])
    if end:
        return _mask(text[:end.start()]) + text[end.start():]
    return _mask(text)


def key_block_lines(texts: Sequence[str], bare_runs: bool = False) -> tuple[set[int], int]:
    """Indices of lines inside private-key blocks, and how many blocks.

    A block cut by the edge of the text (its BEGIN before a hunk, or its END after it) still
    covers every line from the edge. With `bare_runs` (a key file's own diff), a run of
    full-width base64 lines with neither marker (a hunk inside the key) counts as a block
    too; elsewhere such runs are certificates or data, which are not secret.
    """
    marked: set[int] = set()
    blocks = 0
    inside = False
    run: list[int] = []  # consecutive base64 lines outside any block

    def close_run(end_seen: bool) -> None:
        nonlocal blocks
        if run and texts[run[0]].lstrip(" \t\"'`").startswith(PUBLIC_PEM_STARTS):
            run.clear()  # a PGP public key or encrypted message, armoured: public, or no key at all
            return
        wide = sum(1 for j in run if PEM_WIDE.match(texts[j]))
        long = any(PEM_LONG.search(texts[j]) for j in run)
        if (end_seen and long) or (bare_runs and wide >= MIN_BARE_PEM_LINES):
            marked.update(run)
            blocks += 0 if end_seen else 1
        run.clear()

    start = 0  # the BEGIN line of the block `inside` is in
    for i, text in enumerate(texts):
        if inside:
            marked.add(i)
            inside = KEY_END.search(text) is None
            if not inside and not any(PEM_LONG.search(t) for t in texts[start:i + 1]):
                marked.difference_update(range(start, i + 1))  # `BEGIN / anything / END`: an example, no key
                blocks -= 1
            continue
        begin = _begin_of_key(text)
        if begin:
            close_run(end_seen=False)
            marked.add(i)
            blocks += 1
            start = i
            inside = KEY_END.search(text, begin.end()) is None
            if not inside and not PEM_LONG.search(text):  # both markers and nothing between them
                marked.discard(i)
                blocks -= 1
        elif KEY_END.search(text) and any(PEM_LONG.search(texts[j]) for j in run):
            close_run(end_seen=True)  # the block's BEGIN lies before this text
            marked.add(i)
            blocks += 1
        elif PEM_BODY.match(text):
            run.append(i)
        else:
            close_run(end_seen=False)
    close_run(end_seen=False)
    return marked, blocks


def pem_pair(body: str) -> bool:
    """Whether PEM_PAIR matches `body`. A match starts at a line's start (`^`, re.M) and holds 60
    characters of that line and 60 of the next, so it is tried only there, as a match: a search
    tries `^` at every character of the text (0.1x unidiff's parse on the corpus diff, measured).
    The pairs of long lines in a row are found in C loops (most hunks of code have none).
    First, as cheaper than both, a search for the part of PEM_PAIR after its line end: most hunks
    of code hold no line that starts with 60 base64 characters (a scan that stops at line ends).
    tests/test_redact_joined.py compares the two."""
    if prefiltered_search(PEM_SECOND_LINE, body) is None:
        return False
    lengths = list(map(len, body.split("\n")))
    long = list(map((60).__le__, lengths))
    pairs = list(map(and_, long, long[1:]))  # (line i and line i + 1 both long)
    if True not in pairs:
        return False
    starts = list(accumulate(map((1).__add__, lengths), initial=0))
    at = pairs.index(True)
    while True:
        if PEM_PAIR.match(body, starts[at]) is not None:
            return True
        try:
            at = pairs.index(True, at + 1)
        except ValueError:
            return False
