"""docs/quality.md's eval tables are what the current code makes of the stored real-model answers.

`bench/eval/answers-heldout/` (held-out sets werkzeug and requests) and `bench/eval/answers/`
(the jinja development set) hold every answer Qwen2.5-Coder-1.5B-Instruct gave in the haystack
eval, keyed by model, prompt and parameters. Re-scoring them with `--cache-only` needs the model
file only for its vocabulary and context (to plan the same prompts), sends nothing to it, and must
reproduce every table digit for digit: a parser, grounding, planning or haystack change that moves
a figure (or a prompt) shows up here, and the tables are re-made by the same code
(`python -m bench.eval.tables --model-path QWEN.gguf --write`).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.eval.tables import DOC, REPO_ROOT, Table, _tables, begin, end, table_markdown
from bot.eval.report import COLUMNS
from tests.conftest import FULL_CORPUS, SHARED

TABLES = {table.key: table for table in _tables(SHARED)}
COLUMN = [key for _, key in COLUMNS]


# A table of 30 cases and five runs is five re-scored evals of 30 pull requests: minutes, not seconds.
@pytest.mark.timeout(1500)
@pytest.mark.parametrize("key", list(TABLES))
def test_the_quality_doc_table_is_the_stored_answers_scored_now(key: str, qwen_model_path: Path,
                                                                tmp_path: Path) -> None:
    table = TABLES[key]
    if key.startswith("jinja") and not FULL_CORPUS:
        pytest.skip(f"{SHARED / 'corpus' / 'jinja'} not found: the haystack needs the whole corpus")
    doc = DOC.read_text(encoding="utf-8")
    assert begin(key) in doc and end(key) in doc, f"docs/quality.md has no table {key}"
    stored = doc.split(begin(key), 1)[1].split(end(key), 1)[0].strip("\n")
    now = table_markdown(table, str(qwen_model_path), str(tmp_path)).strip("\n")
    assert stored == now, (f"docs/quality.md table {key} is out of date; re-make it with "
                           f"`python -m bench.eval.tables --model-path QWEN.gguf --write`:\n{now}")
    if now.startswith("(no stored answers yet"):
        return  # the background run (bench/eval/run_heldout.sh) has not reached this table: the doc says so
    rows = [line for line in now.splitlines() if line.startswith("| ") and not line.startswith("| reviewer")]
    # Both reference rows, and a row per run that has answers (the others are named as not measured yet).
    assert 2 < len(rows) <= sum(len(run.templates.split(",")) for run in table.runs) + 2
    assert all(row.split(" | ")[2] == "0" for row in rows), rows  # no case failed: every prompt was answered
    _check_agreement_rows(table, rows)
    _check_kept_rows(table, rows)


def _check_kept_rows(table: Table, rows: list[str]) -> None:
    """A keep_best k row never has more than k findings a case (the ranking keeps k of a run's)."""
    cells = {row.split(" | ")[0].removeprefix("| "): row.split(" | ") for row in rows}
    for run in table.runs:
        kept = re.search(r"^keep_best = (\d+)$", (REPO_ROOT / run.config).read_text(encoding="utf-8"), re.M) \
            if run.config else None
        if kept and run.label in cells:
            assert float(cells[run.label][COLUMN.index("findings_per_case")]) <= int(kept.group(1)), cells[run.label]


def _check_agreement_rows(table: Table, rows: list[str]) -> None:
    """An agreement row keeps a subset of the first run's findings and pays for both runs: beside
    the default's row (the same config and cases), fewer or as many findings, more requests."""
    cells = {row.split(" | ")[0].removeprefix("| "): row.split(" | ") for row in rows}
    for run in table.runs:
        if not run.agree_with or run.label not in cells:
            continue  # not an agreement, or not measured yet (named under the table)
        first = next((r for r in table.runs if r.config == run.config and not r.agree_with), None)
        assert first is not None and first.label in cells, f"{run.label}: the run it filters is not in {table.key}"
        mine, theirs = cells[run.label], cells[first.label]
        findings, requests, tokens = COLUMN.index("findings_per_case"), COLUMN.index("requests_per_case"), \
            COLUMN.index("prompt_tokens_per_case")
        assert float(mine[findings]) <= float(theirs[findings]), (mine, theirs)
        assert float(mine[requests]) > float(theirs[requests]) and float(mine[tokens]) > float(theirs[tokens])


def test_the_tables_command_remakes_one_table_as_the_doc_holds_it(qwen_model_path: Path) -> None:
    """`python -m bench.eval.tables --only KEY`, as docs/quality.md's maintainers run it: one table,
    the doc's text; an unknown key is one line that names the tables, exit 2."""
    key = "requests-pragent"
    done = subprocess.run([sys.executable, "-m", "bench.eval.tables", "--model-path", str(qwen_model_path),
                           "--only", key], cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stdout.splitlines() if line.startswith("## ")] == [f"## {key}"]
    doc = DOC.read_text(encoding="utf-8")
    stored = doc.split(begin(key), 1)[1].split(end(key), 1)[0].strip("\n")
    assert stored in done.stdout
    wrong = subprocess.run([sys.executable, "-m", "bench.eval.tables", "--model-path", str(qwen_model_path),
                            "--only", "no-such-table"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert "no table no-such-table; the tables are" in wrong.stderr and key in wrong.stderr
