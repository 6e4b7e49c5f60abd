"""A small RunResult shared by the formatter tests."""

from __future__ import annotations

from bot.types import Finding, RunResult, RunStats, Skipped, SourceInfo


def sample_result(*findings: Finding, skipped: tuple[Skipped, ...] | None = None) -> RunResult:
    if not findings:
        findings = (
            Finding("src/a.py", 3, "RIGHT", None, "error", "`x` may be None here", None, "aaaaaaaaaaaa"),
            Finding("src/a.py", 10, "RIGHT", 8, "warning", "loop runs past the end", None, "bbbbbbbbbbbb"),
            Finding("lib/b.py", 5, "LEFT", None, "warning", "this check was still needed", None,
                    "cccccccccccc"),
        )
    if skipped is None:
        skipped = (Skipped("poetry.lock", None, "generated"),
                   Skipped("src/a.py", "@@ -40,2 +41,3 @@", "budget", "request budget spent"))
    stats = RunStats(files=3, hunks=10, hunks_reviewed=9, requests=4, retries=1, prompt_tokens=5120,
                     completion_tokens=410, elapsed_s=3.2)
    return RunResult(findings=tuple(findings), skipped=skipped, stats=stats,
                     source_info=SourceInfo("pull_request", "octo/repo", 7, "a" * 40, "b" * 40,
                                            title="untrusted", body="untrusted"),
                     model="bigcode/starcoder2-15b", template="review")


def finding(message: str, path: str = "src/a.py", line: int = 3, side: str = "RIGHT",
            start_line: int | None = None, severity: str = "warning") -> Finding:
    return Finding(path, line, side, start_line, severity, message, None, "0123456789ab")  # type: ignore[arg-type]
