"""`--format markdown`: a table for people (job summaries, pasted reports).

Every untrusted string (paths from the diff, model messages) is escaped by `md_text` so it
renders as the literal text, on one line: no HTML, no markdown structure, no table breakout,
no mentions.
"""

from __future__ import annotations

from bot.findings.sanitize import md_text
from bot.sinks.terminal import location, skipped_text, summary_line
from bot.types import RunResult


class MarkdownFormatter:
    name = "markdown"

    def render(self, result: RunResult) -> str:
        out = ["### review-bot", "", md_text(summary_line(result)), ""]
        if result.findings:
            out += ["| Severity | File | Line | Message |", "| --- | --- | --- | --- |"]
            for f in sorted(result.findings, key=lambda f: (f.path, f.line)):
                out.append(f"| {f.severity} | {md_text(f.path, limit=None)} | {location(f)} "
                           f"| {md_text(f.message, limit=None)} |")
            out.append("")
        else:
            out += ["No findings.", ""]
        if result.skipped:
            out += ["<details><summary>Skipped parts</summary>", ""]
            out += [f"- {md_text(skipped_text(s), limit=None)}" for s in result.skipped]
            out += ["", "</details>", ""]
        return "\n".join(out)
