"""Make untrusted text (PR text, model output, paths) safe to print to an Actions log.

A log line that starts with `::` (or `##[`) is a workflow command; text we did not write
must never start one. We neutralise those prefixes on every line and strip control
characters, so a model answer can't set outputs, add masks or stop commands.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x1b]")
_COMMAND_PREFIX = re.compile(r"^(\s*)(::|##\[)", re.MULTILINE)


def escape_log(text: str) -> str:
    """Untrusted text -> text that can't form a workflow command on any of its lines."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _COMMAND_PREFIX.sub(lambda m: m.group(1) + "\u200b" + m.group(2), text)


def escape_command_data(text: str) -> str:
    """Escape a workflow command's message part (after the final `::`), as the runner expects."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_command_property(text: str) -> str:
    """Escape a workflow command property value (file=..., title=...)."""
    return escape_command_data(text).replace(":", "%3A").replace(",", "%2C")


def one_line(text: object, limit: int | None = None) -> str:
    """Text (or an error's message) flattened to one line: runs of whitespace, line breaks
    included, become one space. Past `limit` characters it is cut to `limit`, "…" the last.
    An error with no message gives its type's name."""
    flat = " ".join(str(text).split())
    if not flat and isinstance(text, BaseException):
        flat = type(text).__name__
    return flat[: limit - 1] + "\u2026" if limit is not None and len(flat) > limit else flat
