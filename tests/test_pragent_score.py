"""pr-agent's stored `/review` answers, scored by our eval's rule (bench/eval/pr_agent/score.py).

The answer read here is real: pr-agent 0.49.0 `/review` with Qwen2.5-Coder-1.5B-Instruct served by
`python -m llama_cpp.server`, on the first requests case inside its decoys
(bench/eval/answers-pragent/requests/1278ecdf71.json, recorded by bench/eval/pr_agent/run.py).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bench.eval.pr_agent.cases import heldout_cases, pr_diff_text
from bench.eval.pr_agent.score import ANSWERS, case_result, parse_answer, report
from bot.eval.report import COLUMNS

REPO_ROOT = Path(__file__).resolve().parents[1]
REQUESTS = (str(REPO_ROOT / "tests/fixtures/eval/requests"), str(REPO_ROOT / "tests/fixtures/corpus/requests"))
RECORDED = ANSWERS / "requests" / "1278ecdf71.json"
# What the model named (pr-agent's key_issues_to_review), as spots: file, first and last new line.
# "requests/sessions.py" is not a file of this pull request; "src/requests/sessions.py" is its only
# file ending so, and the only one pr-agent can have meant.
SAID = [("tests/test_requests.py", 1673, 1684), ("tests/test_requests.py", 1689, 1700),
        ("requests/packages.py", 2, 3), ("src/requests/sessions.py", 657, 661), ("tests/__init__.py", 2, 3),
        ("src/requests/adapters.py", 73, 76)]


def recorded() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RECORDED.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def case() -> Any:
    return heldout_cases(*REQUESTS, 1)[0]


def test_the_recorded_answer_is_for_the_pull_request_our_eval_reviews(case: Any) -> None:
    answer = recorded()
    assert answer["case"] == case.name == "1278ecdf71"
    assert answer["files"] == [f.path for f in case.diff.files]  # the bug's file among 4 decoys
    # The model saw this exact text (pr-agent's prompt carries each file's hunks).
    assert "requests/packages.py" in answer["answers"][0]["user"]


def test_a_recorded_pr_agent_answer_scores_as_its_key_issues(case: Any) -> None:
    result = case_result(case, recorded())
    assert result.error is None
    assert list(result.spots) == SAID
    assert (result.matched, result.hit) == (0, False)  # label requests/packages.py:7; it said 2-3
    assert result.prompt_tokens == 3810 and result.completion_tokens == 506 and result.requests == 1
    assert result.seconds == pytest.approx(1101.6)
    # Naming five of five files: same-file chance far above random-line chance.
    assert result.same_file > result.chance > 0.1
    assert [s["severity"] for s in result.said] == ["Possible Bug"] * 6  # pr-agent's YAML block scalars, stripped


def test_a_range_within_three_lines_of_the_label_is_a_hit(case: Any) -> None:
    answer = recorded()
    answer["review"]["review"]["key_issues_to_review"][2].update(start_line=4, end_line=4)
    result = case_result(case, answer)
    assert (result.matched, result.hit, result.exact) == (1, True, 0)  # 4 is 3 lines from 7


def test_items_off_the_pull_request_or_without_lines_are_dropped_by_reason(case: Any) -> None:
    answer = recorded()
    issues = answer["review"]["review"]["key_issues_to_review"]
    issues[0]["relevant_file"] = "requests/nowhere.py"
    issues[1].pop("start_line")
    issues[1].pop("end_line")
    issues.append("not a mapping")
    result = case_result(case, answer)
    assert list(result.spots) == SAID[2:]
    assert dict(result.drop_counts) == {"dropped_ungrounded": 1, "dropped_unparsed": 2}
    assert [d["reason"] for d in result.dropped] == ["ungrounded", "unparsed", "unparsed"]
    assert result.dropped[0]["text"].startswith("requests/nowhere.py:1673-1684: Possible Bug:")


def test_an_answer_pr_agent_could_not_read_is_no_findings_with_its_text(case: Any) -> None:
    answer = recorded()
    answer["review"] = None
    parsed = parse_answer(answer, [f.path for f in case.diff.files])
    assert parsed.spots == ()
    assert parsed.dropped[0]["reason"] == "unparsed" and "key_issues_to_review" in parsed.dropped[0]["text"]
    result = case_result(case, answer)
    assert result.error is None and result.spots == () and result.prompt_tokens == 3810


def test_an_answer_stored_for_another_pull_request_fails_the_case() -> None:
    other = heldout_cases(*REQUESTS, 2)[1]
    result = case_result(other, copy.deepcopy(recorded()))
    assert result.error == "the stored pr-agent answer is for another pull request"


def test_the_report_has_every_column_and_both_reference_rows() -> None:
    data = report(*REQUESTS, 2, ANSWERS / "requests")
    assert [r["name"] for r in data["rows"]][1:] == ["random line (1 per case, seed 0)", "every changed line"]
    for row in data["rows"]:
        assert all(key in row for _, key in COLUMNS)
    model = data["rows"][0]
    assert model["every_line_precision"] is not None
    if not (ANSWERS / "requests" / f"{model['per_case'][1]['case']}.json").is_file():
        assert model["failed"] == 1 and model["per_case"][1]["error"] == "no stored pr-agent answer"


@pytest.mark.parametrize("name", ["requests", "werkzeug"])
def test_the_pull_request_text_reads_back_as_the_eval_reviews_it(name: str) -> None:
    cases = heldout_cases(str(REPO_ROOT / f"tests/fixtures/eval/{name}"),
                          str(REPO_ROOT / f"tests/fixtures/corpus/{name}"), 10)
    for case in cases:
        text = pr_diff_text(case)  # raises if our parser reads the text back differently
        assert text.count("\ndiff --git ") + text.startswith("diff --git ") == len(case.diff.files) == 5
