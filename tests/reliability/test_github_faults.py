"""GitHub misbehaving while the review is posted: every finding lands exactly once, or reaches stdout."""

from __future__ import annotations

from tests.reliability.faults_github import SCENARIOS, hostile_responder, run_scenarios


def test_github_faults_lose_and_duplicate_no_finding() -> None:
    tally = run_scenarios(hostile_responder, include_slow=False)
    assert tally["scenarios"] == sum(1 for s in SCENARIOS if not s.slow)
    assert tally["survived"] == tally["scenarios"], tally.details
    assert tally["lost"] == 0, tally.details
    assert tally["duplicates"] == 0, tally.details
    assert tally["unsafe_renders"] == 0, tally.details
