"""A deleted line can be the bug: a finding quoting it lands on the nearest new line of its hunk.

Case 60a7e775d4 of the jinja set is such a bug: `locals = ctx.get_all().copy()` became
`locals = ctx.get_all()` (line 201). Qwen2.5-Coder, asked with review-instruct, answered
"199: warning: `locals = ctx.get_all().copy()` should be `locals = ctx.get_all()`"
(bench/eval/answers/3813cddcf7da...): it quoted the deleted line and cited a context line.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot.config import Settings, load_settings
from bot.diff.parse import parse_diff
from bot.findings.removals import nearest_new_line
from bot.pipeline import prepare
from bot.plan.tokens import ShapeEstimator
from bot.prompts.render import chat_overhead
from bot.prompts.templates import load_template
from bot.sources import ReviewInput
from bot.types import Hunk, Line, SourceInfo
from tests.cli_runner import run_main
from tests.conftest import EVAL_SET
from tests.servers.model_server import ModelServer

CASE = EVAL_SET / "60a7e775d4"
ANSWERS = Path(__file__).resolve().parent.parent / "bench" / "eval" / "answers"
RECORDED = "199: warning: `locals = ctx.get_all().copy()` should be `locals = ctx.get_all()`"


def hunk(kinds: str) -> Hunk:
    """A hunk of one line per kind ("+", "-", " "), numbered from 10 on each side."""
    lines, old, new = [], 10, 10
    for kind in kinds:
        lines.append(Line(kind=kind, old_no=None if kind == "+" else old, new_no=None if kind == "-" else new,
                          text=f"line {len(lines)}"))
        old += kind != "+"
        new += kind != "-"
    return Hunk(path="a.py", old_start=10, old_len=old - 10, new_start=10, new_len=new - 10,
                header="@@ @@", lines=tuple(lines))


def test_the_nearest_new_line_is_the_one_after_the_deletion_on_a_tie() -> None:
    assert nearest_new_line(hunk(" - "), 1) == 11  # context 10, deleted, context 11: the one after
    assert nearest_new_line(hunk(" --+"), 1) == 10  # the line before is nearer
    assert nearest_new_line(hunk(" --+"), 2) == 11  # the added line after it
    assert nearest_new_line(hunk("  -"), 2) == 11  # a deletion at the end: the line before
    assert nearest_new_line(hunk("--"), 0) is None  # a hunk with no new line at all


def _recorded_answer(prompt: str, payload: dict[str, object]) -> str:
    return f"jinja2/debug.py:{RECORDED}\n"


def test_a_finding_quoting_a_deleted_line_is_placed_on_the_next_new_line() -> None:
    """Before: line 199, the context line the model cited; after: 201, the line that replaced the copy."""
    assert RECORDED in next(ANSWERS.glob("3813cddcf7da*.json")).read_text(encoding="utf-8")
    with ModelServer(responder=_recorded_answer) as srv:
        code, out, err = run_main(["dry-run", "--diff", str(CASE / "pr.diff"), "--api", "hf",
                                   "--endpoint", srv.url, "--format", "json", "--min-severity", "info"])
    assert code == 0, err
    (finding,) = json.loads(out)["findings"]
    assert (finding["path"], finding["line"], finding["side"]) == ("jinja2/debug.py", 201, "RIGHT")


def test_review_chat_says_a_deletion_can_be_the_bug_only_when_asked(tmp_path: Path) -> None:
    template, shape = load_template("review-chat", None), ShapeEstimator()
    review_input = ReviewInput(info=SourceInfo(kind="diff"), diff=parse_diff((CASE / "pr.diff").read_bytes()))
    asked = load_settings(env={}, overrides={"review": {"point_at_removals": True}})
    for settings, says in ((Settings(), "Only added lines can hold a bug."),
                           (asked, "deleting a line can cause one too")):
        (request,) = prepare(review_input, settings, template, shape).requests
        assert says in request.messages[1].content
        # The plan priced the template with the same words: the count is the prompt's own.
        assert request.est_tokens == shape.count(request.prompt) + chat_overhead(len(request.messages))
    config = tmp_path / "review-bot.toml"
    config.write_text("[review]\npoint_at_removals = true\n", encoding="utf-8")
    code, out, err = run_main(["prompts", "--diff", str(CASE / "pr.diff"), "--config", str(config),
                               "--template", "review-chat"])
    assert code == 0, err
    assert "Which changed lines are most likely wrong?" in out and "of the line after it" in out
