"""`--format markdown`: a table for people (job summaries, pasted reports).

Every untrusted string (paths from the diff, model messages) is escaped so it renders as
the literal text: no HTML, no markdown structure, no table breakout, no mentions.
"""

from __future__ import annotations

import re

from bot.sinks.terminal import location, skipped_text, summary_line
from bot.types import RunResult

_MARKDOWN_PUNCT = re.compile(r"([\\`*_\[\]|~!#])")
_MENTION = re.compile(r"@(?=\w)")
_ISSUE = re.compile(r"#(?=\d)")


def escape_markdown(text: str) -> str:
    """Untrusted text -> one line of markdown that renders as exactly that text."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_PUNCT.sub(r"\\\1", text)
    text = _MENTION.sub("@\u200b", text)
    text = _ISSUE.sub("#\u200b", text)
    return "<br>".join(line.strip() for line in text.splitlines()) or " "


class MarkdownFormatter:
    name = "markdown"

    def render(self, result: RunResult) -> str:
        out = ["### review-bot", "", escape_markdown(summary_line(result)), ""]
        if result.findings:
            out += ["| Severity | File | Line | Message |", "| --- | --- | --- | --- |"]
            for f in sorted(result.findings, key=lambda f: (f.path, f.line)):
                out.append(f"| {f.severity} | {escape_markdown(f.path)} | {location(f)} "
                           f"| {escape_markdown(f.message)} |")
            out.append("")
        else:
            out += ["No findings.", ""]
        if result.skipped:
            out += ["<details><summary>Skipped parts</summary>", ""]
            out += [f"- {escape_markdown(skipped_text(s))}" for s in result.skipped]
            out += ["", "</details>", ""]
        return "\n".join(out)
