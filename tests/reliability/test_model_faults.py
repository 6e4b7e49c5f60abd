"""Every model fault kind, alone and combined: the run completes, loses and repeats nothing."""

from __future__ import annotations

from pathlib import Path

from tests.reliability.faults_model import ANSWER_CHANGING, run_scenarios, sample


def test_model_faults_lose_and_duplicate_no_finding(tmp_path: Path) -> None:
    scenarios = sample()
    tally, outcomes = run_scenarios(tmp_path, scenarios)
    assert tally["scenarios"] == len(scenarios)
    assert tally["survived"] == len(scenarios), tally.details
    assert tally["lost"] == 0, tally.details
    assert tally["duplicates"] == 0, tally.details
    assert all(o.faults_applied >= 1 for o in outcomes), "every scripted fault must have hit a request"
    # The comparison does see losses: a changed answer loses that request's findings, and only those.
    # (Which request arrives first varies with two workers, and some requests plant nothing, so
    # not every answer-changing scenario must lose something; together they must.)
    changed = [o for o in outcomes if any(kind in o.scenario for kind in ANSWER_CHANGING)]
    assert changed and any(o.expected_lost > 0 for o in changed)
    assert all(o.expected_lost == 0 and o.altered == 0 for o in outcomes if o not in changed)
