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


# ---------------------------------------------------------------- issue 16: links and what is code

@pytest.mark.parametrize("text, expected", [
    ("see [https://github.com/o/r/security/advisories/GHSA-1](https://evil.example/login)",
     "see https://github.com/o/r/security/advisories/GHSA-1 (<https://evil.example/login>)"),
    ("see [the advisory][1].\n\n[1]: https://evil.example/login",
     "see the advisory (<https://evil.example/login>).\n\n\\[1]: https://evil.example/login"),
    ("see [GHSA].\n\n[GHSA]: <https://evil.example/a> \"GitHub\"",
     f"see GHSA (<https://evil.example/a>).\n\n\\[GHSA]: <{ZWSP}https://evil.example/a> \"GitHub\""),
    ("[`https://github.com`](https://evil.example)", "`https://github.com` (<https://evil.example>)"),
    ("[https://github.com](https://github.com)", "<https://github.com>"),  # shows where it goes: a bare autolink
    ("<https://github.com@evil.example/x>", "`https://github.com@evil.example/x`"),  # a user part disguises the host
    ("[b](/relative) [c](#frag)", "b (`/relative`) c (`#frag`)"),  # not an autolink: the target as code
    ("[x](javascript:alert(1)) [y](<https://a.example/p q>)", "x y (<https://a.example/p%20q>)"),
    ("[![ci](https://github.com/b.svg)](https://evil.example)", "ci (<https://evil.example>)"),
    ("<a href=\"https://evil.example\">https://github.com</a>", "https://github.com"),
    ("- [1]: https://evil.example", "- \\[1]: https://evil.example"),
])
def test_links_show_where_they_go(text: str, expected: str) -> None:
    out = sanitize_message(text)
    assert out == expected
    assert render_problems(out) == [] and sanitize_message(out) == out


@pytest.mark.parametrize("text", [
    "This is wrong, see x\u2028```\u2028@octocat <img src=x> fixes #123 ![t](https://evil.example/t.png)",
    "wrong\u2029```\u2029@octocat <img src=x> fixes #123",
    "- item\n  ```\n@octocat <img src=x> fixes #123",
    "> quote\n> ```\n@octocat <img src=x> fixes #123",
    "1. a\n\n   ~~~\n   x\n   ~~~\n@octocat <b>x</b> #123",
    "wrong\n    ```\n@octocat <img src=x>",  # indented: not a fence (and no code block after a paragraph)
    "````\n```\n````\n@octocat <img src=x>",
])
def test_text_commonmark_does_not_put_in_code_is_cleaned(text: str) -> None:
    out = sanitize_message(text)
    assert render_problems(out) == [], out
    assert "<img" not in out and "@octocat" not in out


@pytest.mark.parametrize("text", [
    "- item\n  ```py\n  @decorator\n  x = a#1 <b>\n  ```\n- next",
    "> quote\n> ```\n> <b>@x</b>\n> ```",
    "text\n\n    @indented <b>\n\nafter",
    "````\n```\n@in <img src=x>\n````",
    "1. a\n\n   ~~~\n   x\n~~~\n@in <b>x</b> #123\n~~~",  # `~~~` ends the item and opens a fence
])
def test_code_commonmark_sees_keeps_its_text(text: str) -> None:
    assert sanitize_message(text) == text


def test_tidying_is_parsed_again() -> None:
    # found by hypothesis: stripping the U+2028 left by the removed tag made "```" a fence
    # opener after the parse, and the fence swallowed the comment's marker
    assert sanitize_message("<b>\u2028```") == "```\n```"
    assert sanitize_message("    @octocat <img src=x>") == f"@{ZWSP}octocat"


def test_text_the_parse_cannot_settle_is_escaped_whole() -> None:
    deep = "> " * 30 + "```\n" + "> " * 30 + "[https://github.com](https://evil.example) @octocat"
    out = sanitize_message(deep)
    assert render_problems(out) == [] and "\\[" in out and "@\u200boctocat" in out
