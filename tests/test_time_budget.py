"""The run's wall-clock budget, `[budget] max_minutes` / `--max-minutes` (issue 17, item 5).

A slow loopback model and a small budget, through `review` against the GitHub emulator as a user
runs it: what was found in time is posted, the rest is listed as skipped (`time_budget`), and the
head is recorded as partly reviewed, not as a complete baseline. The rule itself (when may a
request start) is checked with an injected clock.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.backends.time_budget import TimeBudget
from bot.config import load_settings
from bot.errors import ConfigError
from bot.github.baseline import PARTLY, REVIEWED
from tests.github_helpers import BOT_TOKEN, REPO, add_corpus_pull, corpus_pr, emulator
from tests.servers.model_server import ModelServer
from tests.test_dry_run_pull_request import run_cli
from tests.test_review_command import diagnostics_for

LATENCY_S = 8.0  # each answer takes this long
BUDGET_MIN = 0.25  # 15 s: the first request (sent at once) fits; after it, 8 s more never fits in < 7 s


def test_a_slow_model_and_a_small_budget_post_what_was_found_and_skip_the_rest() -> None:
    case = corpus_pr("3487c8e087")  # four requests at a 4096-token window
    with emulator() as srv, ModelServer(responder=diagnostics_for, latency_s=LATENCY_S) as model:
        add_corpus_pull(srv, 7, case)
        srv.add_file(REPO, case.base, ".github/review-bot.toml", "[model]\ncontext_window = 4096\n")
        code, out, err = run_cli(
            ["review", "--repo", REPO, "--pr", "7", "--api", "hf", "--endpoint", model.url, "--min-severity", "info",
             "--rpm", "6000", "--concurrency", "1", "--max-minutes", str(BUDGET_MIN), "--format", "json"],
            {"GITHUB_API_URL": srv.url, "GITHUB_TOKEN": BOT_TOKEN})
        assert code == 0, err
        result = json.loads(out)
        sent = len(model.requests)
        assert sent == result["stats"]["requests"] == 1, err  # only the first fitted the budget
        late = [s for s in result["skipped"] if s["reason"] == "time_budget"]
        assert late and {s["reason"] for s in result["skipped"]} == {"time_budget"}
        assert "time_budget" in err and "budget.max_minutes (0.25)" in err
        [post] = srv.calls_to("POST", r"/pulls/7/reviews$")
        assert post.json["comments"], "what the first request found is posted"
        assert {(c["path"], c["line"]) for c in post.json["comments"]} == {
            (f["path"], f["line"]) for f in result["findings"]}
        statuses = [s["description"] for s in srv.statuses(REPO, case.head)]
        assert statuses and all(d.startswith(PARTLY) for d in statuses), statuses
        assert not any(d.startswith(REVIEWED + ":") for d in statuses)


def test_the_rule_uses_the_measured_speed() -> None:
    now = [0.0]
    budget = TimeBudget(deadline=100.0, max_minutes=100 / 60, clock=lambda: now[0])
    assert budget.refusal(10_000) is None  # nothing measured: only a past deadline refuses
    budget.record(20.0, 1000)  # 20 s for 1000 prompt tokens
    now[0] = 20.0
    assert budget.refusal(4000) is None  # ~80 s needed, 80 s left
    assert budget.refusal(4001) is not None
    now[0] = 85.0
    assert budget.refusal(10) is not None  # never less than the quickest request done (20 s)
    assert "15 s left" in (budget.refusal(10) or "")
    now[0] = 100.0
    assert "spent" in (budget.refusal(0) or "")
    assert TimeBudget(None, 45, lambda: 1e9).refusal(10**9) is None


@pytest.mark.parametrize("value", [0, -1, "soon"])
def test_max_minutes_is_validated_like_the_other_keys(tmp_path: Path, value: object) -> None:
    config = tmp_path / "review-bot.toml"
    config.write_text(f"[budget]\nmax_minutes = {json.dumps(value)}\n")
    with pytest.raises(ConfigError, match=r"\[budget\] max_minutes"):
        load_settings(config_path=config)


def test_the_flag_takes_minutes_as_a_number_and_refuses_nonsense() -> None:
    code, out, err = run_cli(["prompts", "--diff", "-", "--max-minutes", "soon"], {})
    assert code == 2 and out == "" and "--max-minutes" in err and "Traceback" not in err
    code, out, err = run_cli(["prompts", "--diff", "/dev/null", "--max-minutes", "0"], {})
    assert code == 2 and "max_minutes must be greater than 0" in err, err
    code, out, err = run_cli(["eval", "--set", "x", "--max-minutes", "5"], {})  # eval scores whole cases
    assert code == 2 and "--max-minutes" in err, err
    assert load_settings(overrides={"budget": {"max_minutes": 1.5}}).budget.max_minutes == 1.5
    assert load_settings().budget.max_minutes == 45
