"""The review body and job summary: counts, skips, budget, and escaping of untrusted text."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import ReviewSettings, Settings
from bot.findings.sanitize import ZWSP, md_code, md_text
from bot.sinks.summary import render_summary
from bot.types import Finding, RunResult, RunStats, Skipped, SourceInfo


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def finding(path: str, line: int, severity: str, message: str) -> Finding:
    return Finding(path=path, line=line, side="RIGHT", start_line=None, severity=severity,  # type: ignore[arg-type]
                   message=message, suggestion=None, fingerprint="f")


def test_summary_counts_skips_budget_and_overflow() -> None:
    result = RunResult(
        findings=(finding("a.py", 1, "error", "x"), finding("a.py", 2, "warning", "y"),
                  finding("b.py", 3, "warning", "z")),
        skipped=(Skipped("big.py", "@@ -1,2 +1,3 @@", "budget"), Skipped("big.py", "@@ -9,2 +9,3 @@", "budget"),
                 Skipped("poetry.lock", None, "generated")),
        stats=RunStats(files=4, hunks=9, hunks_reviewed=7, requests=3, retries=1, waited_s=2.5,
                       prompt_tokens=12345, completion_tokens=400),
        source_info=SourceInfo(kind="diff"), model="bigcode/starcoder2-15b", template="review")
    text = render_summary(result, Settings(), overflow=(finding("c.py", 40, "info", "off the diff"),))
    assert text.startswith("### review-bot: 3 findings (1 error, 2 warning)\n")
    assert "Reviewed 7 of 9 hunks in 4 files with `bigcode/starcoder2-15b` (template `review`)." in text
    assert "- budget (2): `big.py` (2 hunks)" in text and "- generated (1): `poetry.lock`" in text
    assert "- `c.py:40` **info**: off the diff" in text
    assert "3 of 40 requests, 12,345 prompt + 400 completion tokens, 1 retry, 2.5 s waiting" in text


def test_summary_escapes_untrusted_paths_and_messages() -> None:
    evil = "<img src=x onerror=alert(1)> **bold** [link](http://x) @octocat\n## heading | `tick`"
    result = RunResult(findings=(), skipped=(Skipped("<script>`a`.py", None, "excluded"),), stats=RunStats(),
                       source_info=SourceInfo(kind="diff"))
    text = render_summary(result, Settings(), overflow=(finding("x`<b>.py", 1, "warning", evil),))
    # code spans carry invisible breaks (`<\u200bscript>`): they read the same
    visible = text.replace(ZWSP, "")
    outside_code = visible.replace("`` <script>`a`.py ``", "").replace("`` x`<b>.py:1 ``", "")
    assert not re.search(r"(?<!\\)[<>]", outside_code)  # every < and > outside code spans is escaped
    assert "\\<img" in text and "\\*\\*bold\\*\\*" in text and "\\[link\\]" in text
    assert "@octocat" not in text and "\n## heading" not in text
    assert "`` <script>`a`.py ``" in visible and "`` x`<b>.py:1 ``" in visible


def test_md_helpers() -> None:
    assert md_code("a`b") == "`` a`b ``" and md_code("plain") == "`plain`"
    assert md_text("a\n\n b_c") == "a b\\_c" and len(md_text("x" * 900)) == 500


def test_repository_summary_template_gets_escaped_values_only(tmp_path: Path) -> None:
    write(tmp_path, "summary.md.j2", "{% for f in overflow %}{{ f.message }}{% endfor %}")
    settings = Settings(review=ReviewSettings(prompts_dir=str(tmp_path)))
    result = RunResult(findings=(), skipped=(), stats=RunStats(), source_info=SourceInfo(kind="diff"))
    assert render_summary(result, settings, (finding("a", 1, "info", "<b>hi</b>"),)) == "\\<b\\>hi\\</b\\>"

