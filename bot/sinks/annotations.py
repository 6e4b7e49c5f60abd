"""`--format github`: Actions workflow-command annotations, one line per finding.

Everything we did not write goes through the runner's own escaping (`%`, CR, LF, and `:`/`,`
in properties), so each finding stays one command line: a message can't end the command
early or start another one (`::set-output`, `::add-mask::`, `::stop-commands::`).
"""

from __future__ import annotations

from bot.logsafe import escape_command_data, escape_command_property, escape_log
from bot.sinks.terminal import skipped_text
from bot.types import Finding, RunResult

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}
TITLE = "review-bot"


def _property(text: str) -> str:
    return escape_command_property(escape_log(text))


def annotation(finding: Finding) -> str:
    props = [f"file={_property(finding.path)}"]
    message = finding.message
    if finding.side == "RIGHT":
        if finding.start_line is not None:
            props += [f"line={finding.start_line}", f"endLine={finding.line}"]
        else:
            props.append(f"line={finding.line}")
    else:
        # The annotation is drawn on the head version, where a deleted line has no number.
        message += f"\n(on line {finding.line} of the old file, deleted by this change)"
    props.append(f"title={_property(TITLE)}")
    return f"::{COMMANDS[finding.severity]} {','.join(props)}::{escape_command_data(message)}"


class AnnotationsFormatter:
    name = "github"

    def render(self, result: RunResult) -> str:
        lines = [annotation(f) for f in sorted(result.findings, key=lambda f: (f.path, f.line))]
        if result.skipped:
            parts = "; ".join(skipped_text(s) for s in result.skipped)
            count = len(result.skipped)
            text = f"{count} part{'s' if count != 1 else ''} of the diff not reviewed: {parts}"
            lines.append(f"::notice title={_property(TITLE)}::{escape_command_data(escape_log(text))}")
        return "".join(line + "\n" for line in lines)
