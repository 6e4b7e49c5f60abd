"""Issue 12's credential targets on the labelled cases of ../shared/secrets/cases.jsonl.

Recall is asserted on the split the patterns were tuned on and on the held-out split alike;
false positives on gitleaks' own negatives over both. Throughput is measured by
`python -m bench.reliability`, not here (no timing assertions in tests).
"""

from __future__ import annotations

import pytest

from tests.reliability.secret_cases import CASES_FILE, MAX_FP, MIN_BARE, MIN_NAMED, Score, load_cases, score, split

if not CASES_FILE.is_file():
    pytest.skip(f"{CASES_FILE} not found (the labelled credential cases)", allow_module_level=True)


@pytest.fixture(scope="module")
def scores() -> dict[str, Score]:
    tuned, held_out = split(load_cases())
    return {"tuned": score(tuned), "held out": score(held_out)}


@pytest.mark.parametrize("part", ["tuned", "held out"])
def test_named_and_bare_credentials_never_reach_a_prompt(scores: dict[str, Score], part: str) -> None:
    result = scores[part]
    assert result.rate("named") >= MIN_NAMED, result.line(part)
    assert result.rate("bare") >= MIN_BARE, result.line(part)


def test_few_of_gitleaks_negatives_are_flagged(scores: dict[str, Score]) -> None:
    flagged = sum(s.caught["fp"] for s in scores.values())
    total = sum(s.total["fp"] for s in scores.values())
    assert total > 300  # the published negatives are there: this counts something
    assert flagged <= MAX_FP, [s.line(name) for name, s in scores.items()]
