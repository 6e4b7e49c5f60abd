"""Command line: `review-bot dry-run | review | prompts | eval`: parsing and dispatch only.

One module per command (bot/cli/<command>.py), each a function returning an exit code; the
helpers they share are in bot/cli/shared.py. `main` is the one place a BotError becomes its
exit code and one line on stderr (a traceback only with -v), with tokens scrubbed.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from bot import __version__
from bot.config import load_settings
from bot.errors import EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, BotError, InputError, redact_tokens
from bot.progress import Progress, progress_interval

FORMATS = ("text", "json", "markdown", "sarif", "github")
PROMPTS_FORMATS = ("text", "json")  # `prompts` prints prompts, not findings: no sarif/markdown/github


def _add_common(parser: argparse.ArgumentParser, formats: Sequence[str] = FORMATS, timed: bool = True) -> None:
    group = parser.add_argument_group("settings (override .github/review-bot.toml)")
    group.add_argument("--config", metavar="PATH", help="config file (default .github/review-bot.toml)")
    group.add_argument("--api", choices=("llama-cpp", "hf", "openai", "openai-chat"), help="model wire format")
    group.add_argument("--endpoint", metavar="URL",
                       help="model server endpoint, for a remote api (hf, openai or openai-chat)")
    group.add_argument("--model", metavar="ID", help="model id sent to a server (default bigcode/starcoder2-15b)")
    group.add_argument("--model-path", metavar="GGUF", help="a GGUF file on disk for the in-process model "
                       "(default: [model] gguf, StarCoder2-3B from the Hugging Face Hub, fetched once)")
    group.add_argument("--template", metavar="NAME", help="prompt template, one of: review, review-chat, "
                       "review-instruct or starcoder2-pr; or NAME.j2 of your own in [review] prompts_dir")
    group.add_argument("--max-requests", type=int, metavar="N", help="model requests per run")
    group.add_argument("--concurrency", type=int, metavar="N", help="model requests at once")
    group.add_argument("--rpm", type=float, metavar="N", help="model requests per minute")
    if timed:  # eval measures whole cases: a budget cutting them short would skew its scores
        group.add_argument("--max-minutes", type=float, metavar="N",
                           help="wall-clock minutes for the run (default 45); requests that cannot end in time "
                                "are skipped (time_budget) and what was found is reported")
    group.add_argument("--min-severity", choices=("info", "warning", "error"))
    group.add_argument("--fail-on", choices=("never", "info", "warning", "error"),
                       help="exit 1 when a finding is at or above this severity")
    out = parser.add_argument_group("output")
    out.add_argument("--format", choices=formats, default=None, help="result format (default text)")
    out.add_argument("--output", metavar="PATH", help="write results here instead of stdout")
    out.add_argument("-v", "--verbose", action="count", default=0, help="more detail; tracebacks on errors")
    out.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def _add_diff_source(parser: argparse.ArgumentParser, with_pr: bool) -> None:
    source = parser.add_argument_group("source (one of)")
    source.add_argument("--diff", metavar="PATH", help="a unified diff file, or - for stdin")
    source.add_argument("--git", metavar="BASE..HEAD", help="a range of the git repository here")
    if with_pr:
        source.add_argument("--repo", metavar="OWNER/NAME", help="a GitHub repository (with --pr)")
        source.add_argument("--pr", type=int, metavar="N", help="a pull request number (with --repo)")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (what is wrong, where to look), not the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"review-bot: error: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="review-bot", description="Review a pull request's diff for bugs with a StarCoder2 model.")
    parser.add_argument("--version", action="version", version=f"review-bot {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    dry = commands.add_parser("dry-run", help="review a diff, a git range or a PR and print the findings")
    _add_diff_source(dry, with_pr=True)
    _add_common(dry)
    review = commands.add_parser("review", help="review a pull request and post one GitHub review")
    review.add_argument("--repo", metavar="OWNER/NAME", help="default: from the Actions event")
    review.add_argument("--pr", type=int, metavar="N", help="default: from the Actions event")
    review.add_argument("--mode", choices=("full", "incremental"), help="review everything or what is new")
    review.add_argument("--dry-run", action="store_true", help="print instead of posting")
    _add_common(review)
    prompts = commands.add_parser("prompts", help="print the prompts that would be sent; no model call")
    _add_diff_source(prompts, with_pr=False)
    _add_common(prompts, PROMPTS_FORMATS)
    evaluate = commands.add_parser("eval", help="measure review quality on a labelled set")
    evaluate.add_argument("--set", dest="eval_set", metavar="DIR", required=True, help="labelled cases")
    evaluate.add_argument("--templates", metavar="A,B", help="templates to compare (default: every packaged one)")
    evaluate.add_argument("--limit", type=int, metavar="N", help="only the first N cases")
    evaluate.add_argument("--skip", type=int, default=0, metavar="N", help="leave out the first N cases")
    evaluate.add_argument("--haystack", metavar="CORPUS_DIR",
                          help="review each case inside unrelated changes from this corpus (e.g. "
                               "tests/fixtures/corpus/werkzeug)")
    evaluate.add_argument("--haystack-files", type=int, metavar="K",
                          help="unrelated whole file diffs (5-150 changed lines) per case (default 4)")
    evaluate.add_argument("--haystack-hunks", type=int, metavar="K",
                          help="instead, unrelated hunks of at most 30 lines per case (the first haystack)")
    evaluate.add_argument("--cache", metavar="DIR", help="keep model answers here and reuse them")
    evaluate.add_argument("--cache-only", action="store_true",
                          help="score only the answers stored in --cache; a missing one fails its case")
    evaluate.add_argument("--agree-with", metavar="CONFIG",
                          help="also run each template under this config file (a second sample of the model's "
                               "reading) and add a row of the findings both samples report (same file, within "
                               "3 lines)")
    evaluate.add_argument("--prompts-dir", metavar="DIR",
                          help="read templates from this folder first ([review] prompts_dir), for every config")
    _add_common(evaluate, timed=False)
    return parser


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = dict(os.environ) if env is None else dict(env)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse already printed its one-line usage error
        return EXIT_OK if stop.code == 0 else EXIT_USAGE
    secrets = [env.get(name, "") for name in ("HF_TOKEN", "GITHUB_TOKEN")]
    progress = Progress(verbosity=-1 if args.quiet else args.verbose, stream=sys.stderr,
                        interval_s=progress_interval(env))
    try:
        if getattr(args, "output", None):
            from bot.cli.shared import check_output_path

            check_output_path(args.output)  # before anything is read, loaded or sent
        if args.command == "prompts":
            from bot.cli.prompts import prompts_command
            return prompts_command(args, env, progress)
        if args.command == "dry-run":
            from bot.cli.shared import wants_pull_request

            if wants_pull_request(args):
                # The review command's path, printing instead of posting: one code path for a
                # pull request (commands do not import each other, so the dispatch is here).
                from bot.cli.review import review_pull_request
                return review_pull_request(args, env, progress, post=False)
            from bot.cli.dry_run import dry_run_command
            return dry_run_command(args, env, progress)
        if args.command == "review":
            from bot.cli.review import review_command
            return review_command(args, env, progress)
        if args.command == "eval":
            from bot.cli.eval import eval_command
            return eval_command(args, env, progress)
        raise InputError(f"unknown command {args.command!r}")
    except BotError as err:
        secrets.append(env.get(_token_env_name(args, env), ""))
        if args.verbose:
            traceback.print_exc(file=_Redacting(sys.stderr, secrets))
        progress.error(redact_tokens(str(err), secrets))
        return err.exit_code
    except KeyboardInterrupt:
        progress.error("interrupted")
        return 130
    except Exception as err:  # noqa: BLE001 - the one place an unexpected error becomes a clean exit
        if args.verbose:
            traceback.print_exc(file=_Redacting(sys.stderr, secrets))
        progress.error(redact_tokens(f"internal error ({type(err).__name__}: {err}); rerun with -v "
                                     "and report it", secrets))
        return EXIT_UNAVAILABLE


def _token_env_name(args: argparse.Namespace, env: Mapping[str, str]) -> str:
    """The model token's variable, for scrubbing. In GitHub mode the config is the base commit's,
    never the workspace's (which may be the PR's head): that command scrubs its own token."""
    if args.command == "review" or getattr(args, "repo", None) or getattr(args, "pr", None):
        return "HF_TOKEN"
    try:
        return load_settings(config_path=args.config, env=env).model.token_env
    except BotError:
        return "HF_TOKEN"


class _Redacting:
    """A stream wrapper that scrubs tokens from tracebacks printed with -v."""

    def __init__(self, stream: Any, secrets: list[str]):
        self.stream, self.secrets = stream, secrets

    def write(self, text: str) -> int:
        return int(self.stream.write(redact_tokens(text, self.secrets)))

    def flush(self) -> None:
        self.stream.flush()
