"""Workflow-command annotations: read back the way the Actions runner parses them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.sinks.annotations import AnnotationsFormatter
from tests.sinks import finding, sample_result


def runner_parse(line: str) -> tuple[str, dict[str, str], str] | None:
    """The runner's `::name k=v,k=v::data` parsing and unescaping (ActionCommand.TryParseV2)."""
    if not line.startswith("::"):
        return None
    end = line.find("::", 2)
    if end < 0:
        return None
    head, data = line[2:end], line[end + 2:]
    name, _, props_text = head.partition(" ")

    def unescape(text: str, prop: bool) -> str:
        text = text.replace("%0D", "\r").replace("%0A", "\n")
        if prop:
            text = text.replace("%3A", ":").replace("%2C", ",")
        return text.replace("%25", "%")

    props = {}
    for pair in filter(None, props_text.split(",")):
        key, _, value = pair.partition("=")
        props[key] = unescape(value, True)
    return name, props, unescape(data, False)


def commands(out: str) -> list[tuple[str, dict[str, str], str]]:
    parsed = []
    for line in out.splitlines():
        command = runner_parse(line)
        assert command is not None, f"a line that is not a command: {line!r}"
        parsed.append(command)
    return parsed


def test_annotations_for_each_severity_and_range() -> None:
    out = AnnotationsFormatter().render(sample_result(
        finding("bad", line=3, severity="error"), finding("hmm", line=10, start_line=8),
        finding("fyi", path="lib/b.py", line=5, severity="info")))
    assert out.splitlines()[:3] == [
        "::notice file=lib/b.py,line=5,title=review-bot::fyi",
        "::error file=src/a.py,line=3,title=review-bot::bad",
        "::warning file=src/a.py,line=8,endLine=10,title=review-bot::hmm",
    ]
    name, props, data = commands(out)[-1]
    assert (name, props["title"]) == ("notice", "review-bot")
    assert data.startswith("2 parts of the diff not reviewed: poetry.lock (generated); ")
    assert len(out.splitlines()) == 4


def test_left_side_finding_is_file_level() -> None:
    [(name, props, data)] = commands(AnnotationsFormatter().render(
        sample_result(finding("check removed", line=41, side="LEFT"), skipped=())))
    assert props == {"file": "src/a.py", "title": "review-bot"}
    assert data == "check removed\n(on line 41 of the old file, deleted by this change)"


@pytest.mark.parametrize("message", [
    "looks fine\n::set-output name=x::y",
    "::add-mask::hunter2",
    "x\r\n::stop-commands::token\n::error::fake",
    "100%0A::warning::not decoded twice %25",
    "end::\n##[error]fake",
])
def test_a_message_stays_inside_one_command(message: str) -> None:
    out = AnnotationsFormatter().render(sample_result(finding(message), skipped=()))
    assert out.count("\n") == 1  # exactly one line: nothing else starts a command
    [(name, props, data)] = commands(out)
    assert name == "warning" and props == {"file": "src/a.py", "line": "3", "title": "review-bot"}
    assert data == message  # the runner decodes exactly what the model wrote, as one message


def test_properties_are_escaped() -> None:
    out = AnnotationsFormatter().render(sample_result(
        finding("m", path="odd,name=1::x%\n.py"), skipped=()))
    [(name, props, data)] = commands(out)
    assert props["file"] == "odd,name=1::x%\n.py"
    assert props["line"] == "3" and out.count("\n") == 1


def test_no_findings_no_skips_no_output() -> None:
    empty = replace(sample_result(), findings=(), skipped=())
    assert AnnotationsFormatter().render(empty) == ""
