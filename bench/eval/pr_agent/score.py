"""pr-agent's stored answers scored like our rows: the same cases, scorer and reference rows.

No pr-agent and no model here (CI re-scores with this): each stored answer
(bench/eval/answers-pragent/SET/CASE.json, written by run.py) is read into findings, a file and a
line range each, from the review pr-agent parsed out of the model's YAML: its
`key_issues_to_review` items carry `relevant_file`, `start_line` and `end_line`, new-file lines
(pr_agent/settings/pr_reviewer_prompts.toml, KeyIssuesComponentLink). An item naming no file of
the pull request is dropped as `ungrounded`, one with no line number as `unparsed` (as our parser's
drops are counted); a range is kept as pr-agent gave it. An answer pr-agent could not read as a
review is a case with no findings (pr-agent posts nothing), its text kept as `unparsed`; only a
case with no stored answer, or one stored for another pull request, counts as failed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.eval.pr_agent.cases import diff_text, heldout_cases
from bot.eval.cases import Case, CaseResult, Row, Spot, reference_rows, score
from bot.eval.run import row_json
from bot.logsafe import one_line

LABEL = "pr-agent 0.49.0 /review (same model, llama.cpp server)"
ANSWERS = Path(__file__).resolve().parents[1] / "answers-pragent"


@dataclass(frozen=True)
class Parsed:
    spots: tuple[Spot, ...]
    said: tuple[dict[str, Any], ...]
    dropped: tuple[dict[str, str], ...]


def key_issues(answer: Mapping[str, Any]) -> list[Any] | None:
    """The `key_issues_to_review` of pr-agent's parsed review; None when it parsed no review."""
    review = answer.get("review")
    inner = review.get("review") if isinstance(review, Mapping) else None
    if not isinstance(inner, Mapping):
        return None
    issues = inner.get("key_issues_to_review")
    return list(issues) if isinstance(issues, list) else []


def _line(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() and int(text) > 0 else None


def _path(value: Any, paths: Sequence[str]) -> str | None:
    """The pull request's file the item names: the same path (a/, b/, ./ or / prefixes aside), or
    the one file whose path ends with it."""
    text = str(value or "").strip().strip("`'\"")
    for prefix in ("a/", "b/", "./", "/"):
        text = text.removeprefix(prefix)
    if text in paths:
        return text
    ends = [p for p in paths if text and p.endswith("/" + text)]
    return ends[0] if len(ends) == 1 else None


def parse_answer(answer: Mapping[str, Any], paths: Sequence[str]) -> Parsed:
    issues = key_issues(answer)
    if issues is None:
        outputs = [str(a.get("output") or "") for a in answer.get("answers", []) if isinstance(a, Mapping)]
        text = " ".join(o for o in outputs if o.strip()) or "(no answer)"
        return Parsed((), (), ({"reason": "unparsed", "text": one_line(text, limit=400)},))
    spots: list[Spot] = []
    said: list[dict[str, Any]] = []
    dropped: list[dict[str, str]] = []
    for item in issues:
        if not isinstance(item, Mapping):
            dropped.append({"reason": "unparsed", "text": one_line(str(item), limit=400)})
            continue
        header, content = str(item.get("issue_header") or "").strip(), str(item.get("issue_content") or "").strip()
        start, end = _line(item.get("start_line")), _line(item.get("end_line"))
        path = _path(item.get("relevant_file"), paths)
        where = f"{item.get('relevant_file')}:{item.get('start_line')}-{item.get('end_line')}"
        if path is None:
            dropped.append({"reason": "ungrounded", "text": one_line(f"{where}: {header}: {content}", limit=400)})
            continue
        if start is None and end is None:
            dropped.append({"reason": "unparsed", "text": one_line(f"{where}: {header}: {content}", limit=400)})
            continue
        first, last = min(start or end or 0, end or start or 0), max(start or end or 0, end or start or 0)
        spots.append((path, first, last))
        said.append({"path": path, "line": last, "start_line": first, "side": "RIGHT", "severity": header,
                     "message": content})
    return Parsed(tuple(spots), tuple(said), tuple(dropped))


def _usage(answer: Mapping[str, Any], key: str) -> int:
    """Tokens as the llama.cpp server reported them (its GGUF vocabulary), summed over requests."""
    counted = [a["usage"].get(key) for a in answer.get("answers", [])
               if isinstance(a, Mapping) and isinstance(a.get("usage"), Mapping)]
    if counted:
        return sum(int(n or 0) for n in counted)
    usage = (answer.get("review") or {}).get("usage") or {}
    return int(usage.get(key) or 0)


def case_result(case: Case, answer: Mapping[str, Any] | None) -> CaseResult:
    if answer is None:
        return CaseResult(case.name, error="no stored pr-agent answer", fix_subject=case.fix_subject)
    if answer.get("pr_diff_sha256") != hashlib.sha256(diff_text(case.diff).encode()).hexdigest():
        return CaseResult(case.name, error="the stored pr-agent answer is for another pull request",
                          fix_subject=case.fix_subject)
    parsed = parse_answer(answer, [f.path for f in case.diff.files])
    counts: dict[str, int] = {}
    for item in parsed.dropped:
        counts[f"dropped_{item['reason']}"] = counts.get(f"dropped_{item['reason']}", 0) + 1
    return score(case, parsed.spots, prompt_tokens=_usage(answer, "prompt_tokens"),
                 completion_tokens=_usage(answer, "completion_tokens"),
                 requests=max(len(answer.get("answers", [])), 1), seconds=float(answer.get("seconds") or 0.0),
                 said=parsed.said, dropped=parsed.dropped, drop_counts=tuple(sorted(counts.items())))


def load_answer(folder: Path, case: Case) -> dict[str, Any] | None:
    path = folder / f"{case.name}.json"
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def report(eval_set: str, corpus: str, limit: int, folder: Path) -> dict[str, Any]:
    """Like `review-bot eval --format json`: pr-agent's row, then both reference rows, on the
    first `limit` cases (with the eval's default decoys)."""
    cases = heldout_cases(eval_set, corpus, limit)
    row = Row(LABEL, "model", tuple(case_result(case, load_answer(folder, case)) for case in cases))
    return {"set": eval_set, "cases": len(cases), "rows": [row_json(r, cases) for r in (row, *reference_rows(cases))]}
