"""The eval tables of docs/quality.md are what the current code makes of the stored real-model answers.

`bench/eval/answers/` holds every answer Qwen2.5-Coder-1.5B-Instruct gave in the haystack eval
(keyed by model, prompt and parameters). Re-scoring them with `--cache-only` needs the model
file only for its vocabulary and context (to plan the same prompts), sends nothing to it, and
must reproduce the page's rows digit for digit: a parser or grounding change that moves a
figure shows up here, and the page is re-made from the same command.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EVAL_SET, FULL_CORPUS, JINJA_CORPUS, REPO_ROOT

QUALITY_PAGE = REPO_ROOT / "docs" / "quality.md"
RUNS = {  # --templates -> --limit, as on the page
    "review-chat": 30,
    "review,review-instruct,starcoder2-pr": 15,
}


def table_rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("| ") and not line.startswith("| reviewer")]


@pytest.mark.parametrize("templates", list(RUNS))
def test_the_quality_page_tables_are_the_stored_answers_scored_now(templates: str, qwen_model_path: Path,
                                                          tmp_path: Path) -> None:
    if not FULL_CORPUS:
        pytest.skip(f"{JINJA_CORPUS} is the vendored subset: the haystack needs the whole corpus (as the page's)")
    child = subprocess.run(
        [sys.executable, "-m", "bot", "eval", "--set", str(EVAL_SET), "--haystack", str(JINJA_CORPUS),
         "--templates", templates, "--limit", str(RUNS[templates]), "--config", "bench/eval/qwen.toml",
         "--model-path", str(qwen_model_path), "--cache", "bench/eval/answers", "--cache-only",
         "--format", "markdown"],
        cwd=REPO_ROOT, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, capture_output=True, text=True,
        timeout=600)
    assert child.returncode == 0, child.stderr[-3000:]
    assert "no stored answer" not in child.stdout, child.stdout  # every prompt was answered before
    rows = table_rows(child.stdout)
    assert len(rows) == len(templates.split(",")) + 2, child.stdout  # the templates and both reference rows
    page = QUALITY_PAGE.read_text(encoding="utf-8")
    for row in rows:
        assert " | 0 | " in row[:60], row  # no case failed
        assert row in page, f"{QUALITY_PAGE.name} row out of date; re-make it with the command there:\n{row}"


def test_the_page_shows_the_runs_this_test_scores() -> None:
    """The page's tables and commands are the ones re-scored above (no model needed for this)."""
    page = QUALITY_PAGE.read_text(encoding="utf-8")
    assert "tests/e2e/test_eval_table.py" in page
    for templates, limit in RUNS.items():
        rows = [line for line in table_rows(page) if line.startswith("| template ")]
        for name in templates.split(","):
            assert any(line.startswith(f"| template {name} | {limit} |") for line in rows), (name, limit)
