"""A secret's name on one line and its value on the lines after it.

Three shapes put them apart: a YAML block scalar (`api_key: >-` and the value indented below),
parenthesised concatenation (`TOKEN = (` then `"abc"` `"def"` `)`), and a backslash
continuation (`export TOKEN=\\` then the value, or `"abc" \\` then `"def"`). A line-by-line
matcher sees a name with no value, then values with no name. Here the name decides: every
literal of the continued value is replaced, whatever it looks like, since a piece of a
split secret need not look random on its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.redact.patterns import GAP, KEY, PASSWORD, bounded, is_placeholder, secret_kind

# Linear time: every quantifier bounded, and no two neighbours compete for one character (see
# patterns.LONGEST); spaces around `\\`, `+` and `,` are taken before them or after, never both.
# A line that ends in an assignment whose value continues below (`re.M`: one search over a hunk).
DANGLING = re.compile(bounded(r"""(?:[:=][^\S\n]{0,GAP}(?:[>|][-+]?[0-9]?|\()|\\)[^\S\n]{0,GAP}$"""), re.M)
# The name starts a word (as in ASSIGNMENT) and is taken whole; the rest, spaces included, runs
# from the last operator of the line to its end.
_HEAD = re.compile(bounded(r"""(?=[A-Za-z_$@])(?<![\w.$])(?<![\w.$]-)"""  # (the lookahead first: see ASSIGNMENT)
                           r"""(?=(?P<name>[A-Za-z_$@][\w.$-]{0,80}))(?P=name)["']?\]?"""
                           r"""\s{0,GAP}(?::=|=|:)(?P<rest>[^=:]{0,LONGEST})$"""))
_HEAD_REACH = 81 + 2 + GAP + 2  # a name, its quote and bracket, spaces, the operator's first character
_LITERAL = re.compile(bounded(r"""(?P<q>["'`])(?P<value>[^"'`\n]{1,LONGEST})(?P=q)"""))
_BARE = re.compile(bounded(r"""^(?P<lead>\s{0,GAP})(?P<value>[^\s"'`\\]{1,LONGEST})"""
                           r"""(?P<trail>\s{0,GAP}(?:\\\s{0,GAP})?)$"""))
_TEMPLATE = ("{{", "${", "$(", "<%")  # a value filled in elsewhere is no secret
# A continued line that is nothing but one value (a literal or a bare word, maybe `+`, `,` or `\`
# after it): `-H "Accept: $FORMAT" \` is the next argument of a command, not the rest of a value.
_ONLY_VALUE = re.compile(bounded(r"""^\s{0,GAP}(?:(["'`])[^"'`\n]{0,LONGEST}\1|[^\s"'`\\]{1,LONGEST})\s{0,GAP}"""
                                 r"""(?:[+,)]\s{0,GAP})?(?:\\\s{0,GAP})?$"""))
# What may follow the operator on the name's line: nothing, or a first literal piece, then the mark.
_OPENING = re.compile(bounded(r"""^(?:(["'`])[^"'`\n]{0,LONGEST}\1\s{0,GAP}(?:\+\s{0,GAP})?)?"""
                              r"""(?:[>|][-+]?[0-9]?|\(|\\)$"""))
MAX_LINES = 40  # how far below its name a value may go on


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


def _literals(text: str, placeholder: str) -> str:
    def swap(match: re.Match[str]) -> str:
        value = match.group("value")
        if value in (KEY, PASSWORD) or any(t in value for t in _TEMPLATE) or is_placeholder(value):
            return match.group(0)
        return match.group("q") + placeholder + match.group("q")
    return _LITERAL.sub(swap, text)


def _whole(text: str, placeholder: str) -> str:
    """A line that is all value (a YAML block's line, a shell continuation): the value goes."""
    if _LITERAL.search(text):
        return _literals(text, placeholder)
    match = _BARE.match(text)
    if match is None or match.group("value") in (KEY, PASSWORD) or any(t in text for t in _TEMPLATE):
        return text if match is None or text.strip() in (KEY, PASSWORD) else _keep_words(text, placeholder)
    return match.group("lead") + placeholder + match.group("trail")


def _keep_words(text: str, placeholder: str) -> str:
    """A value line with a template in it stays; one with spaces (a folded passphrase) goes whole."""
    if any(t in text for t in _TEMPLATE) or not text.strip():
        return text
    return text[:_indent(text)] + placeholder


def _value_lines(texts: Sequence[str], i: int, rest: str) -> range:
    """The lines below line `i` that hold the rest of its value."""
    end = min(len(texts), i + 1 + MAX_LINES)
    if rest.startswith((">", "|")):  # YAML block scalar: the lines indented deeper than the name's
        base, j = _indent(texts[i]), i + 1
        while j < end and (not texts[j].strip() or _indent(texts[j]) > base):
            j += 1
        return range(i + 1, j)
    if rest.startswith("("):  # up to the closing parenthesis
        j = i + 1
        while j < end and ")" not in texts[j]:
            j += 1
        return range(i + 1, min(j + 1, end))
    j = i + 1  # a backslash: the next line, and the ones after it while each ends in one too
    while j < end and texts[j].rstrip().endswith("\\"):
        j += 1
    return range(i + 1, min(j + 1, end))


def continued_values(texts: Sequence[str]) -> tuple[dict[int, str], int]:
    """({line index: redacted text}, values replaced) for secret names whose value continues below."""
    changed: dict[int, str] = {}
    count = 0
    consumed = -1  # the last line read as the continued value of a secret name
    for i, text in enumerate(texts):
        # A line already read as part of a value is not read again as a name of its own (it went
        # with the value, and what it continues into is inside that value too): each line is read
        # once, not once per name above it (a hunk of `TOKEN=\\` lines).
        if i <= consumed or DANGLING.search(text) is None:
            continue
        # _HEAD's operator is the line's last `:` or `=` (its rest holds none), its name starts at
        # most _HEAD_REACH before it: searched from there, a long line is not tried at every word.
        last = max(text.rfind(":"), text.rfind("="))
        head = _HEAD.search(text, max(0, last - _HEAD_REACH))
        kind = secret_kind(head.group("name")) if head else None
        if head is None or kind is None:
            continue
        rest = head.group("rest").strip()
        if not _OPENING.match(rest):
            continue
        replaced = False  # (a flag, not a copy of `changed` to compare: that was quadratic in the lines)
        first = text[:head.start("rest")] + _literals(head.group("rest"), kind)
        if first != text and first != changed.get(i):  # `TOKEN = "abc" \`: the first piece is on the name's line
            changed[i] = first
            replaced = True
        block = rest.startswith((">", "|"))
        for j in _value_lines(texts, i, rest):
            current = changed.get(j, texts[j])
            if not block and not _ONLY_VALUE.match(current):
                break
            consumed = j
            line = _literals(current, kind) if rest.startswith("(") else _whole(current, kind)
            if line != current:
                changed[j] = line
                replaced = True
        count += replaced and KEY not in rest and PASSWORD not in rest  # else counted already
    return changed, count
