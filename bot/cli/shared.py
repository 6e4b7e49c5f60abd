"""Helpers the commands share: Settings from the flags, the output file, exit codes, results
rendered in the chosen format, and the local diff source. No command is imported here."""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.config import OutputSettings, Settings, load_settings
from bot.errors import EXIT_FINDINGS, EXIT_OK, InputError
from bot.sources import ReviewInput
from bot.types import SEVERITY_RANK, RunResult


def flag_overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Command-line flags as config sections; only the flags actually given."""
    mapping = {
        "api": ("model", "api"), "endpoint": ("model", "endpoint"), "model": ("model", "model"),
        "model_path": ("model", "model_path"), "template": ("review", "template"),
        "max_requests": ("budget", "max_requests"), "concurrency": ("budget", "concurrency"),
        "rpm": ("budget", "requests_per_minute"), "max_minutes": ("budget", "max_minutes"),
        "min_severity": ("review", "min_severity"),
        "fail_on": ("review", "fail_on"), "prompts_dir": ("review", "prompts_dir"),
    }
    overrides: dict[str, dict[str, Any]] = {}
    for attr, (section, key) in mapping.items():
        value = getattr(args, attr, None)
        if value is not None:
            overrides.setdefault(section, {})[key] = value
    return overrides


def output_settings(args: argparse.Namespace, default_format: str = "text") -> OutputSettings:
    verbosity = -1 if args.quiet else args.verbose
    return OutputSettings(format=args.format or default_format, path=args.output,  # type: ignore[arg-type]
                          verbosity=verbosity)


def settings_from_args(args: argparse.Namespace, env: Mapping[str, str],
                       config_text: str | None = None, config_origin: str | None = None) -> Settings:
    return load_settings(config_path=args.config, env=env, overrides=flag_overrides(args),
                         output=output_settings(args), config_text=config_text, config_origin=config_origin)


def write_output(text: str, settings: Settings) -> None:
    if settings.output.path:
        try:
            with open(settings.output.path, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as err:
            raise InputError(f"--output {settings.output.path}: cannot write ({err.strerror})") from None
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def check_output_path(path: str) -> None:
    """Fail before any work when --output cannot be written: the model's findings must not be
    lost at the end of a run. An existing file is opened for appending (nothing changes in it);
    a new one is created and removed again, which is the only test that holds for every user,
    root included, and every file system (os.access answers yes for root on a read-only mount)."""
    target = Path(path)
    try:
        if target.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        if target.exists():
            if target.is_file():
                with open(target, "a", encoding="utf-8"):
                    pass
            elif not os.access(target, os.W_OK):  # a pipe or device: opening it could block
                raise PermissionError(errno.EACCES, "permission denied")
            return
        folder = target.parent
        if not folder.is_dir():
            raise FileNotFoundError(errno.ENOENT, f"no folder {str(folder)!r}")
        with open(target, "x", encoding="utf-8"):
            pass
        target.unlink()
    except OSError as err:
        raise InputError(f"--output {path}: cannot write there ({err.strerror or err}); "
                         "pass a file in an existing, writable folder") from None


def exit_code_for(result: RunResult, settings: Settings) -> int:
    fail_on = settings.review.fail_on
    if fail_on == "never":
        return EXIT_OK
    threshold = SEVERITY_RANK[fail_on]
    return EXIT_FINDINGS if any(SEVERITY_RANK[f.severity] >= threshold for f in result.findings) else EXIT_OK


def render_result(result: RunResult, settings: Settings) -> str:
    from bot.sinks import FORMATTERS

    return FORMATTERS[settings.output.format]().render(result)


def dump_json(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def wants_pull_request(args: argparse.Namespace) -> bool:
    """Whether the flags name a pull request (--repo/--pr); mixing it with a local source is a
    usage error, never a silent choice of one of them."""
    given = [flag for flag, attr in (("--diff", "diff"), ("--git", "git"), ("--repo", "repo"), ("--pr", "pr"))
             if getattr(args, attr, None) is not None]
    pull_request = any(flag in given for flag in ("--repo", "--pr"))
    if pull_request and any(flag in given for flag in ("--diff", "--git")):
        raise InputError(f"give one source: --diff PATH, --git BASE..HEAD or --repo OWNER/NAME --pr N, "
                         f"not {' and '.join(given)}")
    return pull_request


def read_local_source(args: argparse.Namespace, settings: Settings | None = None) -> ReviewInput:
    """`settings`: when given, [review] context = "function" reads head files where the source has them
    (a git range; a diff file has none)."""
    chosen = [name for name in ("diff", "git") if getattr(args, name, None)]
    if len(chosen) > 1:
        raise InputError("give one source: --diff PATH or --git BASE..HEAD, not both")
    if args.diff:
        from bot.sources.diff_file import read_diff_file

        return read_diff_file(args.diff)
    if args.git:
        from bot.sources.git_range import read_git_range

        return read_git_range(args.git, head_files=settings is not None and settings.review.context == "function")
    raise InputError("nothing to review: pass --diff PATH (or - for stdin), --git BASE..HEAD"
                     + (", or --repo OWNER/NAME --pr N" if hasattr(args, "repo") else ""))
