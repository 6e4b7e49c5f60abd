"""`review-bot prompts` and `review-bot dry-run`: the local commands.

Both build a ReviewInput from a diff file or a git range (dry-run also from a PR) and go
through the same pipeline as a CI run; a dry run only swaps the sink for stdout.
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.errors import InputError
from bot.progress import Progress
from bot.sources import ReviewInput

if TYPE_CHECKING:  # imported lazily at run time: `--help` must stay fast
    from bot.backends.llama_cpp import GgufVocabulary
    from bot.plan import TokenEstimator
    from bot.prompts import Template
    from bot.types import RunResult


def read_local_source(args: argparse.Namespace) -> ReviewInput:
    chosen = [name for name in ("diff", "git") if getattr(args, name, None)]
    if len(chosen) > 1:
        raise InputError("give one source: --diff PATH or --git BASE..HEAD, not both")
    if args.diff:
        from bot.sources.diff_file import read_diff_file

        return read_diff_file(args.diff)
    if args.git:
        from bot.sources.git_range import read_git_range

        return read_git_range(args.git)
    raise InputError("nothing to review: pass --diff PATH (or - for stdin), --git BASE..HEAD"
                     + (", or --repo OWNER/NAME --pr N" if hasattr(args, "repo") else ""))


def load_stages(settings: Settings) -> tuple[Template, TokenEstimator]:
    """The template and token estimator every command needs, from Settings."""
    from bot.plan import make_estimator
    from bot.prompts import load_template

    return load_template(settings.review.template, settings.review.prompts_dir), make_estimator(settings.model)


def local_vocabulary(settings: Settings, env: Mapping[str, str], progress: Progress) -> GgufVocabulary | None:
    """For api = llama-cpp, the model's vocabulary and context when its file is on disk, so that
    `prompts` plans exactly as a run does; None (and a note) when a run would first fetch it."""
    if settings.model.api != "llama-cpp":
        return None
    from bot.backends.llama_cpp import GgufVocabulary, check_model_file
    from bot.backends.model_fetch import cached_model_path

    path = cached_model_path(settings.model.model_path, settings.model.gguf, env)
    note = "planned with the token estimate and a window of {window}; a run plans with the model's own ({why})"
    if path is None:
        progress.info(note.format(window=settings.window, why="the model is not fetched yet"))
        return None
    if importlib.util.find_spec("llama_cpp") is None:
        progress.info(note.format(window=settings.window, why="llama-cpp-python is not installed"))
        return None
    return GgufVocabulary(check_model_file(path), settings.model.context_window)


def prompts_command(args: argparse.Namespace, env: Mapping[str, str], progress: Progress) -> int:
    from bot.cli import dump_json, settings_from_args, write_output
    from bot.pipeline import prepare

    settings = settings_from_args(args, env)
    review_input = read_local_source(args)
    template, estimator = load_stages(settings)
    vocabulary = local_vocabulary(settings, env, progress)
    if vocabulary is not None:
        from bot.pipeline import fit_to_model

        settings, estimator = fit_to_model(settings, vocabulary, estimator)
    try:
        prepared = prepare(review_input, settings, template, estimator)
    finally:
        if vocabulary is not None:
            vocabulary.close()
    for skip in prepared.skipped:
        progress.info(f"skipped: {skip.path} {skip.hunk or ''} ({skip.reason})".replace("  ", " "))
    progress.info(f"{len(prepared.requests)} requests planned, budget {prepared.request_budget} tokens "
                  f"each, template {template.name}")
    if settings.output.format == "json":
        data = {
            "requests": [{"id": r.id, "files": list(r.files), "hunks": [h.ref for h in r.hunks],
                          "est_tokens": r.est_tokens, "prompt": r.prompt} for r in prepared.requests],
            "skipped": [s.to_json() for s in prepared.skipped],
        }
        write_output(dump_json(data), settings)
        return 0
    chunks = []
    for request in prepared.requests:
        progress.info(f"request {request.id}: {len(request.hunks)} hunks, ~{request.est_tokens} tokens")
        chunks.append(f"===== request {request.id} ({', '.join(request.files)}; "
                      f"~{request.est_tokens} tokens) =====\n{request.prompt}")
        if not request.prompt.endswith("\n"):
            chunks[-1] += "\n"
    write_output("".join(chunks), settings)
    return 0


def dry_run_command(args: argparse.Namespace, env: Mapping[str, str], progress: Progress) -> int:
    from bot.cli import exit_code_for, render_result, settings_from_args, write_output

    if getattr(args, "repo", None) or getattr(args, "pr", None):
        if args.diff or args.git:
            raise InputError("give one source: --diff, --git, or --repo with --pr")
        from bot.review_command import review_pull_request

        return review_pull_request(args, env, progress, post=False)
    settings = settings_from_args(args, env)
    review_input = read_local_source(args)
    result = run_review(review_input, settings, env, progress)
    write_output(render_result(result, settings), settings)
    return exit_code_for(result, settings)


def run_review(review_input: ReviewInput, settings: Settings, env: Mapping[str, str],
               progress: Progress) -> RunResult:
    """Wire the stages from Settings and run the pipeline once."""
    from bot.backends import make_backend
    from bot.pipeline import run

    template, estimator = load_stages(settings)
    backend = make_backend(settings, env)
    progress.info(f"reviewing with {settings.model_label} ({settings.model.api}) template {template.name}")
    result = run(review_input, backend, settings, template, estimator, on_event=progress.model_event)
    if result.stats.secrets_redacted:
        progress.info(f"redacted {result.stats.secrets_redacted} credentials before review")
    progress.info(f"done: {len(result.findings)} findings, {result.stats.requests} requests, "
                  f"{result.stats.retries} retries, {len(result.skipped)} parts skipped, "
                  f"{result.stats.elapsed_s:.1f} s")
    return result

