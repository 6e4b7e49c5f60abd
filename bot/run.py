"""One review run wired from Settings: the template and token estimator every command needs,
the backend from its registry, and the pipeline run once with progress on stderr.

Below the commands (dry-run, review, eval, benchmarks) and above the stages: the commands
share it instead of importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.config import DEFAULT_GGUF, Settings
from bot.progress import Progress
from bot.sources import ReviewInput

if TYPE_CHECKING:  # imported lazily at run time: `--help` must stay fast
    from bot.backends.base import Backend, GenerationParams, Prompt
    from bot.plan.tokens import TokenEstimator
    from bot.prompts.templates import Template
    from bot.types import Completion, RunResult


COMPLETION_TEMPLATE = "review"  # the default for a base model (StarCoder2) or a completion api
CHAT_TEMPLATE = "review-chat"  # the default for a chat model


def choose_template(settings: Settings, model_file: str | None) -> str:
    """The template a run uses: the configured one, else by the model.

    A chat model answers its own chat format far better than a made-up document: api
    openai-chat sends messages, so review-chat; in process, a GGUF whose metadata carries a
    chat template (tokenizer.chat_template: Qwen2.5-Coder-Instruct, SmolLM2-Instruct) gets
    review-chat, a base model's (StarCoder2) review; the pinned default GGUF is StarCoder2-3B, a
    base model, unread. `model_file` is the GGUF when it is on disk; None reads as a base model
    (`prompts` says so when the file is not fetched yet).
    """
    if settings.review.template:
        return settings.review.template
    if settings.model.api == "openai-chat":
        return CHAT_TEMPLATE
    if settings.model.api == "llama-cpp" and model_file and (settings.model.model_path
                                                               or settings.model.gguf != DEFAULT_GGUF):
        from bot.backends.gguf_meta import has_chat_template

        if has_chat_template(model_file):
            return CHAT_TEMPLATE
    return COMPLETION_TEMPLATE


def with_template(settings: Settings, model_file: str | None) -> Settings:
    """`settings` with review.template set to choose_template's answer (logs and summaries name it)."""
    name = choose_template(settings, model_file)
    return settings if name == settings.review.template else \
        replace(settings, review=replace(settings.review, template=name))


def load_stages(settings: Settings) -> tuple[Template, TokenEstimator]:
    """The template and token estimator every command needs, from Settings (with_template first
    when the template may be unset: unset, it is the completion default)."""
    from bot.plan.tokens import make_estimator
    from bot.prompts.templates import load_template

    name = settings.review.template or COMPLETION_TEMPLATE
    return load_template(name, settings.review.prompts_dir), make_estimator(settings.model)


def run_review(review_input: ReviewInput, settings: Settings, env: Mapping[str, str],
               progress: Progress) -> RunResult:
    """Wire the stages from Settings and run the pipeline once."""
    from bot.backends import make_backend
    from bot.pipeline import run, screen

    configured = bool(settings.review.template)
    if configured:  # a wrong template name fails before a model is fetched
        template, estimator = load_stages(settings)
    backend: Backend
    # Redacted and filtered once: whether a model is needed, then the plan, read the same result.
    screened = screen(review_input, settings)
    if screened.needs_model:
        backend = make_backend(settings, env)
        if not configured:  # chosen by the model, whose file the backend has just found (or fetched)
            settings = with_template(settings, getattr(backend, "model_path", None))
            template, estimator = load_stages(settings)
        progress.info(f"reviewing with {settings.model_label} ({settings.model.api}) template {template.name}")
    else:  # planned first: nothing to ask, so no model is made, fetched or loaded
        if settings.model.api == "llama-cpp" and settings.model.model_path:
            from bot.backends.llama_cpp import check_model_file

            check_model_file(settings.model.model_path)  # a wrong path given is still named (reads 4 bytes)
        if not configured:
            settings = with_template(settings, settings.model.model_path)
            template, estimator = load_stages(settings)
        backend = NoModel(settings.model.api)
        progress.info("nothing for the model to review (no hunk is left after the filters); no model is loaded")
    # The wall-clock budget counts from the command's start: reading GitHub and loading the model count too.
    deadline = progress.started + settings.budget.max_minutes * 60
    result = run(review_input, backend, settings, template, estimator, on_event=progress.model_event,
                 deadline=deadline, screened=screened)
    if result.stats.secrets_redacted:
        progress.info(f"redacted {result.stats.secrets_redacted} credentials before review")
    progress.info(f"done: {len(result.findings)} findings, {result.stats.requests} requests, "
                  f"{result.stats.retries} retries, {len(result.skipped)} parts skipped, "
                  f"{result.stats.elapsed_s:.1f} s")
    return result



class NoModel:
    """Stands in for the model in a run that sends nothing (see pipeline.Screened.needs_model).

    It takes the api's modes, so a template the api cannot serve is still a configuration
    error; being asked for a completion would be a bug in the planner, not a user's error.
    """

    def __init__(self, api: str) -> None:
        from bot.backends import API_MODES

        self.name = api
        self.modes = API_MODES.get(api, frozenset())

    def complete(self, prompt: Prompt, params: GenerationParams) -> Completion:
        raise RuntimeError("a request was sent in a run planned to send none")
