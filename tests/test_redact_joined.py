"""Redaction's shortcuts find what the patterns they were written from find.

`bot.redact.joined._chains` reads BELOW's matches from the lines that start with a quote instead
of scanning for BELOW itself (`:` and `=` are everywhere in code), `bot.redact.keys.pem_pair`
tries PEM_PAIR only at the starts of two long lines in a row instead of searching for it,
`bot.redact.scrub._dangles` searches DANGLING only in the lines that may end as it needs, a
hunk's cheap conditions for a split value are written as faster patterns of the same text, and
`joined._may_chain` turns a hunk away only where `_chains` finds nothing on either side. Here
each is run beside its pattern on generated text built from the characters that decide a match
(quotes, operators, spaces, line ends, continuations, base64 runs at the length bounds, GAP-long
runs of spaces), and on the labelled credential cases: the answers must be the same.
"""

from __future__ import annotations

import re
import subprocess
import sys

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.redact import joined
from bot.redact.keys import pem_pair as _pem_pair
from bot.redact.multiline import DANGLING
from bot.redact.patterns import GAP, PEM_PAIR, bounded
from bot.redact.scrub import _dangles, _may_dangle
from bot.types import Line
from tests.conftest import REPO_ROOT
from tests.reliability.secret_cases import load_cases

# Single characters, and whole line ends and starts (an operator or a literal, then the line end),
# so that the shapes that decide are drawn often.
PARTS = st.sampled_from(['"', "'", "`", '"""', ":", "=", "=>", ":=", "->", ">", " ", "\t", "\n", "\\", "+", "(",
                         ")", ",", "x", "token", "ghp_", "abc def", " " * GAP, " " * (GAP + 1), "\n" + " " * GAP,
                         "=\n", ":\n", "=>\n", ":= \n", "->\n", ">\n", "= \\\n", '"x"', "'y'", "`z`", '\n"a"',
                         "\n 'b'", "\n\t`c`", ' + "d"', "\n+ 'e'"])


def reference_chains(text: str) -> dict[int, int]:
    """`_chains` as it was: `BELOW.finditer`, then `CHAIN.finditer`."""
    found: dict[int, int] = {}
    for match in joined.BELOW.finditer(text):
        chain = joined._CHAIN_FROM_HERE.match(text, match.end())
        if chain is not None:
            found[chain.start()] = chain.end()
    for match in joined.CHAIN.finditer(text):
        found.setdefault(match.start(), match.end())
    return found


@settings(max_examples=3000, deadline=None)
@given(st.lists(PARTS, max_size=24))
@example(["x", "=", "\n", '"', "x", '"'])
@example(["x", ":=", " " * GAP, "\n", " " * GAP, "'", "x", "'"])
@example(["x", "=", " " * (GAP + 1), "\n", '"', "x", '"'])
@example(["=>", "\t", "\n", "`", "abc def", "`", " ", "+", "\n", "`", "x", "`"])
@example(["x", "=>", "\n", '"', "x", '"'])  # `=>`: BELOW's `=>?` takes the `>`
@example(["\n", '"', "x", '"'])  # a quote at a line start with nothing above: no operator
def test_chains_are_those_of_the_patterns(parts: list[str]) -> None:
    text = "".join(parts)
    assert joined._chains(text) == reference_chains(text)


def test_chains_of_the_labelled_cases_are_those_of_the_patterns() -> None:
    texts = ["\n".join(case.lines) for case in load_cases()]  # ../shared/secrets and issue 16's shapes
    assert any(joined.BELOW.search(text) for text in texts)  # the cases hold values below their names
    for text in texts:
        assert joined._chains(text) == reference_chains(text), text
        assert _pem_pair(text) == (PEM_PAIR.search(text) is not None), text
        assert not any(map(joined._chains, _sides(_hunk_lines(text)))) or _may_chain(text), text
        assert (joined._STARTS.search(text) is None) == (STARTS.search(text) is None), text
        pieces = text.split("\n")
        assert _dangles(pieces, text) == (_may_dangle(pieces) and DANGLING.search(text) is not None), text


BASE64_PARTS = st.sampled_from(["A" * 60, "b" * 61, "+/" * 30 + "==", "Zz09" * 20, '"', "'", " ", "\t", "\\n", ",", ";",
                                ")", "+", "\n", "x", "-----BEGIN", "=" * 3, "A" * 59])


@settings(max_examples=3000, deadline=None)
@given(st.lists(BASE64_PARTS, max_size=16))
@example(["A" * 60, "\n", "A" * 60])
@example(["x", "\n", ' "', "A" * 60, '"', " +", "\n", "'", "b" * 61])
@example(["A" * 59, "\n", "A" * 60])
def test_pem_pairs_are_those_of_the_pattern(parts: list[str]) -> None:
    text = "".join(parts)
    assert _pem_pair(text) == (PEM_PAIR.search(text) is not None)


# The hunk's necessary conditions as single patterns, as they were written before.
INLINE = re.compile(bounded(r"""["'`](?:[ \t]{0,GAP}(?:\+[ \t]{0,GAP})?)["'`]"""))
STARTS = re.compile(bounded(r"""\n[ \t]{0,GAP}(?:\+[ \t]{0,GAP})?["'`]"""))


@settings(max_examples=3000, deadline=None)
@given(st.lists(PARTS, max_size=24))
@example(['"', "+", "'"])
@example(["`", " " * GAP, "+", " " * GAP, '"'])
@example(["`", " " * (GAP + 1), '"'])
@example(["\n", " " * GAP, "+", "\t", "`"])
@example(["\n", "+", " " * (GAP + 1), "'"])
def test_hunk_conditions_are_those_of_the_patterns(parts: list[str]) -> None:
    text = "".join(parts)
    inline = any(quote in text and pattern.search(text) is not None for quote, pattern in joined._INLINES)
    assert inline == (INLINE.search(text) is not None)
    assert (joined._STARTS.search(text) is None) == (STARTS.search(text) is None)


def _hunk_lines(text: str, kinds: str = " ") -> list[Line]:
    """The lines of `text`, their kinds taken from `kinds` in turn."""
    return [Line(kinds[i % len(kinds)], None, None, line) for i, line in enumerate(text.split("\n"))]


def _sides(lines: list[Line]) -> list[str]:
    return ["\n".join(line.text for line in lines if line.kind != excluded) for excluded in ("+", "-")]


def _may_chain(text: str, kinds: str = " ") -> bool:
    lines = _hunk_lines(text, kinds)
    return joined._may_chain("\n" + "\n".join(line.text for line in lines), lines)


@settings(max_examples=3000, deadline=None)
@given(st.lists(PARTS, max_size=24), st.text(alphabet=" +-", min_size=1, max_size=8))
@example(['"', "x", '"', " ", '"', "y", '"'], " ")  # two literals on a line
@example(['"""', "doc", '"""'], " ")  # a one-line docstring: `""`, `"doc"`, `""`
@example(["x", "=", "\n", "x", "\n", "'", "v", "'"], " + ")  # the value below its name once the `+` line is gone
@example(['"a"', " +", "\n", "x", "\n", '"b"'], " -")  # the first literal ends the line above, on the new side
def test_a_hunk_may_chain_rejects_holds_no_value_on_either_side(parts: list[str], kinds: str) -> None:
    """What _may_chain rejects, joined_values need not read: _chains finds nothing on either side."""
    text = "".join(parts)
    if any(map(joined._chains, _sides(_hunk_lines(text, kinds)))):
        assert _may_chain(text, kinds), (text, kinds)


DANGLING_PARTS = st.sampled_from(["api_key:", "TOKEN =", "x", ":", "=", " >-", "|", "|+2", ">", "-", "+", "7", "(",
                                  "\\", " ", "\t", "\u00a0", " " * GAP, " " * (GAP + 1), "\n", "\r", "'", "# c"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.lists(DANGLING_PARTS, max_size=8).map("".join), min_size=1, max_size=6))
@example(["TOKEN = \\", "abc"])
@example(["api_key: >-\nabc", "x"])  # a piece with a line end of its own
@example(["x = 5", "key: |\n"])
@example(["key: (" + " " * (GAP + 1), "x"])
def test_dangling_lines_are_those_of_the_pattern(pieces: list[str]) -> None:
    probe = "\n".join(pieces)
    assert _dangles(pieces, probe) == (_may_dangle(pieces) and DANGLING.search(probe) is not None)


# joined's patterns with possessive runs (`{0,256}+`, Python 3.11+) and the same patterns without.
POSSESSIVE = [p for p in vars(joined).values() if isinstance(p, re.Pattern) and "}+" in p.pattern]


def _plain(pattern: re.Pattern[str]) -> re.Pattern[str]:
    return re.compile(pattern.pattern.replace("}+", "}"), pattern.flags)


def _same_matches(pattern: re.Pattern[str], text: str) -> None:
    plain = _plain(pattern)
    assert [(m.span(), m.groups()) for m in pattern.finditer(text)] == \
        [(m.span(), m.groups()) for m in plain.finditer(text)], (pattern.pattern, text)
    # As a match from a place too (_CHAIN_FROM_HERE, _CLOSE): from each place a run may start or end.
    for at in [i for i, c in enumerate(text) if c in "\"'`:=+( \t\n\\"][:300]:
        found, expected = pattern.match(text, at), plain.match(text, at)
        assert (found and (found.span(), found.groups())) == (expected and (expected.span(), expected.groups()))


@settings(max_examples=1500, deadline=None)
@given(st.lists(PARTS, max_size=24))
@example(['"', "x", '"', " " * GAP, "+", " " * GAP, "\n", " " * GAP, "'", "y", "'"])
@example(["\n", " " * (GAP + 1), '"', "x"])
def test_possessive_runs_find_what_the_plain_patterns_find(parts: list[str]) -> None:
    if sys.version_info >= (3, 11):
        assert len(POSSESSIVE) >= 10  # (the module compiles 13 patterns with runs)
    text = "".join(parts)
    for pattern in POSSESSIVE:
        _same_matches(pattern, text)


def test_possessive_runs_on_the_labelled_cases() -> None:
    for case in load_cases():
        text = "\n".join(case.lines)
        for pattern in POSSESSIVE:
            _same_matches(pattern, text)


def test_a_long_line_of_places_two_literals_might_meet_is_read_once() -> None:
    """_may_chain looks back from each in-line place for the quote its literal would start at, but
    only as far as the place before it: looking back to the line's start, a 4 MB line of `\\""`
    (every `""` a place, none after a literal: a backslash stands between) read the line once a
    place (minutes); read once, a few seconds. A limit only a quadratic reading reaches."""
    program = ("import sys\nfrom bot.redact.joined import _may_chain\nfrom bot.types import Line\n"
               "for unit in ('\\\\\"\" ', \"\\\\'' \", '\\\\`` '):\n"
               "    text = unit * 1_000_000\n"
               "    assert not _may_chain('\\n' + text, [Line('+', None, 1, text)])\n")
    try:
        done = subprocess.run([sys.executable, "-c", program], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=60, check=False)
    except subprocess.TimeoutExpired:
        raise AssertionError("_may_chain did not finish in 60 s on three 4 MB lines") from None
    assert done.returncode == 0, done.stderr
