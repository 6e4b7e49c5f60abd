"""The diff parser's fast paths give exactly what the plain, line by line ways give."""

from __future__ import annotations

from dataclasses import fields
from itertools import chain
from pathlib import PurePosixPath

from hypothesis import given, settings
from hypothesis import strategies as st
from unidiff.errors import UnidiffParseError

from bot.diff.header import bare_line
from bot.diff.parse import _hunks, _make_lines, _plain_hunks, _unidiff_hunks, parse_diff
from bot.diff.pathnames import base_name, components, suffix
from bot.diff.scan import HUNK_HEADER, count_hunk, first_chars, split_lines
from bot.types import Hunk, Line

# Lines a hunk body and what follows it are made of, the awkward ones included.
BODY = st.sampled_from([
    "+a\n", "-b\n", " c\n", "\n", "\r\n", "\\ No newline at end of file\n", "@@ -1 +1 @@\n",
    "diff --git a/x b/x\n", "--- a/x\n", "+++ b/x\n", "-- \n", "--\n", "\rx\n", "x\n", "+\r\n",
    "Binary files a and b differ\n", "+", "-",
])


@settings(max_examples=600, deadline=None)
@given(st.lists(BODY, max_size=14), st.integers(0, 6), st.integers(0, 6), st.text("+- \n\\", max_size=3))
def test_hunk_count_fast_path_agrees_with_the_walk(body: list[str], old_len: int, new_len: int, head: str) -> None:
    lines = split_lines(head + "\n" + f"@@ -1,{old_len} +1,{new_len} @@\n" + "".join(body))
    at = len(split_lines(head + "\n"))
    fast = count_hunk(lines, at, old_len, new_len, first_chars(lines))
    assert fast == count_hunk(lines, at, old_len, new_len)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab\r\n\x0b\x0c\x1c\x85\u2028 ", max_size=30))
def test_split_lines_is_a_split_on_newline_only(text: str) -> None:
    parts = text.split("\n")
    assert split_lines(text) == [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def test_parsed_lines_are_ordinary_lines() -> None:
    diff = ("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@ def f():\r\n a\r\n-b\r\n"
            "\\ No newline at end of file\n+B\n \n")
    lines = [ln for f in parse_diff(diff).files for h in f.hunks for ln in h.lines]
    assert lines == [Line(" ", 1, 1, "a"), Line("-", 2, None, "b"), Line("+", None, 2, "B"), Line(" ", 3, 3, "")]
    for line in lines:
        twin = Line(kind=line.kind, old_no=line.old_no, new_no=line.new_no, text=line.text)
        assert type(line) is Line and hash(line) == hash(twin) and repr(line) == repr(twin)
    # _make_lines sets the fields in this order.
    assert [f.name for f in fields(Line)] == ["kind", "old_no", "new_no", "text"]
    made = _make_lines(["+", "-"], [None, 4], [7, None], ["x", "y"])
    assert made == [Line("+", None, 7, "x"), Line("-", 4, None, "y")]


PATH_PARTS = st.sampled_from(["a", "b.c", ".", "..", "", "x.tar.gz", ".env", "d.", "é", " ", "\n", ".a.", "K.PY"])


@settings(max_examples=400, deadline=None)
@given(st.lists(PATH_PARTS, max_size=5))
def test_path_names_as_pure_posix_path(parts: list[str]) -> None:
    path = "/".join(parts)
    pure = PurePosixPath(path)
    assert (base_name(path), suffix(base_name(path)), components(path)) == (pure.name, pure.suffix, pure.parts)


# Texts of plain hunk lines: CR before the newline (CRLF) or inside, tabs, non-ASCII, the marker
# characters and look-alikes of headers after the kind character.
LINE_TEXT = st.text(alphabet=st.sampled_from(list("ab \t\r\\+-@é中\x0b\x85\u2028")), max_size=6)


@st.composite
def plain_hunks(draw: st.DrawFn) -> list[list[str]]:
    """Hunk texts (header and body lines, counted right) whose body lines all start with +, - or space."""
    hunks: list[list[str]] = []
    old = new = draw(st.integers(0, 3))
    for _ in range(draw(st.integers(1, 3))):
        kinds = draw(st.lists(st.sampled_from("+- "), max_size=8))
        body = [kind + draw(LINE_TEXT) + draw(st.sampled_from(["\n", "\r\n"])) for kind in kinds]
        old_len, new_len = sum(k != "+" for k in kinds), sum(k != "-" for k in kinds)
        old_part = f"{old}" if old_len == 1 and draw(st.booleans()) else f"{old},{old_len}"
        new_part = f"{new}" if new_len == 1 and draw(st.booleans()) else f"{new},{new_len}"
        section = draw(st.sampled_from(["", " def f():", " @@ x", "\r"]))
        hunks.append([f"@@ -{old_part} +{new_part} @@{section}\n", *body])
        old, new = old + old_len + draw(st.integers(0, 5)), new + new_len + draw(st.integers(0, 5))
    if draw(st.booleans()) and len(hunks[-1]) > 1:  # the input's last line without its newline
        hunks[-1][-1] = hunks[-1][-1].rstrip("\n")
    return hunks


@settings(max_examples=1500, deadline=None)
@given(plain_hunks())
def test_plain_hunks_read_directly_are_what_unidiff_makes_of_them(hunks: list[list[str]]) -> None:
    bodies = [text[1:] for text in hunks]
    try:
        expected = _unidiff_hunks("p.py", hunks)
    except UnidiffParseError:  # an empty hunk before another: parse_diff gives such files to unidiff
        assert not all(bodies)
        return
    if all(bodies):
        assert parse_diff("--- a/p.py\n+++ b/p.py\n" + "".join(chain.from_iterable(hunks))).files[0].hunks == expected
    direct = _plain_hunks("p.py", hunks, bodies)
    assert direct == expected
    assert all(type(line) is Line for hunk in direct for line in hunk.lines)


def test_the_corpus_parses_alike_both_ways() -> None:
    """Every file of the vendored corpus that the direct way reads gives what unidiff gives."""
    from bot.diff.scan import scan
    from tests.conftest import FIXTURES

    plain = 0
    for path in sorted((FIXTURES / "corpus").rglob("*.diff")) + sorted((FIXTURES / "diffs").glob("*.diff")):
        for section in scan(split_lines(path.read_bytes().decode("utf-8", "replace"))):
            bodies = [text[1:] for text in section.hunks]
            if section.problem is None and all(bodies) and bodies and \
                    not first_chars([ln for body in bodies for ln in body]).strip("+- "):
                expected = _unidiff_hunks("p", section.hunks)
                assert _plain_hunks("p", section.hunks, bodies) == expected, path
                # With what the scanner read of each hunk (its header's numbers, its first characters):
                assert section.kinds == [first_chars(body) for body in bodies], path
                assert _hunks("p", section.hunks, section.heads, section.kinds) == expected, path
                plain += 1
    assert plain > 200


def test_a_hunk_made_at_once_is_the_dataclass_made_field_by_field() -> None:
    """_plain_hunks stores a hunk's fields in one step (bot.types.stored_at_once): the same object as
    Hunk(...) gives, every field set (a field added to Hunk and not passed there fails here)."""
    (made,) = _plain_hunks("a.py", [["@@ -2,0 +3 @@ def f\n", "+x\n"]], [["+x\n"]])
    plain = Hunk("a.py", 2, 0, 3, 1, "@@ -2,0 +3 @@ def f", (Line(kind="+", old_no=None, new_no=3, text="x"),))
    assert type(made) is Hunk and made == plain and hash(made) == hash(plain)
    assert list(vars(made).items()) == list(vars(plain).items())
    assert list(vars(made)) == [f.name for f in fields(Hunk)]


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(["@@ -1 +1 @@", "@@ -10,2 +11,3 @@ def f():", "@@ -0,0 +1 @@", "@@ -1,2 +1,2 @@@",
                        "@@ -1 +1@@", "@@ -a +1 @@", " @@ -1 +1 @@", "@@ -1 +1 @@ x\ry"]),
       st.text("\r\n x", max_size=3))
def test_a_hunk_header_reads_the_same_with_its_line_ending(head: str, ending: str) -> None:
    """The scanner matches HUNK_HEADER on the line as split (ending kept) where it matched bare_line's."""
    line = head + ending
    if "\n" in line[:-1]:  # split_lines leaves a newline only at the end
        return
    bare, raw = HUNK_HEADER.match(bare_line(line)), HUNK_HEADER.match(line)
    assert (bare is None) == (raw is None)
    if bare is not None and raw is not None:
        assert bare.groups()[:4] == raw.groups()[:4]
