"""`--format text`: compiler-style lines grouped by file, the skipped parts, one summary line."""

from __future__ import annotations

from collections import Counter

from bot.logsafe import escape_log
from bot.types import SEVERITIES, Finding, RunResult, Skipped


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def location(finding: Finding) -> str:
    """`12`, or `10-12` for a range; LEFT-side lines are marked as lines of the old file."""
    lines = f"{finding.start_line}-{finding.line}" if finding.start_line is not None else str(finding.line)
    return lines if finding.side == "RIGHT" else f"{lines} (old)"


def skipped_text(part: Skipped) -> str:
    where = f"{part.path} {part.hunk}" if part.hunk else part.path
    reason = f"{part.reason}: {part.detail}" if part.detail else part.reason
    return f"{where} ({reason})"


def summary_line(result: RunResult) -> str:
    """One line: findings by severity, files, hunks and requests, skipped and dropped parts."""
    stats = result.stats
    findings = result.findings
    if findings:
        counts = Counter(f.severity for f in findings)
        by_severity = ", ".join(_plural(counts[s], s, "info" if s == "info" else None)
                                for s in reversed(SEVERITIES) if counts[s])
        files = len({f.path for f in findings})
        head = f"{_plural(len(findings), 'finding')} ({by_severity}) in {_plural(files, 'file')}"
    else:
        head = "no findings"
    parts = [head, f"{stats.hunks_reviewed}/{stats.hunks} hunks reviewed",
             f"{_plural(stats.requests, 'request')}, {_plural(stats.retries, 'retry', 'retries')}"]
    if result.skipped:
        parts.append(f"{_plural(len(result.skipped), 'part')} skipped")
    if stats.dropped_ungrounded:
        parts.append(f"{stats.dropped_ungrounded} off the diff dropped")
    if stats.dropped_capped:
        parts.append(f"{stats.dropped_capped} over the comment cap dropped")
    return "; ".join(parts)


class TextFormatter:
    name = "text"

    def render(self, result: RunResult) -> str:
        blocks: list[str] = []
        current: list[str] = []
        path: str | None = None
        for finding in sorted(result.findings, key=lambda f: (f.path, f.line)):
            if finding.path != path and current:
                blocks.append("\n".join(current))
                current = []
            path = finding.path
            message = finding.message.replace("\n", "\n    ")
            current.append(f"{finding.path}:{location(finding)}: {finding.severity}: {message}")
        if current:
            blocks.append("\n".join(current))
        if result.skipped:
            blocks.append("\n".join(f"skipped: {skipped_text(s)}" for s in result.skipped))
        blocks.append(summary_line(result))
        # Paths come from the diff and stdout may be an Actions log: no line may start a command.
        return escape_log("\n\n".join(blocks)) + "\n"
