"""docs/quality.md's tables, re-scored from the stored model answers (no model time).

    python -m bench.eval.tables --model-path QWEN.gguf           # print the tables
    python -m bench.eval.tables --model-path QWEN.gguf --write   # rewrite them in docs/quality.md
    python -m bench.eval.tables --model-path QWEN.gguf --write --only werkzeug-pragent   # one table

Each table is `review-bot eval --cache-only` over the stored answers (bench/eval/answers for the
jinja development rows, bench/eval/answers-heldout for the held-out sets): the model file is read
for its vocabulary and context only (to plan the same prompts), nothing is sent to it. A run's
cases are its first LIMIT cases, fewer while the background run (bench/eval/run_heldout.sh) has
not answered them all yet: the table then says how many it covers. tests/e2e/test_eval_table.py
checks that docs/quality.md holds what this prints now.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.eval.pr_agent.score import ANSWERS as PR_AGENT_ANSWERS
from bench.eval.pr_agent.score import LABEL as PR_AGENT_LABEL
from bench.eval.pr_agent.score import report as pr_agent_report
from bot.eval.report import COLUMNS, _cell, _md

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "quality.md"
HELDOUT_CACHE = "bench/eval/answers-heldout"
DEV_CACHE = "bench/eval/answers"
DEFAULT = "bench/eval/qwen.toml"  # the shipped default: review-chat, in-process cap (2048)
SURPRISE_CASES = 20  # the held-out cases the surprise ranking's rule reads (docs/quality.md)
SIZES = (("bench/eval/qwen-r0.toml", "no cap: one packed request"), ("bench/eval/qwen-r4096.toml", "4096"),
         (DEFAULT, "2048 (the in-process default)"), ("bench/eval/qwen-r1024.toml", "1024"))


@dataclass(frozen=True)
class Run:
    label: str  # the row's name in the table
    config: str
    templates: str = "review-chat"
    agree_with: str | None = None  # a second sample's config: the row is the agreement of the two runs
    pr_agent: bool = False  # pr-agent's stored answers (bench/eval/pr_agent/score.py), not a `review-bot eval`


@dataclass(frozen=True)
class Table:
    key: str  # the marker in docs/quality.md
    eval_set: str
    corpus: str
    limit: int
    runs: tuple[Run, ...]
    cache: str = HELDOUT_CACHE
    haystack: tuple[str, ...] = ()  # extra haystack flags


# The finding-quality measures (issue 18 item 4), each beside the shipped default on the same cases.
# An agreement row keeps the default's findings that a second sample (the same model and prompts,
# the pull request packed into other requests) also reports; its cost is both runs'.
# confirm_findings as shipped (a finding stays at P(yes) >= 0.5 against no), and at the threshold chosen on jinja.
CONFIRM = (Run("confirm_findings: one yes/no request per finding", "bench/eval/qwen-confirm.toml"),
           Run("confirm_findings, confirm_min_yes 0.85 (chosen on jinja)", "bench/eval/qwen-confirm-p85.toml"))
# keep_best: the model ranks the run's findings; the same ranking answers serve both rows.
BEST = (Run("keep_best 1: the finding the model ranks first", "bench/eval/qwen-best1.toml"),
        Run("keep_best 2: the two the model ranks first", "bench/eval/qwen-best2.toml"))
# keep_best on requests capped at 1024 tokens (more findings to rank from): the same ranking answers serve both rows.
BEST_1024 = (Run("review-chat, max_request_tokens 1024", "bench/eval/qwen-r1024.toml"),
             Run("max_request_tokens 1024, keep_best 1", "bench/eval/qwen-r1024-best1.toml"),
             Run("max_request_tokens 1024, keep_best 2", "bench/eval/qwen-r1024-best2.toml"))
# keep_best by the model's surprise at the code near each finding, on requests capped at 1024 tokens: the same
# review answers as the 1024 row, and the same surprisal reads serve both rows.
SURPRISE_1024 = (Run("max_request_tokens 1024, keep_best 1 by surprise", "bench/eval/qwen-r1024-surprise1.toml"),
                 Run("max_request_tokens 1024, keep_best 2 by surprise", "bench/eval/qwen-r1024-surprise2.toml"))
QUALITY = (Run("review-chat, shipped default (max_request_tokens 2048)", DEFAULT),
           Run("drop_vacuous: findings that claim nothing dropped", "bench/eval/qwen-vacuous.toml"),
           *CONFIRM,
           Run("point_at_removals: a deleted line can be the bug", "bench/eval/qwen-removals.toml"),
           Run("context = function: the enclosing function from the head file", "bench/eval/qwen-context.toml"),
           Run("agreement of two samples: 2048 and no cap", DEFAULT, agree_with="bench/eval/qwen-r0.toml"),
           Run("agreement of two samples: 2048 and 4096", DEFAULT, agree_with="bench/eval/qwen-r4096.toml"))


def _tables(shared: Path) -> list[Table]:
    held = []
    for name in ("werkzeug", "requests"):
        eval_set, corpus = f"tests/fixtures/eval/{name}", f"tests/fixtures/corpus/{name}"
        # The request sizes either side of the default, on as many cases: the default's choice is checked against them.
        held.append(Table(f"{name}-default", eval_set, corpus, 30,
                          (Run("review-chat, shipped default (max_request_tokens 2048)", DEFAULT),
                           Run("review-chat, max_request_tokens 4096", "bench/eval/qwen-r4096.toml"),
                           BEST_1024[0])))
        held.append(Table(f"{name}-sizes", eval_set, corpus, 10,
                          tuple(Run(f"review-chat, max_request_tokens {size}", config) for config, size in SIZES)))
        held.append(Table(f"{name}-quality", eval_set, corpus, 10, QUALITY))
        # The measures that read the model's probabilities, on as many cases as the default.
        held.append(Table(f"{name}-rank", eval_set, corpus, 30,
                          (Run("review-chat, shipped default (max_request_tokens 2048)", DEFAULT), *CONFIRM, *BEST)))
        # keep_best where the requests are small, on the cases the 1024 run has answered.
        held.append(Table(f"{name}-rank1024", eval_set, corpus, 10,
                          (Run("review-chat, shipped default (max_request_tokens 2048)", DEFAULT), *BEST_1024)))
        # keep_best by surprise, checked against the default by the rule fixed on jinja (docs/quality.md).
        held.append(Table(f"{name}-surprise", eval_set, corpus, SURPRISE_CASES,
                          (Run("review-chat, shipped default (max_request_tokens 2048)", DEFAULT), BEST_1024[0],
                           *SURPRISE_1024)))
        # pr-agent /review beside our default on the same pull requests (issue 18's Must show).
        held.append(Table(f"{name}-pragent", eval_set, corpus, 10,
                          (Run("review-chat, shipped default (max_request_tokens 2048)", DEFAULT),
                           Run(PR_AGENT_LABEL, "", pr_agent=True))))
    dev = [Table("jinja-dev-chat", str(shared / "eval" / "jinja"), str(shared / "corpus" / "jinja"), 30,
                 (Run("template review-chat", DEFAULT), *CONFIRM), DEV_CACHE, ("--haystack-hunks", "4")),
           # jinja with the held-out sets' haystack (whole file diffs): a development set as hard as they are.
           Table("jinja-dev-real", str(shared / "eval" / "jinja"), str(shared / "corpus" / "jinja"), 30,
                 (Run("review-chat, shipped default (max_request_tokens 2048)", DEFAULT), *CONFIRM, *BEST, *BEST_1024,
                  *SURPRISE_1024),
                 DEV_CACHE),
           Table("jinja-dev-base", str(shared / "eval" / "jinja"), str(shared / "corpus" / "jinja"), 15,
                 tuple(Run(f"template {t}", DEFAULT, t) for t in ("review", "review-instruct", "starcoder2-pr")),
                 DEV_CACHE, ("--haystack-hunks", "4"))]
    return held + dev


def _eval(table: Table, run: Run, limit: int, model_path: str, home: str) -> dict[str, Any]:
    if run.pr_agent:
        return pr_agent_report(str(REPO_ROOT / table.eval_set), str(REPO_ROOT / table.corpus), limit,
                               PR_AGENT_ANSWERS / Path(table.eval_set).name)
    # --prompts-dir: this checkout's templates (an editable install may map the packaged ones,
    # bot.prompts_pkg, to another checkout's prompts/ folder, whatever PYTHONPATH says).
    agree = ("--agree-with", run.agree_with) if run.agree_with else ()
    argv = [sys.executable, "-m", "bot", "eval", "--set", table.eval_set, "--haystack", table.corpus,
            *table.haystack, "--templates", run.templates, "--limit", str(limit), "--config", run.config, *agree,
            "--prompts-dir", str(REPO_ROOT / "prompts"), "--model-path", model_path, "--cache", table.cache,
            "--cache-only", "--format", "json", "-q"]
    done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800,
                          env={"PATH": "/usr/bin:/bin", "HOME": home, "PYTHONPATH": str(REPO_ROOT)})
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _answered(report: dict[str, Any]) -> int:
    """How many leading cases every model row has all its answers for."""
    counts = []
    for row in report["rows"]:
        if row["kind"] != "model":
            continue
        failed = [i for i, case in enumerate(row["per_case"]) if case["error"]]
        counts.append(failed[0] if failed else len(row["per_case"]))
    return min(counts, default=0)


def _row(row: dict[str, Any], label: str | None = None) -> str:
    cells = [_md(label or row["name"]), *(_cell(row.get(key), key) for _, key in COLUMNS[1:])]
    return "| " + " | ".join(cells) + " |"


def table_markdown(table: Table, model_path: str, home: str) -> str:
    """The table as markdown: one row per run, then both reference rows, on the same cases."""
    reports = [_eval(table, run, table.limit, model_path, home) for run in table.runs]
    # Runs the background job has not reached yet are named, not scored; the others are scored on
    # the cases every one of them has answers for, so their rows compare the same pull requests.
    answered = [_answered(report) for report in reports]
    limit = max(answered, default=0)
    if not limit:
        return f"(no stored answers yet for {table.key})\n"
    # A run with fewer answered cases than the furthest one is named with its count, not scored.
    runs = [run for run, count in zip(table.runs, answered, strict=True) if count == limit]
    waiting = [f"{run.label} ({count} of {limit} cases so far)"
               for run, count in zip(table.runs, answered, strict=True) if count < limit]
    reports = [report for report, count in zip(reports, answered, strict=True) if count == limit]
    if limit < table.limit:  # the background run has not got this far: score the answered cases only
        reports = [_eval(table, run, limit, model_path, home) for run in runs]
    rows = []
    for run, report in zip(runs, reports, strict=True):
        # An agreement run's report holds both samples' rows too: its table row is the agreement.
        model_rows = [r for r in report["rows"] if r["kind"] == "model" and bool(r["combines"]) == bool(run.agree_with)]
        rows += [_row(r, run.label if len(model_rows) == 1 else None) for r in model_rows]
    rows += [_row(r) for r in reports[-1]["rows"] if r["kind"] == "reference"]
    head = ["| " + " | ".join(title for title, _ in COLUMNS) + " |",
            "|" + "|".join("---" if key == "name" else "---:" for _, key in COLUMNS) + "|"]
    note = f"{limit} cases of {table.limit}" if limit < table.limit else f"{limit} cases"
    later = f"\n\nNot measured yet: {', '.join(waiting)}." if waiting else ""
    return f"{note} (the first by name)\n\n" + "\n".join(head + rows) + later + "\n"


def begin(key: str) -> str:
    return f"<!-- table:{key} begin (python -m bench.eval.tables --write; do not edit) -->"


def end(key: str) -> str:
    return f"<!-- table:{key} end -->"


def all_tables(model_path: str, home: str, shared: Path, only: Sequence[str] = ()) -> dict[str, str]:
    """Every table's markdown by key (`only`: just these keys)."""
    return {t.key: table_markdown(t, model_path, home) for t in _tables(shared) if not only or t.key in only}


def with_tables(doc: str, tables: dict[str, str]) -> str:
    for key, text in tables.items():
        pattern = re.compile(re.escape(begin(key)) + r".*?" + re.escape(end(key)), re.S)
        if not pattern.search(doc):
            raise SystemExit(f"docs/quality.md has no markers for table {key}")
        block = f"{begin(key)}\n{text}{end(key)}"
        doc = pattern.sub(lambda _, block=block: block, doc)  # type: ignore[misc]
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval.tables", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model-path", required=True, help="the Qwen GGUF (scripts/fetch_qwen_model.sh prints it)")
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared",
                        help="holds eval/jinja and corpus/jinja")
    parser.add_argument("--write", action="store_true", help="rewrite the tables in docs/quality.md")
    parser.add_argument("--only", action="append", default=[], metavar="KEY",
                        help="only this table (its marker's key, e.g. werkzeug-pragent); repeatable")
    args = parser.parse_args(argv)
    known = {t.key for t in _tables(args.shared)}
    unknown = sorted(set(args.only) - known)
    if unknown:
        parser.error(f"no table {', '.join(unknown)}; the tables are {', '.join(sorted(known))}")
    with tempfile.TemporaryDirectory() as home:
        tables = all_tables(args.model_path, home, args.shared, args.only)
    if args.write:
        DOC.write_text(with_tables(DOC.read_text(encoding="utf-8"), tables), encoding="utf-8")
    else:
        for key, text in tables.items():
            print(f"## {key}\n\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
