"""Answers recorded from a real code model (Qwen2.5-Coder-1.5B-Instruct, in process), replayed.

Each fixture in tests/fixtures/real_answers/ holds the diff, the request the bot made from it
(the real prompt or chat messages, and the hunks it carried), the generation parameters and
the model's raw answer (bench/record.py wrote them). Replaying it through the findings stage
must give exactly the findings below: where the model pointed, in the model's own words.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.config import ReviewSettings
from bot.diff.parse import parse_diff
from bot.findings.grounding import collect_findings
from bot.prompts.templates import load_template
from bot.types import ChatMessage, Completion, Request
from tests.conftest import FIXTURES

ANSWERS = FIXTURES / "real_answers"
ALL = ReviewSettings(min_severity="info", max_comments=100, max_comments_per_file=100)

# fixture -> [(path, line, side, message)]; messages are the model's text, sanitised only.
EXPECTED: dict[str, list[tuple[str, int, str, str]]] = {
    "review--60a7e775d4--1": [
        ("jinja2/debug.py", 198, "RIGHT", "locals = ctx.get_all().copy() -> locals = ctx.get_all()")],
    # "wrong logic" and "None" only read the prompt's own list back: dropped as echoes
    "review--9f30bc8c4d--1": [],
    # one remark repeated until the token limit: one finding, the cut last line dropped
    "review--dc3b431829--1": [
        ("jinja2/bccache.py", 158, "RIGHT",
         "wrong API use: filename is not None, but isinstance(filename, text_type) is False"),
        ("jinja2/bccache.py", 158, "RIGHT",
         "wrong API use: filename is not None, but isinstance(filename, unicode) is False")],
    # the model cites a number one off but quotes the code: the quoted line wins (all three are
    # the labelled bug lines; by number alone none was)
    "review-chat--60a7e775d4--1": [
        ("jinja2/debug.py", 201, "RIGHT",
         "`locals = ctx.get_all()` should not be used. Use `ctx.locals` instead.")],
    "review-chat--9f30bc8c4d--1": [
        ("jinja2/utils.py", 570, "RIGHT", "`return rv` should be `return Markup(rv)`")],
    "review-chat--dc3b431829--1": [("jinja2/bccache.py", 163, "RIGHT", "`filename` should be `unicode`")],
    # Qwen answers "No findings" to this StarCoder2-Instruct layout; the stop string ends it at once
    "review-instruct--60a7e775d4--1": [],
    "review-instruct--9f30bc8c4d--1": [],
    "review-instruct--dc3b431829--1": [],
    # the comment lands on the line the prompt asked about, in the model's words
    "starcoder2-pr--60a7e775d4--1": [
        ("jinja2/debug.py", 201, "RIGHT",
         "I think the `copy()` method is unnecessary here. We can directly assign the result of `ctx.get_all()` "
         "to `locals`. This will avoid creating a new copy of the dictionary, which can save memory and improve "
         "performance.")],
    # cut by the token limit: the comment keeps its whole lines, at most 1,500 characters ("..." = prefix)
    "starcoder2-pr--9f30bc8c4d--1": [
        ("jinja2/utils.py", 570, "RIGHT",
         "This looks like a good improvement to handle special characters in HTML. However, there are a few "
         "things to consider:\n\n1. **Unicode Escaping**: ...")],
    "starcoder2-pr--dc3b431829--1": [],  # a lone space is no comment
}


def fixtures() -> list[Path]:
    return sorted(ANSWERS.glob("*.json"))


def replay(record: dict[str, Any]) -> Request:
    hunks_by_ref = {(h.path, h.ref): h for f in parse_diff(record["diff"]).files for h in f.hunks}
    sent = record["request"]
    hunks = tuple(hunks_by_ref[(path, ref)] for path, ref in sent["hunks"])
    messages = tuple(ChatMessage(m["role"], m["content"]) for m in sent["messages"])
    return Request(id=sent["id"], hunks=hunks, prompt=sent["prompt"], est_tokens=0, messages=messages)


def test_every_template_has_recorded_answers() -> None:
    templates = {path.name.split("--")[0] for path in fixtures()}
    assert templates == {"review", "review-instruct", "starcoder2-pr", "review-chat"}
    assert {path.stem for path in fixtures()} == set(EXPECTED)


@pytest.mark.parametrize("path", fixtures(), ids=[p.stem for p in fixtures()])
def test_recorded_answer_gives_exactly_these_findings(path: Path) -> None:
    record = json.loads(path.read_text(encoding="utf-8"))
    request = replay(record)
    template = load_template(record["template"], None)
    answer = record["answer"]
    completion = Completion(answer["text"], answer["finish_reason"], answer["prompt_tokens"],
                            answer["completion_tokens"])
    outcome = collect_findings([(request, completion)], template.parser, ALL)
    found = [(f.path, f.line, f.side, f.message) for f in outcome.findings]
    expected = EXPECTED[path.stem]
    assert [f[:3] for f in found] == [e[:3] for e in expected]
    for (*_, message), (*_, wanted) in zip(found, expected, strict=True):
        assert message.startswith(wanted[:-3]) if wanted.endswith("...") else message == wanted
    for _, _, _, message in found:  # the model's words, never a line of the prompt
        assert message not in request.prompt
