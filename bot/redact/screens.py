"""Screens: cheap necessary conditions of every pattern that replaces a credential.

They run on every line of a large diff; where they find nothing, no pattern of
`bot.redact.patterns` or `bot.redact.token_shapes` replaces anything (see redact._redact_hunk and
redact._screened), so a diff without credentials costs a few scans of its text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from bot.redact.patterns import GAP, bounded
from bot.redact.prefilter import prefiltered
from bot.redact.token_shapes import ARGUMENT_CHARACTER, NEEDLES

# An "@" behind a character an e-mail's user or a URL's password may end in.
BEFORE_AT = r"""[^\s/:@"'<>,]"""  # (the character before the "@")
_AT = "@(?<=" + BEFORE_AT + "@)"
# The start of LITERAL_ARG (its quote after `(` or `, `), and all of it without its named groups.
_ARGUMENT_START = r"""["'](?:(?<=[(,]["'])|(?<=[(,] ["']))"""
_ARGUMENT = _ARGUMENT_START + bounded(ARGUMENT_CHARACTER + r"""{12,LONGEST}["']""")
# Where, in lowered text, anything the patterns replace begins (a token's fixed part, a needle
# of SHAPED or a Bearer/Basic scheme, an "@" as below, the ASCII word of a secret name
# secret_kind accepts, "aws" as `(?i)` matches it: "ſ" is an s): faster than LINE_SCREEN, it
# screens whole hunks; every private-key marker holds "private". Each alternative starts with a
# character, lookbehinds after it: so `re` skips, in C, the places where none can start.
_TOKEN_WORDS = ("aws", "aw\u017f", "akia", "asia", "abia", "acca", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
                "github_pat_", "hf_", "hooks.slack.com/", ".webhook.office.com/", "xox", "eyj")
# The words of secret names (as _NAME_SCREEN below has them): those that are one on their own,
# and those that need `key` after them.
_NAME_WORDS = ("pass", "pw", "auth", "secret", "token", "credential", "dockerconfigjson", "dockercfg")
_KEY_NAME_WORDS = ("api", "access", "private", "signing", "session", "encryption", "master")
_WORDS = (*_TOKEN_WORDS, *_NAME_WORDS, *_KEY_NAME_WORDS)


def _alternation(words: Iterable[str]) -> str:
    """One branch per first character: `re` tries the branches one by one wherever one may start."""
    groups: dict[str, set[str]] = {}
    for word in words:
        groups.setdefault(word[0], set()).add(re.escape(word[1:]))
    return "|".join(re.escape(first) + "(?:" + "|".join(sorted(rests, key=len)) + ")"
                    for first, rests in sorted(groups.items()))


_SPACES = bounded(r"[^\S\n]{0,GAP}")  # as many as ASSIGNMENT allows
# SHAPED's needles and the Bearer and Basic schemes. They add to the characters the scan stops
# at, which is what costs (lookbehinds or a deeper trie only added to it, measured).
_NEEDLES = (*NEEDLES, "bearer", "basic")
# LITERAL_ARG after its quote (lowered text: the letters' case does not matter to it).
_ARGUMENT_REST = bounded(r"""(?:(?<=[(,].)|(?<=[(,] .))""" + ARGUMENT_CHARACTER + r"""{12,LONGEST}["']""")


def _name_tail(group: str) -> str:
    """After a word of a secret name: the rest of the name (taken whole), quote, bracket, spaces and
    the operator, as _NAME_SCREEN has them. In the hunk screens, so that a line of `apikey`s costs
    a scan in C, not a match of the line screen at every word (issue 16)."""
    return rf"(?=(?P<{group}>[\w.$-]{{0,80}}))(?P={group})[\"']?\]?" + _SPACES + "[:=]"


def _names(tail: Callable[[str], str], group: str) -> str:
    """Each first character's words, then the tail (its groups named apart): every alternative
    starts with its own character, so `re` skips in C to the places where one may start (with a
    group of words first it tried the whole pattern at every character: 60 ns each)."""
    branches: list[str] = []
    for words, between in ((_NAME_WORDS, ""), (_KEY_NAME_WORDS, r"(?=[\w.$-]{0,80}?key)")):
        groups: dict[str, set[str]] = {}
        for word in words:
            groups.setdefault(word[0], set()).add(re.escape(word[1:]))
        for first, rests in sorted(groups.items()):
            alternatives = "|".join(sorted(rests, key=len))
            branches.append(re.escape(first) + "(?:" + alternatives + ")" + between
                            + tail(f"{group}{len(branches)}"))
    return "|".join(branches)


def _quoted_tail(group: str) -> str:
    """As _name_tail, then what CODE_LINE_SCREEN asks of an assignment where values need quotes: a
    type annotation maybe, the operator, spaces and the opening quote. (A line of `password = `
    in code or prose then costs no try of the line screen at each name: issue 16.)"""
    return (rf"(?=(?P<{group}>[\w.$-]{{0,80}}))(?P={group})[\"']?\]?"
            + "(?:" + _SPACES + ":" + _SPACES + rf"[a-z_](?=(?P<{group}_a>[\w.\[\]|, ]{{0,40}}))(?P={group}_a))?"
            + _SPACES + "(?::=|=>|=|:)" + _SPACES + r"[\"'`]")


_NAMES = _names(_name_tail, "hunk_")
_QUOTED_NAMES = _names(_quoted_tail, "quoted_")
# From the start of a _NAMES match to its operator, at most: the longest word, the rest, the quote
# and bracket, the spaces.
_REACH = max(map(len, (*_NAME_WORDS, *_KEY_NAME_WORDS))) + 80 + 2 + GAP
# From a _QUOTED_NAMES match's first `:` or `=` to its end, at most: the annotation's spaces, first
# character, rest and spaces, the operator, spaces and the quote.
_QUOTED_AFTER = GAP + 1 + 40 + GAP + 2 + GAP + 1
_CHUNK = 1024  # operators' span searched for names at a time (so a search's cost follows its distance)


_Found = tuple[str, int, "re.Match[str] | None"]  # (text, searched from, the first match there)
_NOTHING: _Found = ("", -1, None)
# Per `others` pattern of the screens (see Screen.search), keyed by its id: hashing a compiled
# pattern hashes its whole program (microseconds for these alternations, at every search). The
# patterns are the module's own, alive as long as it is, so an id names one for good.
_FOUND: dict[int, _Found] = {}


class Screen:
    """`others | names` as one screen, with `search` and `match` as a compiled pattern has them.

    A name screen tried at every word of a secret name reads the name's rest each time, only to
    find no operator after it: a line of `apikey`s cost 100 times unidiff's parse (issue 16). But
    every match of `names` holds an operator (`:` or `=`) at most _REACH characters from its start.
    So `names` is searched only from _REACH before the operators found by `str.rfind` (in C), in
    windows that cover every run of operators less than _REACH apart; the leftmost match of either
    screen is the leftmost of the whole. Linear: a window reads each character once, and
    consecutive windows overlap by _REACH characters, at most one per _CHUNK of operators' span.
    """

    def __init__(self, others: re.Pattern[str], names: re.Pattern[str], after: int = 0) -> None:
        self.others = others
        self._key = id(others)
        self.names = names
        self.after = after  # how far past its first operator a match of `names` may go on
        self.pattern = others.pattern + "|" + names.pattern

    def match(self, text: str, pos: int = 0) -> re.Match[str] | None:
        return self.others.match(text, pos) or self.names.match(text, pos)

    # What each screen last found in a text, from where (and the last window of operators):
    # scrub._screened searches one text again and again from later places, and no screen need read
    # again what it read up to the hit it found then (without this, a hunk of names and no other
    # hit was read once per name). One tuple each, replaced whole: safe to share between threads.
    _name: tuple[str, int, re.Match[str] | None] = ("", -1, None)
    _window: tuple[str, int, int, bool] = ("", 0, -1, False)  # (text, first place, last operator, gap after)

    def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
        # (Kept per pattern, not per screen: screens that share `others` share what it found.)
        last_text, last_pos, other = _FOUND.get(self._key, _NOTHING)
        if not (last_text is text and last_pos <= pos and (other is None or other.start() >= pos)):
            other = self.others.search(text, pos)
            _FOUND[self._key] = (text, pos, other)
        last_text, last_pos, name = self._name
        if not (last_text is text and last_pos <= pos and (name is None or name.start() >= pos)):
            name = self._names(text, pos)
            self._name = (text, pos, name)
        if name is None or (other is not None and other.start() <= name.start()):
            return other
        return name

    def _names(self, text: str, pos: int) -> re.Match[str] | None:
        """The leftmost match of `names` that starts at or after `pos`, or None.

        A window [first, end]: `end` an operator, and a match that starts in it before its last
        _REACH characters has its operator in it too; `gap`: no operator within _REACH after `end`.
        """
        start = pos
        while True:
            window_text, first, end, gap = self._window
            if not (window_text is text and first <= start and start + _REACH <= end):
                op = next_operator(text, start)
                if op < 0:
                    return None
                first = max(start, op - _REACH)
                end, gap = op, False  # extend while the next operator is within _REACH
                while end - op < _CHUNK:
                    stop = min(len(text), end + _REACH + 1)
                    later = max(text.rfind(":", end + 1, stop), text.rfind("=", end + 1, stop))
                    if later < 0:
                        gap = True
                        break
                    end = later
                self._window = (text, first, end, gap)
            # A match that starts up to `last` has its first operator in the window, and so it ends
            # in the range searched: the first found there is the leftmost. After a gap that is any
            # match starting in the window; else one that starts in its last _REACH characters may
            # have its operator in the next window (and one found there is looked for again).
            last = end if gap else end + 1 - _REACH
            found = self.names.search(text, max(start, first), end + 1 + self.after)
            if found is not None and found.start() <= last:
                return found
            start = max(start, first, last + 1)


# The next `:` and `=` found in a text, from where: (text, from, colon, equals), -1 for none.
_NEXT: tuple[str, int, int, int] = ("", -1, -1, -1)


def next_operator(text: str, pos: int) -> int:
    """The first `:` or `=` in `text` at or after `pos` (-1: none), what every match of _NAMES and of
    ASSIGNMENT holds. `str.find` (a `memchr`, much faster than a scan of `re`) for each; the answers
    are kept for the next call on the same text from a later place, so a text without `:` is not
    read to its end once per window (one tuple, replaced whole: safe to share between threads)."""
    global _NEXT
    last_text, since, colon, equals = _NEXT
    if not (last_text is text and since <= pos):
        since, colon, equals = pos, text.find(":", pos), text.find("=", pos)
    else:
        colon = text.find(":", pos) if 0 <= colon < pos else colon
        equals = text.find("=", pos) if 0 <= equals < pos else equals
    _NEXT = (text, pos, colon, equals)
    return equals if colon < 0 else colon if equals < 0 else min(colon, equals)
# Supersets of the hunk screens below for RE2 (bot.redact.prefilter), which has no lookbehinds: _AT
# and _ARGUMENT_REST with the characters their lookbehinds ask for (so a match starts up to _LEAD
# before the screen's), and 12 characters of the argument without its closing quote.
_AT_SUPERSET = BEFORE_AT + "@"
_ARGUMENT_SUPERSET = r"""[(,] ?["']""" + ARGUMENT_CHARACTER + "{12}"
_LEAD = 2
_CODE_QUOTES_SUPERSET = "[\"'`](?:" + _alternation(_NEEDLES) + ")"


def _screen(branches: tuple[str, ...], superset: tuple[str, ...]) -> re.Pattern[str]:
    return prefiltered(re.compile("|".join(branches)), "|".join(superset), _LEAD)


_ARGUMENTS = tuple(quote + _ARGUMENT_REST for quote in "\"'")
_TOKEN_OTHERS = re.compile("|".join((_alternation((*_TOKEN_WORDS, *_NEEDLES)), _AT, *_ARGUMENTS)))
_NAMES_SCREEN = re.compile(_NAMES)
HUNK_SCREEN = Screen(_TOKEN_OTHERS, _NAMES_SCREEN)
_QUOTED_NAMES_SCREEN = re.compile(_QUOTED_NAMES)
# For prose: token shapes anywhere, values quoted (PROSE_LINE_SCREEN).
PROSE_HUNK_SCREEN = Screen(_TOKEN_OTHERS, _QUOTED_NAMES_SCREEN, _QUOTED_AFTER)
# In code a token shape counts only at the start of a string literal (redact.QUOTED_SHAPED): so
# the scan of code, the bulk of most diffs, stops at quotes, not at almost every letter.
_QUOTE = r"""["'`]"""
# Each quote is its own branch: an alternative that starts with a class (`["'`]`) makes `re` give
# up skipping to the places where some branch may start, which doubles the cost of the scan.
_CODE_QUOTES = tuple(quote + "(?:" + _alternation(_NEEDLES) + ("|" + _ARGUMENT_REST) * (quote != "`") + ")"
                     for quote in "\"'`")
_CODE_OTHERS = re.compile("|".join((_alternation(_TOKEN_WORDS), _AT, *_CODE_QUOTES)))
CODE_HUNK_SCREEN = Screen(_CODE_OTHERS, _NAMES_SCREEN)
QUOTED_CODE_HUNK_SCREEN = Screen(_CODE_OTHERS, _QUOTED_NAMES_SCREEN, _QUOTED_AFTER)  # as CODE_LINE_SCREEN asks
# Where lowering changed the text's length (`İ` lowers to two characters), a name's rest in the
# lowered text is not the rest in the original: there the words alone are screened.
WIDE_HUNK_SCREEN = _screen((_alternation((*_WORDS, *_NEEDLES)), _AT, *_ARGUMENTS),
                           (_alternation((*_WORDS, *_NEEDLES)), _AT_SUPERSET, _ARGUMENT_SUPERSET))
WIDE_CODE_HUNK_SCREEN = _screen((_alternation(_WORDS), _AT, *_CODE_QUOTES),
                                (_alternation(_WORDS), _AT_SUPERSET, _CODE_QUOTES_SUPERSET, _ARGUMENT_SUPERSET))
# The same needles in the line screens, in any case there.
_NEEDLE_SCREEN = "(?i:" + _alternation(_NEEDLES) + ")"


# Every pattern needs one of these in the line, where HUNK_SCREEN found something: a token's
# fixed part (the same case) or a needle (any case; in code after a quote), LITERAL_ARG, an "@" behind a character an
# e-mail's user or a URL's password may end in (not after a space, as `@decorator`), "aws" (AWS
# secret), or a name secret_kind accepts followed by an assignment operator: each of its words is
# a substring of the name, spelled lower, Capitalized or UPPER, and the rest of the name, the
# closing quote or bracket and spaces come before the ':' or '='. `[^\S\n]` is `\s` that stays
# on one line of a joined hunk.
_TOKEN_SCREEN = (r"hooks\.slack\.com/|\.webhook\.office\.com/|A(?:KI|SI|BI|CC)A|gh[pousr]_|github_pat_|hf_|xox[abposr]-"
                 r"|eyJ|" + _AT + "|(?i:aws)|" + _ARGUMENT)
# Linear time (issue 16): every quantifier here is bounded, so a match tried at one place reads a
# bounded stretch of text, and no two neighbouring quantifiers can match the same character, so it
# reads it once. The rest of a name is read by a lookahead and taken whole (`(?=(?P<n>...))(?P=n)`,
# an atomic group `re` of Python 3.10 lacks): the operator after it is then tried once, not after
# every prefix of the name. ASSIGNMENT's name is at most 81 characters, so the rest after a secret
# word is at most 80; `key` must follow an api/access/... word within it (a lookahead, read once).
_NAME_REST = r"(?=(?P<name_rest>[\w.$-]{0,80}))(?P=name_rest)"
_NAME_SCREEN = (r"(?i:pass|pw|auth|secret|token|credential|dockerc(?:onfigjson|fg)"
                r"|(?:api|access|private|signing|session|encryption|master)(?=[\w.$-]{0,80}?key))"
                + _NAME_REST + r"[\"']?\]?")
LINE_SCREEN = re.compile(_TOKEN_SCREEN + "|" + _NEEDLE_SCREEN + "|" + _NAME_SCREEN + _SPACES + "[:=]")
# Where unquoted values are no literals (code: see redact._allows_bare_values), an assignment
# is replaced only with a quoted value: after the name, ASSIGNMENT's type annotation (taken whole,
# its trailing spaces with it) and operator (without their lookarounds), then the opening quote.
CODE_LINE_SCREEN = re.compile(
    _TOKEN_SCREEN + "|" + _QUOTE + _NEEDLE_SCREEN + "|" + _NAME_SCREEN
    + r"(?:" + _SPACES + ":" + _SPACES + r"[A-Za-z_](?=(?P<annotation>[\w.\[\]|, ]{0,40}))(?P=annotation))?"
    + _SPACES + r"(?::=|=>|=|:)" + _SPACES + r"[\"'`]")
# Prose (Markdown, reStructuredText ...): values need quotes as in code, token shapes do not.
PROSE_LINE_SCREEN = re.compile(CODE_LINE_SCREEN.pattern + "|" + _NEEDLE_SCREEN)
