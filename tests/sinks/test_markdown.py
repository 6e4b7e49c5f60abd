from __future__ import annotations

import re
from dataclasses import replace

from bot.sinks.markdown import MarkdownFormatter, escape_markdown
from tests.sinks import finding, sample_result


def test_markdown_table() -> None:
    out = MarkdownFormatter().render(sample_result())
    assert "3 findings (1 error, 2 warnings) in 2 files" in out
    assert "| Severity | File | Line | Message |" in out
    assert "| error | src/a.py | 3 | \\`x\\` may be None here |" in out
    assert "| warning | src/a.py | 8-10 | loop runs past the end |" in out
    assert "| warning | lib/b.py | 5 (old) | this check was still needed |" in out
    assert "- poetry.lock (generated)" in out


def test_markdown_no_findings() -> None:
    out = MarkdownFormatter().render(replace(sample_result(), findings=(), skipped=()))
    assert "No findings." in out and "|" not in out and "Skipped" not in out


def test_untrusted_text_cannot_break_the_table_or_inject_html() -> None:
    message = "a | b `code` <img src=x onerror=alert(1)> [link](http://x) @octocat #12 **bold**\nsecond"
    out = MarkdownFormatter().render(sample_result(finding(message, path="we|ird_<b>.py"), skipped=()))
    [row] = [line for line in out.splitlines() if line.startswith("| warning")]
    # exactly 5 unescaped pipes: the four cell borders plus the line column's right border
    assert len(re.findall(r"(?<!\\)\|", row)) == 5
    assert "<img" not in out and "<b>" not in out and "&lt;img" in out
    assert "\\[link\\]" in out and "\\`code\\`" in out and "\\*\\*bold\\*\\*" in out
    assert "@\u200boctocat" in out and "\\#\u200b12" in out
    assert "<br>second" in row


def test_escape_markdown_keeps_plain_text() -> None:
    assert escape_markdown("plain words 1.2") == "plain words 1.2"
    assert escape_markdown("x && y") == "x &amp;&amp; y"
