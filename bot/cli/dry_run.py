"""`review-bot dry-run`: review a diff file, a git range or a pull request and print the findings.

The same pipeline as a CI run (bot.run); only the sink differs: stdout instead of GitHub.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from bot.cli.shared import exit_code_for, read_local_source, render_result, settings_from_args, write_output
from bot.progress import Progress
from bot.run import run_review


def dry_run_command(args: argparse.Namespace, env: Mapping[str, str], progress: Progress) -> int:
    """A diff file or a git range (`dry-run --repo --pr` is dispatched to the review command's path
    by `bot.cli.main`)."""
    settings = settings_from_args(args, env)
    review_input = read_local_source(args, settings)
    result = run_review(review_input, settings, env, progress)
    write_output(render_result(result, settings), settings)
    return exit_code_for(result, settings)
