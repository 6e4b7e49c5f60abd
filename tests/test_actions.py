"""bot.github.actions: the workflow commands the bot writes itself."""

from __future__ import annotations

import io

from bot.github.actions import add_mask, commands_stopped, group, in_actions, notice


def test_group_wraps_and_escapes_the_title() -> None:
    out = io.StringIO()
    with group("review of a\nb::set-output", out):
        out.write("inside\n")
    lines = out.getvalue().splitlines()
    assert lines == ["::group::review of a%0Ab::set-output", "inside", "::endgroup::"]
    quiet = io.StringIO()
    with group("x", quiet, enabled=False):
        pass
    assert quiet.getvalue() == ""


def test_group_closes_on_error() -> None:
    out = io.StringIO()
    try:
        with group("x", out):
            raise ValueError("boom")
    except ValueError:
        pass
    assert out.getvalue().endswith("::endgroup::\n")


def test_mask_each_line_and_not_tiny_values() -> None:
    out = io.StringIO()
    add_mask("hf_secret_value\nsecond-line-token\nab", out)
    assert out.getvalue() == "::add-mask::hf_secret_value\n::add-mask::second-line-token\n"


def test_commands_stopped_uses_a_fresh_unguessable_token() -> None:
    first, second = io.StringIO(), io.StringIO()
    with commands_stopped(first):
        first.write("::error::model output\n")
    with commands_stopped(second):
        pass
    start, _, end = first.getvalue().splitlines()
    token = start.removeprefix("::stop-commands::")
    assert len(token) == 32 and end == f"::{token}::"
    assert token not in second.getvalue()


def test_notice_escapes_untrusted_text() -> None:
    out = io.StringIO()
    notice("skipped\n::add-mask::x 100%", out, title="a,b:c")
    assert out.getvalue() == "::notice title=a%2Cb%3Ac::skipped%0A\u200b::add-mask::x 100%25\n"


def test_in_actions() -> None:
    assert in_actions({"GITHUB_ACTIONS": "true"}) and not in_actions({})
