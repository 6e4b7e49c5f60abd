"""The shortcuts that keep redaction's constant factor down find what the full passes find.

bot.redact tries some patterns only near a line's operators (`screens.Screen` for the secret-name
screen, `line._near_operators` for ASSIGNMENT, multiline's name search from before the last
operator) and others only where a needle is in the line (`line.redact_line`). Each rests on a
distance bound; here long runs of padding put names, operators and values right at and past
those bounds, and every shortcut is compared with the plain pass it replaces (issue 16).
"""

from __future__ import annotations

import re
from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.diff.parse import parse_diff
from bot.redact import line as line_patterns
from bot.redact import multiline
from bot.redact.line import _near_operators
from bot.redact.patterns import ASSIGNMENT, GAP, LONGEST
from bot.redact.screens import (
    _REACH,
    CODE_HUNK_SCREEN,
    HUNK_SCREEN,
    PROSE_HUNK_SCREEN,
    QUOTED_CODE_HUNK_SCREEN,
    Screen,
)
from bot.redact.scrub import _redact_line, _Tally, redact_input, redact_text
from bot.redact.token_shapes import SHAPED, has_shaped_needle
from bot.sources import ReviewInput
from bot.types import SourceInfo
from tests.reliability.hostile_lines import diff_text
from tests.test_redact import AWS_ID, AWS_SECRET, GHP, HF, SLACK
from tests.test_redact_screens import plain_line

SECRET = "q8Zk2Lm9Xp4Rt7Wv"
# A random-looking value as long as a value may be (LONGEST) and one longer (matched up to there).
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
LONG_VALUE = "".join(_ALPHABET[(i * 7919 + i // 62) % 62] for i in range(LONGEST))
# Pieces of names, operators and values, and padding as long as the bounds (and one past them).
PADDING = [" " * n for n in (1, GAP - 1, GAP, GAP + 1)] + ["a" * n for n in (79, 80, 81, _REACH, 900)] \
    + ["{a" * 200, "x" * (LONGEST - 1), "b" * (LONGEST + 1), "-token-" * 60, "apikey" * 70]
PIECES = st.sampled_from([
    *PADDING, "password", "token", "api_key", "apiKey", "aws_secret", "secret", "--token", "$token.",
    " = ", "=", ":", ": ", ":=", "=>", ": str = ", "'", '"', "(", ",", "\\", "\n", SECRET, "ghp_", "@", "a@b.org",
    "https://u:", "Bearer ", "-----BEGIN RSA PRIVATE KEY-----",
    # token shapes (SHAPED's needles: at a boundary or not, one with a lookbehind of its own,
    # a Kelvin sign that lowers to `k`)
    "aws_secret_access_key", "AWS_" + "x" * 60 + "_SECRET", AWS_SECRET, AWS_SECRET + "a",
    HF, SLACK, "sk-proj-" + LONG_VALUE[:60], "npm_" + LONG_VALUE[:36], "_" + HF, "x" + SLACK,
    "abcdefghijklmn.atlasv1." + LONG_VALUE[:64], "abc1Q~" + LONG_VALUE[:33], "\u212aAIza" + LONG_VALUE[:35], "x" * 40,
])
SPACES = st.sampled_from(["", " ", " " * (GAP - 1), " " * GAP, " " * (GAP + 1)])
# An assignment whose parts are as long as the patterns allow (and one more): name, quote,
# annotation, spaces and operator, spaces, value; somewhere among other pieces.
ASSIGNED = st.tuples(
    st.sampled_from(["password", "x" * 60 + "_token", "token" + "a" * 75, "token" + "a" * 76, "apikey", "private"
                     + "_" * 70 + "key", "dockerconfigjson" + "s" * 64]),
    st.sampled_from(["", "'", '"', "']", '"]']), SPACES,
    st.sampled_from(["", ": Optional[str, int]" + " " * 20, ": " + "a" * 40 + " " * GAP]),
    st.sampled_from(["=", ":", ":=", "=>"]), SPACES,
    st.sampled_from([f"'{SECRET}'", SECRET, f"'{LONG_VALUE}'", LONG_VALUE + "Q"]),
).map("".join)
# An AWS secret with its name, spaces and operator as long as they may be (and one more); the last
# name is one only the AWS pattern knows (`sk`, not a secret word of ASSIGNMENT's).
AWS_NAMES = ["aws_secret", "aws" + LONG_VALUE[:28] + "sk" + LONG_VALUE[100:135], "aws_" + LONG_VALUE[:27] + "sk"]
AWS_ASSIGNED = st.tuples(st.sampled_from(AWS_NAMES),
                         st.sampled_from(["", "'", '"']), SPACES, st.sampled_from(["=", ":", ":=", "=>"]), SPACES,
                         st.sampled_from(["", "'"]), st.just(AWS_SECRET)).map("".join)
TEXTS = st.lists(PIECES | ASSIGNED | AWS_ASSIGNED, max_size=7).map("".join)


def _tally_sub(text: str, bare: bool) -> tuple[str, int]:
    tally = _Tally()
    return ASSIGNMENT.sub(lambda m: line_patterns.replace_assignment(m, bare, tally), text), tally.secrets


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.booleans())
def test_assignment_near_operators_is_its_sub(text: str, bare: bool) -> None:
    tally = _Tally()
    near = _near_operators(ASSIGNMENT, lambda m: line_patterns.replace_assignment(m, bare, tally), text)
    assert (near, tally.secrets) == _tally_sub(text, bare)


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.integers(min_value=0, max_value=3000))
def test_hunk_screens_find_the_leftmost_place_the_whole_alternation_finds(text: str, pos: int) -> None:
    lowered = text.lower()
    for screen in (HUNK_SCREEN, PROSE_HUNK_SCREEN, CODE_HUNK_SCREEN, QUOTED_CODE_HUNK_SCREEN):
        whole = re.compile(screen.pattern)
        fresh = Screen(screen.others, screen.names, screen.after)  # (no answer remembered from another example)
        for at in (pos, pos // 2, pos + 700):  # later and earlier places in one text: the memo's cases
            found, expected = fresh.search(lowered, at), whole.search(lowered, at)
            assert (found and found.start()) == (expected and expected.start())


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_a_dangling_name_is_found_from_before_the_last_operator(text: str) -> None:
    line = text.replace("\n", " ")
    last = max(line.rfind(":"), line.rfind("="))
    head = multiline._HEAD.search(line)
    assert (head and head.start()) == ((near := multiline._HEAD.search(line, max(0, last - multiline._HEAD_REACH)))
                                       and near.start())


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.booleans(), st.sampled_from([None, True, False]))
def test_gated_line_is_every_pattern_on_the_line(text: str, bare: bool, shapes: bool | None) -> None:
    for line in text.split("\n"):
        fast, plain = _Tally(), _Tally()
        assert (_redact_line(line, bare, fast, shapes), fast.secrets, fast.emails) == \
            (plain_line(line, bare, plain, shapes), plain.secrets, plain.emails)


def test_a_secret_far_from_other_operators_is_still_replaced() -> None:
    # Two windows: an operator far before the assignment, and the assignment after long padding.
    text = "x = 1 " + "a " * 5000 + f"password = '{SECRET}'"
    assert _redact_line(text, False, _Tally()).endswith("password = '<PASSWORD>'")
    assert HUNK_SCREEN.search(text.lower()) is not None


def test_shaped_needles_where_lowering_moves_a_boundary() -> None:
    # A Kelvin sign is no word character, but it lowers to `k`: the token after it still counts.
    text = "\u212aAIza" + "Xk29LmQp7RtVw3ZaB8nYc4DeF6gH1jK0sU5" + " x"
    assert SHAPED.search(text) and has_shaped_needle(text, text.lower())
    assert "<KEY>" in _redact_line(text, True, _Tally())
    assert not has_shaped_needle("a" * 1000 + "=" * 1000, "a" * 1000 + "=" * 1000)


def test_an_aws_secret_at_the_edges_of_its_window_is_replaced() -> None:
    # The name and spaces as long as the pattern allows, far from anything else on a long line:
    # the windows around the operators are then a small part of it, and are all that is searched.
    replaced = 0
    for name in AWS_NAMES:
        for spaces in ("", " " * GAP):
            for operator, after in product(("=", ":=", "=>"), ("' ", "A")):  # (`A`: 41 characters, no key)
                value = spaces + operator + spaces + "'" + AWS_SECRET + after
                line = "x" * 20_000 + " " + name + "'" + value + "y" * 20_000
                redacted = _redact_line(line, False, _Tally())
                assert redacted == plain_line(line, False, _Tally())
                replaced += AWS_SECRET not in redacted
    assert replaced >= len(AWS_NAMES) * 3


def test_a_token_after_a_character_that_lowers_to_a_letter_is_replaced() -> None:
    # The hunk screens look for a token's start after no letter or digit, in lowered text; the
    # Kelvin sign is no letter to the token's own pattern, but lowers to `k`: screened wide there.
    for before, line in product(("\u212a", " ", "("), ("x = '{}" + GHP + "'", "y = {}" + AWS_ID, "{}" + HF)):
        line = line.format(before)
        assert redact_text(line)[1] == 1
        diff = parse_diff(diff_text({"a.py": line, "b.env": line, "c.md": line}))
        shown = redact_input(ReviewInput(info=SourceInfo(kind="diff"), diff=diff), enabled=True).review_input
        texts = [ln.text for f in shown.diff.files for h in f.hunks for ln in h.lines]
        in_code = texts[0] if HF in line else ""  # (unquoted, a token shape in code is an identifier)
        assert texts and not any(GHP in t or AWS_ID in t or HF in t for t in texts if t != in_code), texts
