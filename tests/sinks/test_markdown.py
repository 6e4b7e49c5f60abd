from __future__ import annotations

import re
from dataclasses import replace
from html import unescape

from markdown_it import MarkdownIt

from bot.findings.sanitize import md_text
from bot.sinks.markdown import MarkdownFormatter
from tests.render_check import render_problems
from tests.sinks import finding, sample_result


def _text(markdown: str) -> str:
    """What a reader sees: the rendered HTML's text."""
    return unescape(re.sub(r"<[^>]+>", "", MarkdownIt("commonmark").enable(["table"]).render(markdown)))


def test_markdown_table() -> None:
    out = MarkdownFormatter().render(sample_result())
    assert "3 findings (1 error, 2 warnings) in 2 files" in _text(out)
    assert "| Severity | File | Line | Message |" in out
    assert "| error | src/a.py | 3 | \\`x\\` may be None here |" in out
    assert "| warning | src/a.py | 8-10 | loop runs past the end |" in out
    assert "| warning | lib/b.py | 5 (old) | this check was still needed |" in out
    assert "- poetry.lock \\(generated\\)" in out and "poetry.lock (generated)" in _text(out)


def test_markdown_no_findings() -> None:
    out = MarkdownFormatter().render(replace(sample_result(), findings=(), skipped=()))
    assert "No findings." in out and "|" not in out and "Skipped" not in out


def test_untrusted_text_cannot_break_the_table_or_inject_html() -> None:
    message = "a | b `code` <img src=x onerror=alert(1)> [link](http://x) @octocat #12 **bold**\nsecond"
    out = MarkdownFormatter().render(sample_result(finding(message, path="we|ird_<b>.py"), skipped=()))
    [row] = [line for line in out.splitlines() if line.startswith("| warning")]
    # exactly 5 unescaped pipes: the four cell borders plus the line column's right border
    assert len(re.findall(r"(?<!\\)\|", row)) == 5
    html = MarkdownIt("commonmark").enable(["table"]).render(out)
    assert "<img" not in html and "<b>" not in html and render_problems(out) == []
    assert "a | b `code` <img src=x onerror=alert(1)> [link](http://x)" in _text(out)
    assert "\\[link\\]" in out and "\\`code\\`" in out and "\\*\\*bold\\*\\*" in out
    assert "@\u200boctocat" in out and "\\#\u200b12" in out
    assert row.endswith("\\*\\*bold\\*\\* second |")  # one line: a table row can't hold a line break


def test_md_text_keeps_plain_text() -> None:
    assert md_text("plain words 1.2") == "plain words 1.2"
    assert md_text("x && y") == "x \\&\\& y"


def test_md_text_renders_as_the_text_itself_even_at_a_line_start() -> None:
    md = MarkdownIt("commonmark")
    for text in ("1. not a list", "2) nor this", "- nor this", "+ nor this", "# no heading", "> no quote",
                 "a <b>c</b> &amp; d", "`x` *y* _z_ [l](u) ![i](u)", "a\\b \\| c {d}"):
        html = md.render(md_text(text))
        assert html.startswith("<p>") and html.endswith("</p>\n") and html.count("<") == 2, html
        assert unescape(html[3:-5]) == text
