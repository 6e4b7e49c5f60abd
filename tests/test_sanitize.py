"""sanitize_message: model text made safe for GitHub comments, reports and Actions logs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.findings.grounding import sanitize_message
from bot.findings.sanitize import MAX_MESSAGE_CHARS, ZWSP
from tests.render_check import render_problems

MARKER = "<!-- review-bot:fp=3f2a9c01d4e5 -->"


def test_plain_message_unchanged() -> None:
    text = "`x` may be None here; check it before calling `x.strip()`."
    assert sanitize_message(text) == text


@pytest.mark.parametrize("forged", [
    MARKER,
    "<!--review-bot:fp=3f2a9c01d4e5-->",
    "<!-- review-bot:fp=3f2a9c01d4e5",  # unterminated: hides the rest of the comment
    "<!<b>-- review-bot:fp=3f2a9c01d4e5 -->",  # tag removal must not assemble a new comment
    "`<!-- review-bot:fp=3f2a9c01d4e5 -->`",  # inside code too: our marker scan reads raw text
])
def test_hidden_markers_cannot_be_forged(forged: str) -> None:
    out = sanitize_message(f"Real issue. {forged} trailing")
    assert "<!--" not in out
    assert "review-bot:" not in out.lower()
    assert out.startswith("Real issue.")


def test_html_comment_removed_but_text_around_kept() -> None:
    assert sanitize_message("a <!-- hidden\nstuff --> b") == "a  b"


def test_html_tags_stripped_but_generics_kept() -> None:
    out = sanitize_message('Use <b>Vec<u8></b> <img src=x onerror="alert(1)"> <script>x</script> here')
    assert out == f"Use Vec<{ZWSP}u8>  x here"  # `<u8>` is a tag to CommonMark: broken invisibly
    out = sanitize_message("returns `<div>` for List<String>")
    assert out.replace(ZWSP, "") == "returns `<div>` for List<String>"


@pytest.mark.parametrize("text, expected", [
    ("ping @octocat please", f"ping @{ZWSP}octocat please"),
    ("@org/team look", f"@{ZWSP}org/team look"),
    ("(@a-b)", f"(@{ZWSP}a-b)"),
    ("mail me at dev@example.com", "mail me at dev@example.com"),  # no mention: GitHub ignores it too
    ("decorate with `@property`", f"decorate with `@{ZWSP}property`"),  # reads the same in code
    ("see #123 and GH-7", f"see #{ZWSP}123 and GH-{ZWSP}7"),
    ("_GH-7_", f"_GH-{ZWSP}7_"),  # emphasis: the reference inside it is live (found by hypothesis)
    ("other/repo#45", f"other/repo#{ZWSP}45"),
    ("`#123` in code", f"`#{ZWSP}123` in code"),
    ("the #define macro", "the #define macro"),
])
def test_mentions_and_issue_references_neutralised(text: str, expected: str) -> None:
    assert sanitize_message(text) == expected


def test_images_and_unsafe_links_dropped() -> None:
    out = sanitize_message("look ![pixel](https://evil.example/t.png) and [click](javascript:alert(1)) "
                           "[ok](https://example.com) <javascript:alert(2)> ![ref][img]")
    assert "evil.example" not in out and "javascript" not in out.lower() and "![" not in out
    assert "ok (<https://example.com>)" in out  # a link shows where it goes (issue 16, defect 4)
    assert "click" in out and "pixel" in out  # the words stay


def test_long_text_capped_with_ellipsis() -> None:
    out = sanitize_message("word " * 1000)
    assert len(out) <= MAX_MESSAGE_CHARS
    assert out.endswith("\u2026")


def test_open_fence_is_closed() -> None:
    out = sanitize_message("Try this:\n```python\nx = 1\n")
    assert out == "Try this:\n```python\nx = 1\n```"
    # cut inside a fence by the length cap: still closed
    out = sanitize_message("fix:\n~~~~\n" + "y = 2\n" * 400)
    assert out.endswith("\n~~~~") and out.count("~~~~") == 2


def test_balanced_fence_left_alone_and_suggestion_blocks_disarmed() -> None:
    text = "Like so:\n```py\nx = 1\n```\nthen done."
    assert sanitize_message(text) == text
    out = sanitize_message("Apply:\n```suggestion\nrm -rf /\n```")
    assert "```suggestion" not in out and "```text" in out


def test_control_characters_removed() -> None:
    assert sanitize_message("a\x1b[31mred\x07\u202eevil\x00\r\nnext") == "a[31mredevil\nnext"


@pytest.mark.parametrize("line", ["::set-output name=x::y", "::add-mask::secret", "  ::stop-commands::t",
                                  "##[error]fake"])
def test_workflow_commands_cannot_start_a_line(line: str) -> None:
    out = sanitize_message(f"first\n{line}")
    for out_line in out.splitlines():
        assert not out_line.lstrip().startswith(("::", "##["))


TOKENS = list("ab @#1<>!-:`~\n\r\x1b[]()/_*\\&") + ["<!--", "-->", "```", "::", "review-bot:", "<b>", "x" * 300,
                                                    "\n\n", "&#64;", "    ", "> "]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_properties_hold_for_any_text(text: str) -> None:
    out = sanitize_message(text)
    assert "<!--" not in out
    assert not re.search(r"review-bot\s*:", out, re.IGNORECASE)
    # What GitHub would show (a CommonMark renderer), code spans and blocks included.
    assert render_problems(out) == [], out
    assert all(not ln.lstrip().startswith("::") for ln in out.splitlines())
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out)
    assert len(out) <= MAX_MESSAGE_CHARS + 8
    assert sanitize_message(out) == out
