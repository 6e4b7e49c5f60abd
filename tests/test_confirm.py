"""[review] confirm_findings: a second, short request per finding; a "no" drops it.

Against the loopback model server, through `dry-run`: the review answer names two lines, and the
server answers the confirmation questions itself, no for one of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.findings.confirm import denies, says_no, yes_share
from bot.types import Completion
from tests.cli_runner import run_main
from tests.conftest import EVAL_SET
from tests.servers.model_server import ModelServer

CASE = EVAL_SET / "60a7e775d4"  # jinja2/debug.py, one hunk, lines 196-206
QUESTION = "Does the comment name a real defect"


def _answer(prompt: str, payload: dict[str, object]) -> str:
    if QUESTION in prompt:
        return " No, that line is fine.\n" if "line 203 " in prompt else "Yes\n"
    return ("jinja2/debug.py:201: error: `locals = ctx.get_all()` hands out the context's own dict\n"
            "jinja2/debug.py:203: warning: `locals = {}` hides the outer locals\n")


def dry_run(tmp_path: Path, confirm: bool, api: str) -> tuple[dict[str, object], list[str]]:
    config = tmp_path / "review-bot.toml"
    config.write_text(f"[review]\nconfirm_findings = {str(confirm).lower()}\nmin_severity = \"info\"\n",
                      encoding="utf-8")
    argv = ["dry-run", "--diff", str(CASE / "pr.diff"), "--config", str(config), "--api", api, "--format", "json"]
    if api == "openai-chat":
        argv += ["--template", "review-chat"]
    with ModelServer(responder=_answer) as srv:
        code, out, err = run_main([*argv, "--endpoint", srv.url])
        prompts = [r.prompt for r in srv.requests if r.method == "POST"]
    assert code == 0, err
    return json.loads(out), prompts


@pytest.mark.parametrize("api", ["hf", "openai-chat"])
def test_a_finding_the_model_does_not_confirm_is_dropped_and_counted(tmp_path: Path, api: str) -> None:
    result, prompts = dry_run(tmp_path, confirm=True, api=api)
    findings = result["findings"]
    assert isinstance(findings, list) and [f["line"] for f in findings] == [201]
    stats = result["stats"]
    assert isinstance(stats, dict) and stats["dropped_unconfirmed"] == 1 and stats["requests"] == 3
    questions = [p for p in prompts if QUESTION in p]
    assert len(questions) == 2 and all("locals = ctx.get_all()" in q for q in questions)  # the hunk is shown


def test_off_by_default_nothing_more_is_asked(tmp_path: Path) -> None:
    result, prompts = dry_run(tmp_path, confirm=False, api="hf")
    assert [f["line"] for f in result["findings"]] == [201, 203]  # type: ignore[union-attr, index]
    assert len(prompts) == 1 and result["stats"]["dropped_unconfirmed"] == 0  # type: ignore[index]


@pytest.mark.parametrize(("text", "no"), [("No", True), (" no.", True), ("**No**, it is fine", True),
                                          ("Yes", False), ("yes, it is", False), ("Maybe", False), ("", False),
                                          ("Nothing wrong", False)])
def test_only_an_answer_that_begins_with_no_drops(text: str, no: bool) -> None:
    assert says_no(Completion(text, "stop", None, None)) is no


def first(*tokens: tuple[str, float], text: str = "Yes") -> Completion:
    return Completion(text, "stop", None, 1, first_token=tokens)


def test_the_probability_of_yes_counts_every_spelling_against_every_no() -> None:
    answer = first(("Yes", 0.5), ("No", 0.2), ("yes", 0.1), (" no", 0.1), ("The", 0.05), ("_yes", 0.01))
    assert yes_share(answer) == pytest.approx(0.6 / 0.9)
    assert yes_share(first(("The", 0.9))) is None and yes_share(Completion("Yes")) is None


@pytest.mark.parametrize(("tokens", "text", "min_yes", "dropped"), [
    ((("Yes", 0.6), ("No", 0.4)), "Yes", 0.7, True),  # the greedy yes is not sure enough
    ((("Yes", 0.6), ("No", 0.4)), "Yes", 0.5, False),
    ((("No", 0.45), ("Yes", 0.55)), "No", 0.5, False),  # the probabilities decide, not the text
    ((), "No", 0.0, True),  # no probabilities told (an HTTP backend): the answer's first word decides
    ((), "Yes", 1.0, False),
    ((("The", 0.9),), "No", 0.9, True),  # neither word among the likeliest: the text decides
])
def test_a_finding_is_dropped_below_min_yes_where_the_backend_tells_probabilities(
        tokens: tuple[tuple[str, float], ...], text: str, min_yes: float, dropped: bool) -> None:
    assert denies(first(*tokens, text=text), min_yes) is dropped


@pytest.mark.parametrize("value", ["-0.1", "1.5", "\"high\""])
def test_min_yes_outside_zero_to_one_is_a_config_error_through_the_cli(tmp_path: Path, value: str) -> None:
    config = tmp_path / "review-bot.toml"
    config.write_text(f"[review]\nconfirm_findings = true\nconfirm_min_yes = {value}\n", encoding="utf-8")
    code, out, err = run_main(["prompts", "--diff", str(CASE / "pr.diff"), "--config", str(config)])
    assert code == 2 and out == "" and "confirm_min_yes" in err and "Traceback" not in err, err
