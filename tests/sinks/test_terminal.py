from __future__ import annotations

from dataclasses import replace

from bot.sinks.terminal import TextFormatter
from tests.sinks import finding, sample_result


def test_text_output_grouped_by_file_with_skips_and_summary() -> None:
    assert TextFormatter().render(sample_result()) == (
        "lib/b.py:5 (old): warning: this check was still needed\n"
        "\n"
        "src/a.py:3: error: `x` may be None here\n"
        "src/a.py:8-10: warning: loop runs past the end\n"
        "\n"
        "skipped: poetry.lock (generated)\n"
        "skipped: src/a.py @@ -40,2 +41,3 @@ (budget: request budget spent)\n"
        "\n"
        "3 findings (1 error, 2 warnings) in 2 files; 9/10 hunks reviewed; 4 requests, 1 retry; "
        "2 parts skipped\n"
    )


def test_text_summary_when_nothing_found() -> None:
    result = sample_result(finding("x"), skipped=())
    result = replace(result, findings=(), stats=replace(result.stats, retries=0, requests=1,
                                                        dropped_ungrounded=2, dropped_capped=1))
    assert TextFormatter().render(result) == (
        "no findings; 9/10 hunks reviewed; 1 request, 0 retries; 2 off the diff dropped; "
        "1 over the comment cap dropped\n")


def test_text_singular_and_info() -> None:
    out = TextFormatter().render(sample_result(finding("only one", severity="info"), skipped=()))
    assert out.splitlines()[-1].startswith("1 finding (1 info) in 1 file;")


def test_text_is_log_safe_and_indents_continuation_lines() -> None:
    out = TextFormatter().render(sample_result(
        finding("first line\n::set-output name=x::y\n  ##[error]fake", path="::add-mask::p.py")))
    for line in out.splitlines():
        assert not line.lstrip().startswith(("::", "##["))
    assert "    ::set-output name=x::y" not in out  # neutralised, not just indented
    assert "first line\n    " in out
