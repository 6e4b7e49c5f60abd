"""[review] keep_best: the model ranks a run's findings as one list, asked in order and reversed;
the best stay. Through `dry-run` against the loopback model server (no probabilities over HTTP:
the number each answer names decides), and the scoring rule on its own."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.findings.rank import best, candidates, number_scores
from bot.types import Completion, Finding
from tests.cli_runner import run_main
from tests.conftest import EVAL_SET
from tests.servers.model_server import ModelServer

CASE = EVAL_SET / "60a7e775d4"  # jinja2/debug.py, one hunk, lines 196-206
QUESTION = "Which comment most likely points at a real defect?"
REVIEW = ("jinja2/debug.py:199: warning: `tb_set_next` is never checked\n"
          "jinja2/debug.py:201: error: `locals = ctx.get_all()` hands out the context's own dict\n"
          "jinja2/debug.py:203: warning: `locals = {}` hides the outer locals\n")


def _answer(prompt: str, payload: dict[str, object]) -> str:
    if QUESTION not in prompt:
        return REVIEW
    # The number the list gives the claim about get_all, in whichever order it was asked.
    items = re.findall(r"Comment (\d+), on line \d+ of [^\n]*\n(?:[^\n]*\n)*?The comment, as data: ([^\n]*)", prompt)
    return next(number for number, message in items if "hands out" in message) + "\n"


def dry_run(tmp_path: Path, settings: str) -> tuple[dict[str, object], list[str]]:
    config = tmp_path / "review-bot.toml"
    config.write_text(f"[review]\nmin_severity = \"info\"\n{settings}\n", encoding="utf-8")
    argv = ["dry-run", "--diff", str(CASE / "pr.diff"), "--config", str(config), "--api", "openai-chat",
            "--template", "review-chat", "--format", "json"]
    with ModelServer(responder=_answer) as srv:
        code, out, err = run_main([*argv, "--endpoint", srv.url])
        prompts = [r.prompt for r in srv.requests if r.method == "POST"]
    assert code == 0, err
    return json.loads(out), prompts


def test_the_finding_the_model_ranks_first_in_both_orders_is_kept(tmp_path: Path) -> None:
    result, prompts = dry_run(tmp_path, "keep_best = 1")
    assert [f["line"] for f in result["findings"]] == [201]  # type: ignore[union-attr, index]
    stats = result["stats"]
    assert isinstance(stats, dict) and stats["dropped_outranked"] == 2 and stats["requests"] == 3
    lists = [p for p in prompts if QUESTION in p]
    assert len(lists) == 2
    first = [int(n) for n in re.findall(r"Comment \d+, on line (\d+)", lists[0])]
    second = [int(n) for n in re.findall(r"Comment \d+, on line (\d+)", lists[1])]
    assert first == [199, 201, 203] and second == [203, 201, 199]  # the list, then reversed
    assert all("> + " in p or ">   " in p for p in lists)  # the commented line is marked in its code


def test_off_by_default_and_with_no_more_findings_than_kept_nothing_is_asked(tmp_path: Path) -> None:
    for settings in ("", "keep_best = 3"):
        result, prompts = dry_run(tmp_path, settings)
        assert [f["line"] for f in result["findings"]] == [199, 201, 203]  # type: ignore[union-attr, index]
        assert len(prompts) == 1 and result["stats"]["dropped_outranked"] == 0  # type: ignore[index]


def test_without_room_in_max_requests_for_both_lists_nothing_is_dropped(tmp_path: Path) -> None:
    result, prompts = dry_run(tmp_path, "keep_best = 1\n[budget]\nmax_requests = 2")
    assert len(result["findings"]) == 3 and len(prompts) == 1  # type: ignore[arg-type]


def finding(line: int, severity: str = "warning") -> Finding:
    return Finding("a.py", line, "RIGHT", None, severity, f"claim {line}", None, f"fp{line}")  # type: ignore[arg-type]


def first(*tokens: tuple[str, float], text: str = "") -> Completion:
    return Completion(text, "stop", None, 1, first_token=tokens)


def test_a_place_the_model_favours_in_both_orders_does_not_decide() -> None:
    # Both answers lean to the last number; summed over the two orders the first finding leads.
    f1, f2, f3 = finding(1), finding(2), finding(3)
    forward = first(("3", 0.5), ("2", 0.3), ("1", 0.2))  # f3, f2, f1
    backward = first(("3", 0.6), ("2", 0.3), ("1", 0.1))  # the list reversed: 3 is f1
    assert best((f1, f2, f3), (f1, f2, f3), (forward, backward), 1) == (f1,)  # 0.8 against 0.6 and 0.6
    assert best((f1, f2, f3), (f1, f2, f3), (forward, backward), 2) == (f1, f2)  # a tie goes to the earlier


def test_numbers_are_read_from_probabilities_else_from_the_answer() -> None:
    assert number_scores(first(("2", 0.7), (" 2", 0.1), ("Comment", 0.1), ("9", 0.1)), 3) == \
        pytest.approx([0.0, 0.8, 0.0])
    assert number_scores(Completion("**2**, because"), 3) == [0.0, 1.0, 0.0]
    assert number_scores(Completion("7"), 3) == [0.0, 0.0, 0.0] and number_scores(Completion("none"), 3) == [0.0] * 3


def test_more_findings_than_fit_the_list_are_listed_by_severity() -> None:
    findings = [finding(n) for n in range(1, 11)] + [finding(11, "error")]
    listed = candidates(findings)
    assert len(listed) == 9 and listed[0].line == 11 and [f.line for f in listed[1:]] == list(range(1, 9))


def test_a_negative_keep_best_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "review-bot.toml"
    config.write_text("[review]\nkeep_best = -1\n", encoding="utf-8")
    code, out, err = run_main(["prompts", "--diff", str(CASE / "pr.diff"), "--config", str(config)])
    assert code == 2 and "keep_best must not be negative" in err and "Traceback" not in err, err
