"""The one user-facing error tree, and the one place that maps it to exit codes.

Every message says what is wrong and what to do, in one line. Messages never carry a
token: `redact_tokens` scrubs any known secret value before anything is printed.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1  # findings at or above --fail-on
EXIT_USAGE = 2  # bad usage, config or input
EXIT_UNAVAILABLE = 3  # model or GitHub unreachable or refusing after retries


class BotError(Exception):
    """An error the user can act on. `str(err)` is the one line we print."""

    exit_code = EXIT_UNAVAILABLE


class ConfigError(BotError):
    exit_code = EXIT_USAGE


class InputError(BotError):
    exit_code = EXIT_USAGE


class ModelError(BotError):
    exit_code = EXIT_UNAVAILABLE


class GitHubError(BotError):
    exit_code = EXIT_UNAVAILABLE


def redact_tokens(text: str, secrets: list[str]) -> str:
    """Replace every known secret value in `text`; short values are left alone to avoid noise."""
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, "***")
    return text
