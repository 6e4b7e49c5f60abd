"""The eval's table: one row a reviewer, as markdown (docs/quality.md's tables come from here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.logsafe import one_line

COLUMNS = (("reviewer", "name"), ("cases", "cases"), ("failed", "failed"), ("recall", "recall"),
           ("exact-line recall", "exact_recall"), ("chance", "chance_recall"), ("precision", "precision"),
           ("findings/case", "findings_per_case"),
           ("prompt tokens/case (est.)", "prompt_tokens_per_case"),
           ("completion tokens/case", "completion_tokens_per_case"), ("s/case", "seconds_per_case"))


def _cell(value: Any, key: str) -> str:
    if value is None:
        return "-"
    if key in ("recall", "exact_recall", "chance_recall", "precision"):
        return f"{value:.2f}"
    if key in ("findings_per_case", "seconds_per_case"):
        return f"{value:.2f}"
    if key in ("prompt_tokens_per_case", "completion_tokens_per_case"):
        return f"{value:.0f}"
    return _md(str(value))


def _md(text: str) -> str:
    return one_line(text).replace("\\", "\\\\").replace("|", "\\|").replace("`", "'").replace("<", "&lt;")


def render_markdown(report: Mapping[str, Any]) -> str:
    rows = report["rows"]
    out = [f"Review quality on {_md(report['set'])}: {report['cases']} cases, model {_md(report['model'])} "
           f"({_md(report['api'])}), findings within +-{report['window']} lines of a label", "",
           "| " + " | ".join(title for title, _ in COLUMNS) + " |",
           "|" + "|".join("---" if key == "name" else "---:" for _, key in COLUMNS) + "|"]
    out += ["| " + " | ".join(_cell(row[key], key) for _, key in COLUMNS) + " |" for row in rows]
    out += ["", "recall: share of cases with a finding near a label; chance: the recall of as many findings "
                "per case on random lines; precision: findings near a label / all findings."]
    for row in rows:
        for failure in row["failures"]:
            out.append(f"- failed: {_md(row['name'])}, case {_md(failure['case'])}: {_md(failure['error'] or '')}")
    return "\n".join(out) + "\n"
