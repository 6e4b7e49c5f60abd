"""The diff parser's fast paths give exactly what the plain, line by line ways give."""

from __future__ import annotations

from dataclasses import fields
from pathlib import PurePosixPath

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.diff.parse import _make_lines, parse_diff
from bot.diff.pathnames import base_name, components, suffix
from bot.diff.scan import count_hunk, first_chars, split_lines
from bot.types import Line

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
