"""One review run wired from Settings: the template and token estimator every command needs,
the backend from its registry, and the pipeline run once with progress on stderr.

Below the commands (dry-run, review, eval, benchmarks) and above the stages: the commands
share it instead of importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.progress import Progress
from bot.sources import ReviewInput

if TYPE_CHECKING:  # imported lazily at run time: `--help` must stay fast
    from bot.plan.tokens import TokenEstimator
    from bot.prompts.templates import Template
    from bot.types import RunResult


def load_stages(settings: Settings) -> tuple[Template, TokenEstimator]:
    """The template and token estimator every command needs, from Settings."""
    from bot.plan.tokens import make_estimator
    from bot.prompts.templates import load_template

    return load_template(settings.review.template, settings.review.prompts_dir), make_estimator(settings.model)


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

