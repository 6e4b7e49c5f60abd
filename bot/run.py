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
    from bot.backends.base import Backend, GenerationParams, Prompt
    from bot.plan.tokens import TokenEstimator
    from bot.prompts.templates import Template
    from bot.types import Completion, RunResult


def load_stages(settings: Settings) -> tuple[Template, TokenEstimator]:
    """The template and token estimator every command needs, from Settings."""
    from bot.plan.tokens import make_estimator
    from bot.prompts.templates import load_template

    return load_template(settings.review.template, settings.review.prompts_dir), make_estimator(settings.model)


def run_review(review_input: ReviewInput, settings: Settings, env: Mapping[str, str],
               progress: Progress) -> RunResult:
    """Wire the stages from Settings and run the pipeline once."""
    from bot.backends import make_backend
    from bot.pipeline import needs_model, run

    template, estimator = load_stages(settings)
    backend: Backend
    if needs_model(review_input, settings):
        backend = make_backend(settings, env)
        progress.info(f"reviewing with {settings.model_label} ({settings.model.api}) template {template.name}")
    else:  # planned first: nothing to ask, so no model is made, fetched or loaded
        if settings.model.api == "llama-cpp" and settings.model.model_path:
            from bot.backends.llama_cpp import check_model_file

            check_model_file(settings.model.model_path)  # a wrong path given is still named (reads 4 bytes)
        backend = NoModel(settings.model.api)
        progress.info("nothing for the model to review (no hunk is left after the filters); no model is loaded")
    # The wall-clock budget counts from the command's start: reading GitHub and loading the model count too.
    deadline = progress.started + settings.budget.max_minutes * 60
    result = run(review_input, backend, settings, template, estimator, on_event=progress.model_event,
                 deadline=deadline)
    if result.stats.secrets_redacted:
        progress.info(f"redacted {result.stats.secrets_redacted} credentials before review")
    progress.info(f"done: {len(result.findings)} findings, {result.stats.requests} requests, "
                  f"{result.stats.retries} retries, {len(result.skipped)} parts skipped, "
                  f"{result.stats.elapsed_s:.1f} s")
    return result



class NoModel:
    """Stands in for the model in a run that sends nothing (see pipeline.needs_model).

    It takes the api's modes, so a template the api cannot serve is still a configuration
    error; being asked for a completion would be a bug in the planner, not a user's error.
    """

    def __init__(self, api: str) -> None:
        from bot.backends import API_MODES

        self.name = api
        self.modes = API_MODES.get(api, frozenset())

    def complete(self, prompt: Prompt, params: GenerationParams) -> Completion:
        raise RuntimeError("a request was sent in a run planned to send none")
