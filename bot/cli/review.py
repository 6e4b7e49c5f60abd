"""`review-bot review` (and `dry-run --repo --pr`): review a pull request on GitHub.

The pull request, its config and its prompt templates are read from GitHub at the base
commit, never from the workspace (which may hold the PR's head). The findings always reach
stdout and the job summary, even when posting fails for good (then exit 3).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.shared import exit_code_for, render_result, settings_from_args, write_output
from bot.config import Settings
from bot.errors import BotError, GitHubError, InputError, redact_tokens
from bot.github import actions
from bot.progress import Progress
from bot.run import CHAT_TEMPLATE, COMPLETION_TEMPLATE, run_review
from bot.types import ParsedDiff, RunResult

if TYPE_CHECKING:  # imported lazily at run time: `--help` must stay fast
    from bot.github.api import GitHubApi
    from bot.sinks.github_review import PostOutcome
    from bot.sources import ReviewInput
    from bot.sources.pull_request import PullRequestMeta


def review_command(args: argparse.Namespace, env: Mapping[str, str], progress: Progress) -> int:
    return review_pull_request(args, env, progress, post=not args.dry_run)


def _target(args: argparse.Namespace, env: Mapping[str, str]) -> tuple[str, int, str]:
    """(repo, pr, mode) from the flags, else from the Actions event."""
    from bot.sources.event import read_event

    repo, pr, mode = getattr(args, "repo", None), getattr(args, "pr", None), getattr(args, "mode", None)
    if repo and pr is not None:  # --pr 0 is refused by open_pull_request, naming the number
        return repo, pr, mode or "full"
    if repo or pr is not None:
        raise InputError("pass both --repo OWNER/NAME and --pr N (or neither, inside GitHub Actions)")
    if not env.get("GITHUB_EVENT_NAME"):
        raise InputError("no pull request given: pass --repo OWNER/NAME --pr N, or run in GitHub Actions")
    context = read_event(env)
    if context.skip_reason:
        raise _NothingToDo(context.skip_reason)
    return context.repo, context.pr, mode or context.mode


class _NothingToDo(Exception):
    """Not an error: this event or pull request asks for no review (exit 0 with a notice)."""


@contextmanager
def _templates_from_base(api: GitHubApi, settings: Settings, base_sha: str) -> Iterator[Settings]:
    """Use the repository's template overrides (review and summary) only as they are at the base commit."""
    prompts_dir = settings.review.prompts_dir
    # Unset, the template is chosen by the model once its file is found: either default may be used.
    chosen = (settings.review.template,) if settings.review.template else (COMPLETION_TEMPLATE, CHAT_TEMPLATE)
    names = (*(f"{name}.j2" for name in chosen), "summary.md.j2")
    folder_in_repo = prompts_dir.rstrip("/") if prompts_dir else None
    from bot.github.api import MAX_REPO_TEXT_BYTES

    texts = {name: api.file_text(f"{folder_in_repo}/{name}", base_sha, max_bytes=MAX_REPO_TEXT_BYTES)
             for name in names} if folder_in_repo else {}
    found = {name: text for name, text in texts.items() if text is not None}
    if not found:
        yield replace(settings, review=replace(settings.review, prompts_dir=None))
        return
    with tempfile.TemporaryDirectory(prefix="review-bot-prompts-") as folder:
        for name, text in found.items():
            Path(folder, name).write_text(text, encoding="utf-8")
        yield replace(settings, review=replace(settings.review, prompts_dir=folder))


def review_pull_request(args: argparse.Namespace, env: Mapping[str, str], progress: Progress,
                        post: bool) -> int:
    """Review a pull request; the job summary says what happened in every run, failed ones too."""
    from bot.sinks.step_summary import write_step_note

    try:
        return _review_pull_request(args, env, progress, post)
    except _NothingToDo as nothing:
        progress.info(f"nothing to review: {nothing}")
        write_step_note(env, f"Review: skipped: {nothing}")
        return 0
    except BotError as err:
        known = [env.get(name, "") for name in ("GITHUB_TOKEN", "HF_TOKEN")]
        write_step_note(env, f"Review: not done: {redact_tokens(str(err), known)}")
        raise


def _review_pull_request(args: argparse.Namespace, env: Mapping[str, str], progress: Progress,
                         post: bool) -> int:
    from bot.github.api import ClientOptions, GitHubApi, github_from_env
    from bot.sources.pull_request import CONFIG_PATH, open_pull_request

    in_actions = actions.in_actions(env)
    if in_actions:
        for name in ("GITHUB_TOKEN", "HF_TOKEN"):
            if env.get(name):
                actions.add_mask(env[name], sys.stdout)
    repo, number, mode = _target(args, env)
    # Printing instead of posting needs only reads: a read-only token does, and for a public
    # repository no token at all. GitHub: "You can make unauthenticated requests if you are only
    # fetching public data", 60 an hour per IP address (docs.github.com/rest/using-the-rest-api/
    # rate-limits-for-the-rest-api).
    api = GitHubApi(github_from_env(env, read_only=not post), repo)
    if not post and not env.get("GITHUB_TOKEN", "").strip():
        progress.info(f"no GITHUB_TOKEN: reading {repo} anonymously (public repositories only, "
                      "60 requests an hour)")
    # In review mode --config names a file in the repository, read at the base commit.
    meta = open_pull_request(api, number, config_path=args.config or CONFIG_PATH)
    local_args = argparse.Namespace(**{**vars(args), "config": None})
    settings = settings_from_args(local_args, env, config_text=meta.config_text or "",
                                  config_origin=meta.config_origin)
    # From here on every GitHub wait is capped by the budget's max_wait_s.
    api = api.with_github(github_from_env(env, ClientOptions(max_wait_s=settings.budget.max_wait_s),
                                          read_only=not post))
    # The model token's name comes from the base commit's config: mask and scrub that one too.
    model_token = env.get(settings.model.token_env, "")
    if in_actions and model_token:
        actions.add_mask(model_token, sys.stdout)
    try:
        return _review_loaded(api, meta, settings, mode, env, progress, post, in_actions)
    except BotError as err:
        err.args = (redact_tokens(str(err), [model_token]),)
        raise


def _review_loaded(api: GitHubApi, meta: PullRequestMeta, settings: Settings, mode: str, env: Mapping[str, str],
                   progress: Progress, post: bool, in_actions: bool) -> int:
    from bot.sources.pull_request import load_pull_request, skip_reason

    repo, number = meta.repo, meta.number
    reason = skip_reason(meta, settings.review.review_drafts)
    if reason:
        if in_actions:
            actions.notice(reason, sys.stdout)
        raise _NothingToDo(reason)
    incremental = settings.review.incremental and mode == "incremental"
    source = load_pull_request(api, meta, incremental=incremental)
    meta = source.meta  # a push while reading moves the head: review (and post on) the new one
    progress.info(f"{repo}#{number}: head {meta.head_sha[:12]}, diff via {source.via}"
                  + (f", incremental since {source.last_reviewed_head[:12]}"
                     if incremental and source.last_reviewed_head else ""))
    review_input = _with_head_files(api, source.review_input, meta.head_sha, settings, progress)
    with _templates_from_base(api, settings, meta.base_sha) as settings:
        with actions.group("model requests", sys.stderr, enabled=in_actions):
            result = run_review(review_input, settings, env, progress)
        if not post:
            _print_result(result, settings, in_actions)
            _summary(result, env, settings, None)
            return exit_code_for(result, settings)
        return _post(api, source.full_diff, result, settings, env, progress, in_actions)


def _with_head_files(api: GitHubApi, review_input: ReviewInput, head_sha: str, settings: Settings,
                     progress: Progress) -> ReviewInput:
    """[review] context = "function": the head text of the changed Python files the filters keep."""
    if settings.review.context != "function":
        return review_input
    from bot.plan.filters import apply_filters
    from bot.prompts.enclosing import wants_head_file
    from bot.sources.pull_request import MAX_HEAD_FILES, read_head_files

    kept, _ = apply_filters(review_input.diff.files, settings.review)
    paths = [f.path for f in kept if wants_head_file(f)]
    texts, requests = read_head_files(api, head_sha, paths)
    if requests:
        more = f"; {len(paths) - MAX_HEAD_FILES} more go without" if len(paths) > MAX_HEAD_FILES else ""
        progress.info(f"context: {len(texts)} head files read with {requests} GitHub requests{more}")
    return replace(review_input, head_files=texts)


def _post(api: GitHubApi, diff: ParsedDiff, result: RunResult, settings: Settings, env: Mapping[str, str],
          progress: Progress, in_actions: bool) -> int:
    from bot.sinks.github_review import GitHubReviewSink

    sink = GitHubReviewSink(api, diff, settings)
    try:
        outcome = sink.post(result)
    except GitHubError:
        # Nothing is lost: the findings go to stdout and the summary before we exit 3.
        _print_result(result, settings, in_actions)
        _summary(result, env, settings, None)
        raise
    if outcome.status != "read_only":
        _record_head(api, result, progress)
    if outcome.status == "read_only":
        progress.warning("the token cannot post reviews (read-only, e.g. a fork's pull request); "
                         "findings are shown as annotations and in the job summary")
        with _stopped(in_actions, annotations=True):
            sys.stdout.write(outcome.annotations)
    elif outcome.message:
        progress.info(outcome.message)
    _print_result(result, settings, in_actions)
    _summary(result, env, settings, outcome)
    return exit_code_for(result, settings)


def _record_head(api: GitHubApi, result: RunResult, progress: Progress) -> None:
    """The incremental baseline: a commit status on the reviewed head (bot.github.baseline)."""
    from bot.github.baseline import coverage, record_reviewed_head

    head = result.source_info.head_sha
    if not head:
        return
    failed = record_reviewed_head(api, head, len(result.findings), coverage(result.skipped))
    if failed:
        progress.info(f"the reviewed head was not recorded as a commit status ({failed}); the next "
                      "incremental run starts from the last posted review (grant `statuses: write`)")


def _stopped(in_actions: bool, annotations: bool = False) -> AbstractContextManager[None]:
    """Untrusted text goes to the log between ::stop-commands:: markers (annotations are ours)."""
    if annotations or not in_actions:
        return nullcontext()
    return actions.commands_stopped(sys.stdout)


def _print_result(result: RunResult, settings: Settings, in_actions: bool) -> None:

    text = render_result(result, settings)
    if settings.output.path or settings.output.format == "github":
        write_output(text, settings)
        return
    with _stopped(in_actions):
        write_output(text, settings)


def _summary(result: RunResult, env: Mapping[str, str], settings: Settings, outcome: PostOutcome | None) -> None:
    from bot.sinks.step_summary import write_step_summary

    write_step_summary(result, env, settings, outcome)
