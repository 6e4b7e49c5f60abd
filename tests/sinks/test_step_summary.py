"""bot.sinks.step_summary: the Actions job summary file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.config import Settings
from bot.sinks.github_review import PostOutcome
from bot.sinks.step_summary import MAX_SUMMARY_BYTES, render_step_summary, write_step_summary
from bot.types import Finding, RunStats, Skipped
from tests.github_helpers import run_result

HEAD = "a" * 40


def finding(message: str, line: int = 3) -> Finding:
    return Finding(path="src/app.py", line=line, side="RIGHT", start_line=None, severity="error",
                   message=message, suggestion=None, fingerprint=f"{line:012x}")


def test_appends_findings_skips_budget_and_outcome(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    result = replace(run_result((finding("index may be out of range"),), HEAD, 4,
                                skipped=(Skipped("poetry.lock", None, "generated"),)),
                     stats=RunStats(files=2, hunks=5, hunks_reviewed=4, requests=3, retries=1, waited_s=2.5,
                                    prompt_tokens=900, completion_tokens=80, elapsed_s=12.0))
    outcome = PostOutcome(status="posted", review_url="https://github.com/o/r/pull/4#pullrequestreview-1",
                          inline=1)
    assert write_step_summary(result, {"GITHUB_STEP_SUMMARY": str(summary)}, Settings(), outcome) == summary
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# earlier step\n")
    for expected in ("index may be out of range", "poetry.lock", "| model requests | 3 of 40 |",
                     "| prompt tokens | 900 of 400000 |", "| retries | 1 |", "12.0 s", "pullrequestreview-1",
                     "bigcode/starcoder2-15b"):
        assert expected in text


def test_untrusted_messages_cannot_break_the_markdown() -> None:
    text = render_step_summary(run_result((finding("a | b <script>x</script> @admin"),), HEAD, 4))
    assert "<script>" not in text and "@admin" not in text and "a \\| b" in text


def test_no_summary_outside_actions_or_when_not_writable(tmp_path: Path) -> None:
    result = run_result((), HEAD, 4)
    assert write_step_summary(result, {}) is None
    assert write_step_summary(result, {"GITHUB_STEP_SUMMARY": str(tmp_path / "no" / "dir.md")}) is None


def test_stays_under_githubs_limit(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("x" * 1000, encoding="utf-8")
    many = tuple(finding("m" * 900, line=i) for i in range(1, 2000))
    write_step_summary(run_result(many, HEAD, 4), {"GITHUB_STEP_SUMMARY": str(summary)})
    size = summary.stat().st_size
    assert MAX_SUMMARY_BYTES - 1000 < size <= MAX_SUMMARY_BYTES
    assert "1 MiB limit" in summary.read_text(encoding="utf-8")
