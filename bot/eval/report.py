"""The eval's table: one row a reviewer, as markdown (docs/quality.md's tables come from here), and
per case what each model said next to the lines the fix touched."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.logsafe import one_line

COLUMNS = (("reviewer", "name"), ("cases", "cases"), ("failed", "failed"), ("recall", "recall"),
           ("exact-line recall", "exact_recall"), ("random-line chance", "chance_recall"),
           ("same-file chance", "same_file_recall"), ("precision", "precision"),
           ("every-changed-line precision", "every_line_precision"), ("findings/case", "findings_per_case"),
           ("requests/case", "requests_per_case"), ("prompt tokens/case", "prompt_tokens_per_case"),
           ("completion tokens/case", "completion_tokens_per_case"), ("s/case", "seconds_per_case"),
           ("answers dropped", "dropped"))
RATES = ("recall", "exact_recall", "chance_recall", "same_file_recall", "precision", "every_line_precision")


def _cell(value: Any, key: str) -> str:
    if value is None:
        return "-"
    if key in RATES:
        return f"{value:.3f}" if key == "every_line_precision" else f"{value:.2f}"
    if key in ("findings_per_case", "seconds_per_case", "requests_per_case"):
        return f"{value:.2f}" if key != "seconds_per_case" else f"{value:.0f}"
    if key in ("prompt_tokens_per_case", "completion_tokens_per_case"):
        return f"{value:.0f}"
    if key == "dropped":
        return ", ".join(f"{k.removeprefix('dropped_')} {v}" for k, v in value.items()) or "0"
    return _md(str(value))


def _md(text: str) -> str:
    return one_line(text).replace("\\", "\\\\").replace("|", "\\|").replace("`", "'").replace("<", "&lt;")


def _lines(labels: list[dict[str, Any]]) -> str:
    by_path: dict[str, list[int]] = {}
    for label in labels:
        by_path.setdefault(label["path"], []).append(label["line"])
    return "; ".join(f"{path}:{','.join(str(n) for n in sorted(set(lines)))}" for path, lines in by_path.items())


def per_case(report: Mapping[str, Any]) -> list[str]:
    """Per model row and case: the label, then every finding and every dropped answer, in the model's words."""
    out: list[str] = []
    for row in report["rows"]:
        if row["kind"] != "model":
            continue
        out += ["", f"What {_md(row['name'])} said, per case (label: the lines the fix touched):", ""]
        for case in row["per_case"]:
            state = "failed" if case["error"] else ("hit" if case["hit"] else "miss")
            out.append(f"- {_md(case['case'])} [{state}] fix: {_md(case['fix_subject'])}; "
                       f"label: {_md(_lines(case.get('labels', [])))}")
            for said in case["said"]:
                out.append(f"  - said {_md(said['path'])}:{said['line']}: {_md(said['message'])}")
            for dropped in case.get("dropped", []):
                out.append(f"  - dropped ({dropped['reason']}): {_md(dropped['text'])}")
    return out


def render_markdown(report: Mapping[str, Any], cases: bool = True) -> str:
    rows = report["rows"]
    out = [f"Review quality on {_md(report['set'])}: {report['cases']} cases, model {_md(report['model'])} "
           f"({_md(report['api'])}), findings within +-{report['window']} lines of a label", "",
           "| " + " | ".join(title for title, _ in COLUMNS) + " |",
           "|" + "|".join("---" if key == "name" else "---:" for _, key in COLUMNS) + "|"]
    out += ["| " + " | ".join(_cell(row.get(key), key) for _, key in COLUMNS) + " |" for row in rows]
    out += ["", "recall: share of cases with a finding near a label; random-line chance: the recall of the same "
                "findings (ranges: of the same widths) on random lines; same-file chance: each kept in its own "
                "file at a random place; precision: findings near a label / all findings; every-changed-line "
                "precision: a finding on every changed line of the same cases."]
    for row in rows:
        for failure in row["failures"]:
            out.append(f"- failed: {_md(row['name'])}, case {_md(failure['case'])}: {_md(failure['error'] or '')}")
    if cases:
        out += per_case(report)
    return "\n".join(out) + "\n"
