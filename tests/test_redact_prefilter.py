"""RE2's first scans change nothing the redactor finds (bot.redact.prefilter, bot.redact.joined_gate).

The prefilter must find, with `re` after RE2, exactly what each wide screen finds alone, from any
place, in any text; the joined-value gate may turn a hunk away only where bot.redact.joined, asked
without it, changes no line. Both are run on generated text built from what decides a match: the
screens' words whole and split between literals, token needles, quotes, `(`, `,`, `@` and what
stands before it, runs of the argument class at its 12-character bound, line ends and
continuations, non-ASCII letters (the one `ſ` the screens hold, one that lowers to two
characters), and on the labelled credential cases.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.redact import prefilter
from bot.redact.joined import joined_values
from bot.redact.joined_gate import joined_gate, joined_line_redactor, may_hold_match
from bot.redact.line import Tally
from bot.redact.screens import WIDE_CODE_HUNK_SCREEN, WIDE_HUNK_SCREEN
from bot.redact.scrub import _hunk_text, _redact_hunk, _redact_lines
from bot.types import Hunk, Line
from tests.conftest import REPO_ROOT
from tests.reliability.secret_cases import bot_redactor, load_cases

pytestmark = pytest.mark.skipif(not prefilter.active(), reason="google-re2 is not installed: `re` scans alone")

SECRET_HALVES = ("q8Zk2Lm9", "Xp4Rt7Wv")  # a random-looking value, split
GITHUB_TOKEN = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z"
PARTS = st.sampled_from([
    '"', "'", "`", '"""', " ", "\t", "\n", "\\\n", " + ", "+", "(", ")", ",", ", ", "(\"", "@", "x@", " @",
    ":", "=", " = ", ": ", "= (", "token", "to", "ken", "pass", "word", "api", "_key", "gh", "p_", "ghp_",
    "xox", "b-", "sk-", "akia", "AKIA", "aws", "hooks.slack.com/", "eyJ", "bearer ", "secret", "PASSWORD",
    "abcdefghijkl", "abcdef", "ghijkl", "0123456789ab", *SECRET_HALVES, GITHUB_TOKEN[:6], GITHUB_TOKEN[6:],
    "x", "def f():", "ſ", "İ", "é", "user", "example.com", "password = 'q8Zk2Lm9Xp4Rt7Wv'", GITHUB_TOKEN,
    "user@example.com", "AKIAIOSFODNN7Q2W3E4R", "-----BEGIN RSA PRIVATE KEY-----", "A" * 64,
])
KINDS = st.text(alphabet=" +-", min_size=1, max_size=6)
KIND_OF = {"code": (False, False, False), "config": (True, False, True), "prose": (False, False, True)}


@settings(max_examples=3000, deadline=None)
@given(st.lists(PARTS, max_size=30), st.integers(min_value=0, max_value=40), st.booleans())
@example(['(', '"', "abcdefghijkl", "x", '"'], 2, False)  # the argument's match starts 2 after the superset's
@example(["x@", "example.com"], 1, True)  # `@`'s character before it is before `pos`
def test_the_prefilter_finds_what_each_wide_screen_finds(parts: list[str], pos: int, lower: bool) -> None:
    text = "".join(parts)
    text = text.lower() if lower else text
    for screen in (WIDE_HUNK_SCREEN, WIDE_CODE_HUNK_SCREEN):
        expected = screen.search(text, pos)
        found = prefilter.search(screen, text, pos)
        assert (found and found.span()) == (expected and expected.span()), (screen is WIDE_HUNK_SCREEN, text, pos)


def _lines(text: str, kinds: str) -> list[Line]:
    return [Line(kinds[i % len(kinds)], None, None, line) for i, line in enumerate(text.split("\n"))]


def _gate_is_sound(lines: list[Line], kind_name: str) -> None:
    kind = KIND_OF[kind_name]
    ungated = joined_values(lines, joined_line_redactor(kind))
    gated = joined_values(lines, joined_line_redactor(kind), joined_gate(kind))
    assert gated == ungated, (kind_name, [(line.kind, line.text) for line in lines])


@settings(max_examples=4000, deadline=None)
@given(st.lists(PARTS, max_size=30), KINDS, st.sampled_from(sorted(KIND_OF)))
@example(['tok = ("', "gh", '" "', "p_" + GITHUB_TOKEN[4:], '")'], " ", "code")  # a token split in its needle
@example(["x = '", SECRET_HALVES[0], "' + '", SECRET_HALVES[1], "'"], " ", "code")  # nothing names it, no shape
@example(["f(", '"', "abcdef", '" "', "ghijkl", '"', ")"], " ", "code")  # the argument is 12 characters only joined
@example(["pass", '"', "word = ", '"', "\n", '"', SECRET_HALVES[0], '"'], " ", "config")
@example(["x = (", '"', "abc", '"', ")", "xox", "b-"], " ", "code")  # the `)` after the value goes: `"xoxb-`
@example(['tok = ("gh" +', "\n", "junk", "\n", '"p_' + GITHUB_TOKEN[4:] + '")'], " - ", "code")  # a line between
@example(['u = "https://user:', SECRET_HALVES[0], '" "@db.example.com"'], " ", "code")  # `@` after a junction
def test_a_hunk_the_gate_turns_away_has_no_joined_value_to_change(parts: list[str], kinds: str, kind: str) -> None:
    _gate_is_sound(_lines("".join(parts), kinds), kind)


def _hunk(lines: list[Line]) -> Hunk:
    return Hunk(path="x", old_start=1, old_len=len(lines), new_start=1, new_len=len(lines),
                header=f"@@ -1,{len(lines)} +1,{len(lines)} @@ def f():", lines=tuple(lines))


def _hunk_is_redacted_as_without_the_gate(hunk: Hunk, kind_name: str) -> None:
    """_redact_hunk, which returns a hunk the gate turns away untouched, against the way there without
    the gate: the joined values asked without it, then the screens and patterns of every line."""
    kind = KIND_OF[kind_name]
    gated_places: set[tuple[str, str, int]] = set()
    gated_tally = Tally()
    gated = _redact_hunk(hunk, kind, gated_places, gated_tally)
    joined, values = joined_values(hunk.lines, joined_line_redactor(kind))
    lines = tuple(replace(line, text=joined[i]) if i in joined else line for i, line in enumerate(hunk.lines))
    changed = replace(hunk, lines=lines) if joined else hunk
    tally = Tally(secrets=values)
    places: set[tuple[str, str, int]] = set()
    plain = _redact_lines(changed, kind, places, tally, _hunk_text(changed, kind[1]))
    assert (gated.header, gated.lines, gated_tally.secrets, gated_tally.emails) == \
        (plain.header, plain.lines, tally.secrets, tally.emails), (kind_name, hunk.lines)


@settings(max_examples=3000, deadline=None)
@given(st.lists(PARTS, max_size=30), KINDS, st.sampled_from(sorted(KIND_OF)))
@example(["password = 'q8Zk2Lm9Xp4Rt7Wv'"], " ", "code")
@example(['tok = ("gh" +', "\n", "junk", "\n", '"p_' + GITHUB_TOKEN[4:] + '")'], " - ", "code")
def test_a_hunk_the_gate_turns_away_is_redacted_as_without_it(parts: list[str], kinds: str, kind: str) -> None:
    _hunk_is_redacted_as_without_the_gate(_hunk(_lines("".join(parts), kinds)), kind)


def test_the_gate_changes_nothing_on_the_labelled_cases() -> None:
    cases = load_cases()
    assert len(cases) > 100
    for case in cases:
        for kind in KIND_OF:
            _gate_is_sound(_lines("\n".join(case.lines), " "), kind)
            _hunk_is_redacted_as_without_the_gate(_hunk(_lines("\n".join(case.lines), " ")), kind)


def test_the_gate_turns_away_a_docstring_and_keeps_a_split_token() -> None:
    """It checks something: a hunk of ordinary code with a docstring (which bot.redact.joined reads
    as a value below `def ...:`) is turned away, and one with a token split in two is not."""
    docstring = 'def render(self):\n    """Render the template."""\n    return self.body\n'
    assert not may_hold_match(("\n" + docstring).lower(), code=True)
    split = 'TOKEN = ("' + GITHUB_TOKEN[:10] + '"\n         "' + GITHUB_TOKEN[10:] + '")\n'
    assert may_hold_match(("\n" + split).lower(), code=True)
    assert joined_values(_lines(split, " "), joined_line_redactor(KIND_OF["code"]))[1] == 1
    assert not re.search("ghp_[A-Za-z0-9]{30}", split)  # no line holds the token whole


_WITHOUT_RE2 = """
import json, sys
sys.modules["re2"] = None  # as on a platform without google-re2's wheel: `import re2` fails
from bot.redact import prefilter
from tests.reliability.secret_cases import bot_redactor, load_cases
assert not prefilter.active()
print(json.dumps([bot_redactor(case.path, case.lines) for case in load_cases()]))
"""


def test_without_re2_the_redactor_finds_the_same() -> None:
    """Without google-re2 `re` does every scan, as before it: the labelled cases come out the same."""
    run = subprocess.run([sys.executable, "-c", _WITHOUT_RE2], cwd=REPO_ROOT, capture_output=True, text=True,
                         check=False, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    expected = [list(bot_redactor(case.path, case.lines)) for case in load_cases()]
    assert json.loads(run.stdout) == expected
