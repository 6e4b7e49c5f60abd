"""Planted credentials never reach the model, an output, a log or GitHub."""

from __future__ import annotations

from pathlib import Path

from tests.reliability.planted_secrets import SECRETS, diff_scenarios, run_all


def test_no_planted_secret_leaks_anywhere(tmp_path: Path) -> None:
    tally = run_all(tmp_path)
    assert tally["planted"] >= 2 * len(SECRETS)
    assert tally["leaked"] == 0, tally.details


def test_the_leak_check_finds_secrets_when_redaction_is_off(tmp_path: Path) -> None:
    tally = diff_scenarios(tmp_path, redact=False)
    assert tally["leaked"] == len(SECRETS)
