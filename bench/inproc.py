"""The in-process model (`api = "llama-cpp"`) against a bare llama-cpp-python loop, in one run.

Both sides get the same rendered prompts (`pipeline.prepare` on a corpus diff, cut to a few
requests by `max_requests`) and the same parameters (greedy, `max_new_tokens`, the template's
stop strings, the same `Llama` arguments: `bot.backends.llama_tuning.llama_kwargs`), and both
load the model inside the timing. The bot side is the real path: `make_backend` then
`pipeline.run` (client, parse, ground). The runs alternate (bare then bot, bot then bare, ...) and
the median run of each counts, so a busy machine moves both.

- wall time, bot / bare: goal <= 1.05.
- prompt tokens evaluated / sent (llama.cpp's own counter, `llama_perf_context.n_p_eval`):
  one model instance per run and requests one after another let llama.cpp keep the shared
  prefix (the template header) in its KV cache. Goal: that prefix is evaluated once per run,
  i.e. evaluated <= sent - (requests - 1) * (shared prefix - 1).
- prompt and completion tokens/s of the bot's run (llama.cpp's timings), next to the bare loop's.
- the bot's thread settings against llama-cpp-python's defaults (`n_threads` = cpu_count // 2):
  the bare loop once with each (info).
- the bot's own work around the model (templates, plan, render, client, parse, ground) with a
  backend that answers at once, best of 5, against the bare loop: what the bot can add at most,
  measured without the scheduling noise of a model run.

Model: SmolLM2-135M (the test model) in the short setting; Qwen2.5-Coder-1.5B in the full one
when it is cached (scripts/fetch_qwen_model.sh), else SmolLM2 again.
"""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import CORPUS, BenchConfig, Row
from bot.backends import make_backend
from bot.backends.llama_tuning import llama_kwargs, prepare_openmp
from bot.config import BudgetSettings, ModelSettings, ReviewSettings, Settings
from bot.sources.diff_file import read_diff_file
from bot.types import Completion

FAMILY = "inproc"
GOAL = 1.05
CASE = CORPUS / "jinja" / "range-75775669-3"  # 4 files, 5 hunks
SEED = 1234
ROUNDS = {"short": 5, "full": 3}  # median of N for each side: llama.cpp's threads suffer badly from a busy CPU
MODELS = {"short": ("smollm2-135m-instruct-q4_1.gguf",),
          "full": ("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "smollm2-135m-instruct-q4_1.gguf")}
NAMES = ("wall time: bot vs bare llama-cpp-python loop", "prompt tokens evaluated / sent (prefix reuse)",
         "prompt tokens/s: bot vs bare", "completion tokens/s: bot vs bare",
         "bare loop: bot's threads vs llama-cpp-python defaults",
         "bot's own work per run (an instant model) vs the bare loop")


@dataclass(frozen=True)
class Side:
    seconds: float
    sent: int  # prompt tokens of the requests
    evaluated: int  # prompt tokens llama.cpp actually evaluated
    completion: int
    prompt_tps: float
    completion_tps: float
    shared_prefix: int = 0  # tokens every prompt starts with (bare loop only)


def _model(config: BenchConfig) -> Path | None:
    cache = Path(os.environ.get("REVIEW_BOT_MODEL_CACHE") or Path.home() / ".cache" / "review-bot")
    explicit = os.environ.get("REVIEW_BOT_TEST_MODEL") if config.name == "short" else None
    for path in ([Path(explicit)] if explicit else []) + [cache / name for name in MODELS[config.name]]:
        if path.is_file():
            return path
    return None


def _settings(model: Path, config: BenchConfig) -> Settings:
    short = config.name == "short"
    return Settings(
        model=ModelSettings(api="llama-cpp", model_path=str(model), context_window=1024 if short else 2048,
                            max_new_tokens=16 if short else 64, temperature=0.0, top_p=1.0),
        budget=BudgetSettings(max_requests=3 if short else 4, concurrency=1, requests_per_minute=1e9),
        review=ReviewSettings(min_severity="info", prompts_dir=None))


def _perf(llama: Any) -> tuple[int, int, float, float]:
    import llama_cpp

    data = llama_cpp.llama_perf_context(llama.ctx)
    return int(data.n_p_eval), int(data.n_eval), float(data.t_p_eval_ms), float(data.t_eval_ms)


def _side(seconds: float, sent: int, completion: int, llama: Any, shared_prefix: int = 0) -> Side:
    n_p, n_e, t_p, t_e = _perf(llama)
    return Side(seconds, sent, n_p, completion, n_p / (t_p / 1000) if t_p else 0.0,
                n_e / (t_e / 1000) if t_e else 0.0, shared_prefix)


def _shared_prefix(prompts: list[str], llama: Any) -> int:
    """Tokens every prompt starts with (the template header), by the model's own tokenizer."""
    tokens = [llama.tokenize(p.encode("utf-8"), add_bos=True, special=True) for p in prompts]
    shared = 0
    for column in zip(*tokens, strict=False):
        if len(set(column)) != 1:
            break
        shared += 1
    return shared


def _bare(prompts: list[str], settings: Settings, stop: tuple[str, ...], threads: dict[str, Any]) -> Side:
    import llama_cpp

    started = time.perf_counter()
    llama = llama_cpp.Llama(model_path=settings.model.model_path, n_ctx=settings.model.context_window,
                            seed=SEED, verbose=False, **threads)
    sent = completion = 0
    for prompt in prompts:
        answer = llama.create_completion(prompt, max_tokens=settings.model.max_new_tokens, temperature=0.0,
                                         top_p=1.0, stop=list(stop), seed=SEED)
        sent += answer["usage"]["prompt_tokens"]
        completion += answer["usage"]["completion_tokens"]
    seconds = time.perf_counter() - started
    side = _side(seconds, sent, completion, llama, _shared_prefix(prompts, llama))
    llama.close()
    return side


class _Instant:
    """A backend that answers at once: what the bot does around the model, timed alone."""

    name = "instant"
    endpoint = "instant"

    def complete(self, prompt: str, params: Any) -> Completion:
        return Completion(text="", finish_reason="stop", prompt_tokens=1, completion_tokens=0)


def _bot_alone(settings: Settings) -> float:
    from bot.pipeline import run
    from bot.run import load_stages

    started = time.perf_counter()
    template, estimator = load_stages(settings)
    run(read_diff_file(str(CASE / "pr.diff")), _Instant(), settings, template, estimator)
    return time.perf_counter() - started


def _bot(settings: Settings) -> Side:
    from bot.pipeline import run
    from bot.run import load_stages

    started = time.perf_counter()
    backend = make_backend(settings, {})
    template, estimator = load_stages(settings)
    result = run(read_diff_file(str(CASE / "pr.diff")), backend, settings, template, estimator)
    seconds = time.perf_counter() - started
    llama = getattr(backend, "_llama", None)
    if llama is None:
        raise RuntimeError("the llama-cpp backend holds no model after the run")
    side = _side(seconds, result.stats.prompt_tokens, result.stats.completion_tokens, llama)
    backend.close()  # type: ignore[attr-defined]
    return side


def run(config: BenchConfig) -> list[Row]:
    prepare_openmp(os.environ)  # as the bot does, before llama_cpp loads libgomp: both sides alike
    model = _model(config)
    if importlib.util.find_spec("llama_cpp") is None or model is None:
        why = ("needs llama-cpp-python (scripts/install_local_extra.sh)" if model is not None
               else "needs the test model (scripts/fetch_test_model.sh)")
        return [Row(FAMILY, name, 0.0, 0.0, why, skipped=True) for name in NAMES]
    from bot.backends.llama_cpp import GgufVocabulary
    from bot.pipeline import fit_to_model, generation_params, prepare
    from bot.run import load_stages

    settings = _settings(model, config)
    template, estimator = load_stages(settings)
    # The prompts the bot's run makes: planned, as it plans, with the model's own token counts.
    vocabulary = GgufVocabulary(str(model), settings.model.context_window)
    try:
        fitted, counter = fit_to_model(settings, vocabulary, estimator)
        prepared = prepare(read_diff_file(str(CASE / "pr.diff")), fitted, template, counter)
    finally:
        vocabulary.close()
    prompts = [r.prompt for r in prepared.requests]
    stop = generation_params(settings, template).stop
    ours = llama_kwargs()
    bare: list[Side] = []
    bot: list[Side] = []
    for round_ in range(ROUNDS[config.name]):  # alternating which goes first, so order effects cancel
        if round_ % 2:
            bot.append(_bot(settings))
            bare.append(_bare(prompts, settings, stop, ours))
        else:
            bare.append(_bare(prompts, settings, stop, ours))
            bot.append(_bot(settings))
    defaults = _bare(prompts, settings, stop, {})
    # The median run of each side: on a shared CPU one lucky run moves a best-of figure by 20%.
    mid_bare = sorted(bare, key=lambda s: s.seconds)[len(bare) // 2]
    mid_bot = sorted(bot, key=lambda s: s.seconds)[len(bot) // 2]
    shared = mid_bare.shared_prefix
    ideal = mid_bot.sent - (len(prompts) - 1) * max(shared - 1, 0)
    label = f"{model.name}, {len(prompts)} prompts"
    detail = {"model": model.name, "prompts": len(prompts), "shared_prefix_tokens": shared,
              "threads": ours, "bare_s": [round(s.seconds, 3) for s in bare],
              "bot_s": [round(s.seconds, 3) for s in bot], "bare_evaluated": mid_bare.evaluated,
              "bot_evaluated": mid_bot.evaluated, "sent": mid_bot.sent, "ideal_evaluated": ideal,
              "completion_tokens": {"bot": mid_bot.completion, "bare": mid_bare.completion},
              "defaults_s": round(defaults.seconds, 3)}
    return [
        Row(FAMILY, f"{NAMES[0]} ({label}, median of {len(bot)})", mid_bot.seconds, mid_bare.seconds,
            "bare loop, same prompts",
            goal=GOAL, detail=detail),
        Row(FAMILY, f"{NAMES[1]} (shared prefix {shared} tokens)", mid_bot.evaluated, mid_bot.sent,
            f"sent; ideal {ideal} evaluated", unit="", goal=ideal / mid_bot.sent if mid_bot.sent else None,
            detail={"bare_evaluated": mid_bare.evaluated}),
        Row(FAMILY, f"{NAMES[2]} ({mid_bot.prompt_tps:.0f} vs {mid_bare.prompt_tps:.0f})",
            mid_bot.prompt_tps, mid_bare.prompt_tps, "bare loop tokens/s", unit=""),
        Row(FAMILY, f"{NAMES[3]} ({mid_bot.completion_tps:.0f} vs {mid_bare.completion_tps:.0f})",
            mid_bot.completion_tps, mid_bare.completion_tps, "bare loop tokens/s", unit=""),
        Row(FAMILY, f"{NAMES[4]} ({ours['n_threads']} vs {os.cpu_count() or 1}//2 threads)",
            mid_bare.seconds, defaults.seconds, "bare loop, llama-cpp-python defaults",
            detail={"completion_tps_defaults": round(defaults.completion_tps, 2)}),
        Row(FAMILY, NAMES[5], min(_bot_alone(settings) for _ in range(5)), mid_bare.seconds,
            "bare loop, median"),
    ]
