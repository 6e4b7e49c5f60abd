"""Findings that say nothing are dropped and counted (issue 18, item 4: fewer, better findings).

The shapes come from Qwen2.5-Coder-1.5B's recorded answers (bench/eval/answers): each example is
checked to be in a recorded answer, so the rule is tested on what the model really wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.findings.vacuous import says_nothing
from tests.cli_runner import run_main
from tests.conftest import EVAL_SET
from tests.servers.model_server import ModelServer

ANSWERS = Path(__file__).resolve().parent.parent / "bench" / "eval" / "answers"
CASE = EVAL_SET / "60a7e775d4"  # jinja2/debug.py: `locals = ctx.get_all()` (line 201) lost its copy()


def recorded(prefix: str) -> str:
    (path,) = ANSWERS.glob(f"{prefix}*.json")
    return str(json.loads(path.read_text(encoding="utf-8"))["completion"]["text"])


SAYS_NOTHING = [  # (recorded answer, its message)
    ("02c6fe2998a8", "`def get(self, key: str) -> bytes: ...` should be `def get(self, key: str) -> bytes: ...`"),
    ("85363d6048dd", "`__bool__ = __nonzero__` should be `__bool__ = __nonzero__`"),
    ("9e35176d1d80", "`token.type is not 'data'`"),
    ("ac45ec8785a4", "`def gettext(self, message: str) -> str: ...`"),
    ("c8fe02d54b72", "None"),
]
SAYS_SOMETHING = [  # right or wrong, each makes a claim a reader can check
    ("023f64539e44", "`attri` should be `attr`"),
    ("797cc6511789", "`tb_set_next` is not defined."),
    ("e37526f9b0de", "`args = list(args or ())` should be `args = list(args or [])`"),
    ("0a6b2c14f493", "`ctypes.c_byte * (32 if hasattr(sys, \"getobjects\") else 16)` is not a valid type."),
]


@pytest.mark.parametrize(("answer", "message"), SAYS_NOTHING)
def test_recorded_messages_that_claim_nothing_are_recognised(answer: str, message: str) -> None:
    assert message in recorded(answer)
    assert says_nothing(message)


@pytest.mark.parametrize(("answer", "message"), SAYS_SOMETHING)
def test_recorded_messages_that_claim_something_are_kept(answer: str, message: str) -> None:
    assert message in recorded(answer)
    assert not says_nothing(message)


def test_a_diff_line_copied_as_the_message_says_nothing_and_a_revert_says_something() -> None:
    lines = ["        locals = ctx.get_all().copy()", "        locals = ctx.get_all()"]
    assert says_nothing("locals = ctx.get_all()", lines)
    assert says_nothing("MESSAGE: `locals = ctx.get_all()`", lines)
    assert not says_nothing("`locals = ctx.get_all()` should be `locals = ctx.get_all().copy()`", lines)
    assert not says_nothing("`locals = ctx.get_all()` shares the context's dict", lines)


def _answer(prompt: str, payload: dict[str, object]) -> str:
    # Shapes from the recorded answers, on this case's lines; one real claim among them.
    return ("jinja2/debug.py:201: warning: `locals = ctx.get_all()` should be `locals = ctx.get_all()`\n"
            "jinja2/debug.py:203: warning: `locals = {}`\n"
            "jinja2/debug.py:201: error: `locals = ctx.get_all()` hands out the context's own dict\n")


def test_dry_run_drops_and_counts_findings_that_say_nothing_when_asked(tmp_path: Path) -> None:
    """Before: 3 findings, the two empty ones among them; with drop_vacuous: 1, dropped_vacuous 2."""
    config = tmp_path / "review-bot.toml"
    config.write_text("[review]\ndrop_vacuous = true\n", encoding="utf-8")
    results = []
    for extra in (["--config", str(config)], []):
        with ModelServer(responder=_answer) as srv:
            code, out, err = run_main(["dry-run", "--diff", str(CASE / "pr.diff"), "--api", "hf", *extra,
                                       "--endpoint", srv.url, "--format", "json", "--min-severity", "info"])
        assert code == 0, err
        results.append(json.loads(out))
    asked, default = results
    assert [f["message"] for f in asked["findings"]] == ["`locals = ctx.get_all()` hands out the context's own dict"]
    assert asked["stats"]["dropped_vacuous"] == 2
    assert len(default["findings"]) == 3 and default["stats"]["dropped_vacuous"] == 0  # off by default
