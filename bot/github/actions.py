"""GitHub Actions workflow commands the bot writes itself: groups, masks, notices.

Only text we wrote goes into a command name; everything else goes through the runner's
escaping (bot.logsafe), so a title or message can never end the command or start another.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

from bot.logsafe import escape_command_data, escape_command_property, escape_log


def in_actions(env: Mapping[str, str]) -> bool:
    return env.get("GITHUB_ACTIONS", "").strip().lower() == "true"


def add_mask(value: str, stream: TextIO) -> None:
    """Ask the runner to hide `value` in the log from now on (no-op for short values)."""
    for line in value.splitlines():
        # A mask is one line; masking a 1-3 character string would blank out half the log.
        if len(line.strip()) >= 4:
            stream.write(f"::add-mask::{escape_command_data(line)}\n")
    stream.flush()


def notice(message: str, stream: TextIO, title: str = "review-bot") -> None:
    stream.write(f"::notice title={escape_command_property(escape_log(title))}::"
                 f"{escape_command_data(escape_log(message))}\n")
    stream.flush()


@contextmanager
def group(title: str, stream: TextIO, enabled: bool = True) -> Iterator[None]:
    """A collapsible section of the log; does nothing outside Actions (`enabled=False`)."""
    if enabled:
        stream.write(f"::group::{escape_command_data(escape_log(title))}\n")
        stream.flush()
    try:
        yield
    finally:
        if enabled:
            stream.write("::endgroup::\n")
            stream.flush()


@contextmanager
def commands_stopped(stream: TextIO, enabled: bool = True) -> Iterator[None]:
    """While inside, the runner ignores workflow commands: for printing untrusted text verbatim.

    The resume token is random, so the text can't guess it and switch commands back on.
    """
    token = secrets.token_hex(16)
    if enabled:
        stream.write(f"::stop-commands::{token}\n")
        stream.flush()
    try:
        yield
    finally:
        if enabled:
            stream.write(f"::{token}::\n")
            stream.flush()
