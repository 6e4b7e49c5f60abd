"""`review-bot prompts`: print the prompts a run would send for a diff file or a git range.

No model call: the same preparation as a run (bot.pipeline.prepare), printed instead of sent.
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.cli.shared import dump_json, read_local_source, settings_from_args, write_output
from bot.config import DEFAULT_GGUF, Settings
from bot.progress import Progress
from bot.run import CHAT_TEMPLATE, COMPLETION_TEMPLATE, load_stages, with_template

if TYPE_CHECKING:  # imported lazily at run time: `--help` must stay fast
    from bot.backends.llama_cpp import GgufVocabulary


def local_model_file(settings: Settings, env: Mapping[str, str]) -> str | None:
    """For api = llama-cpp, the GGUF a run would use when it is on disk (a given path, or the
    pinned file in the Hugging Face cache); None otherwise."""
    if settings.model.api != "llama-cpp":
        return None
    from bot.backends.model_fetch import cached_model_path

    return cached_model_path(settings.model.model_path, settings.model.gguf, env, settings.model.gguf_sha256)


def local_vocabulary(settings: Settings, path: str | None, progress: Progress) -> GgufVocabulary | None:
    """For api = llama-cpp, the model's vocabulary and context when its file is on disk, so that
    `prompts` plans exactly as a run does; None (and a note) when a run would first fetch it."""
    if settings.model.api != "llama-cpp":
        return None
    from bot.backends.llama_cpp import GgufVocabulary, check_model_file

    note = "planned with the token estimate and a window of {window}; a run plans with the model's own ({why})"
    if path is None:
        progress.info(note.format(window=settings.window, why="the model is not fetched yet"))
        return None
    if importlib.util.find_spec("llama_cpp") is None:
        progress.info(note.format(window=settings.window, why="llama-cpp-python is not installed"))
        return None
    return GgufVocabulary(check_model_file(path), settings.model.context_window)


def prompts_command(args: argparse.Namespace, env: Mapping[str, str], progress: Progress) -> int:
    from bot.pipeline import prepare

    settings = settings_from_args(args, env)
    review_input = read_local_source(args, settings)
    model_file = local_model_file(settings, env)
    if not settings.review.template:  # as a run chooses it: by the model's own metadata
        if settings.model.api == "llama-cpp" and model_file is None and settings.model.gguf != DEFAULT_GGUF:
            progress.info(f"template {COMPLETION_TEMPLATE}: the model is not fetched yet, so its metadata "
                          f"is unread; a run uses {CHAT_TEMPLATE} if the GGUF carries a chat template")
        settings = with_template(settings, model_file)
    template, estimator = load_stages(settings)
    vocabulary = local_vocabulary(settings, model_file, progress)
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
