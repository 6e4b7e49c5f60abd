"""A real code model in process: what a review costs on this machine's CPU.

Qwen2.5-Coder-1.5B-Instruct (scripts/fetch_qwen_model.sh) through the bot's own llama-cpp
backend, on one labelled bug of the jinja eval set, with two templates:
- review-chat, which answers with findings: prompt tokens/s (reading the prompt),
  completion tokens/s (writing the answer), seconds and completion tokens per request;
- review-instruct, which this model answers with "No findings": a complete answer stops
  generating (a stop string), so the tokens written against max_new_tokens show what that saves.
llama.cpp's own counters (llama_perf_context) split the time between reading and writing.
Also the eval's seconds per case, read from the answers cached by `review-bot eval --cache
bench/eval/answers` (the model's time when each answer was made). Skipped, with the reason,
when the model or llama-cpp-python is missing. Figures are printed, never asserted.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from bench import BenchConfig, Row
from bot.backends.llama_cpp import make_llama_cpp_backend
from bot.config import ModelSettings, ReviewSettings, Settings
from bot.diff.parse import parse_diff
from bot.pipeline import fit_to_model, generation_params, prepare
from bot.run import load_stages
from bot.sources import ReviewInput
from bot.types import SourceInfo

FAMILY = "real_model"
ROOT = Path(__file__).resolve().parents[1]
QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
CASE = "60a7e775d4"
MAX_NEW_TOKENS = 128
EVAL_ANSWERS = ROOT / "bench" / "eval" / "answers"


def qwen_path() -> Path:
    cache = Path(os.environ.get("REVIEW_BOT_MODEL_CACHE") or Path.home() / ".cache" / "review-bot")
    return Path(os.environ.get("REVIEW_BOT_QWEN_MODEL") or cache / QWEN_FILE)


def case_diff() -> str | None:
    from tests.conftest import EVAL_SET

    path = EVAL_SET / CASE / "pr.diff"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _skip(name: str, why: str) -> Row:
    return Row(FAMILY, name, 0.0, 0.0, "-", skipped=True, note=why)


def measure(template_name: str, model: Path, diff_text: str) -> dict[str, Any]:
    import llama_cpp

    settings = Settings(model=ModelSettings(api="llama-cpp", model_path=str(model), max_new_tokens=MAX_NEW_TOKENS,
                                            temperature=0.0),
                        review=ReviewSettings(template=template_name, prompts_dir=None))
    backend = make_llama_cpp_backend(settings, {})
    template, estimator = load_stages(settings)
    fitted, estimator = fit_to_model(settings, backend, estimator)
    review_input = ReviewInput(info=SourceInfo(kind="diff"), diff=parse_diff(diff_text))
    [request] = prepare(review_input, fitted, template, estimator).requests
    context = backend.loaded._ctx.ctx  # llama.cpp's counters live on its context
    llama_cpp.llama_perf_context_reset(context)
    started = time.perf_counter()
    answer = backend.complete(request.messages or request.prompt, generation_params(fitted, template))
    seconds = time.perf_counter() - started
    perf = llama_cpp.llama_perf_context(context)
    backend.close()
    return {"seconds": seconds, "prompt_tokens": perf.n_p_eval, "prompt_ms": perf.t_p_eval_ms,
            "completion_tokens": perf.n_eval, "completion_ms": perf.t_eval_ms,
            "finish_reason": answer.finish_reason, "answer": answer.text[:200]}


def eval_seconds_per_answer() -> tuple[float, int] | None:
    seconds = []
    for path in EVAL_ANSWERS.glob("*.json"):
        try:
            seconds.append(float(json.loads(path.read_text(encoding="utf-8"))["seconds"]))
        except (OSError, ValueError, KeyError):
            continue
    return (sum(seconds) / len(seconds), len(seconds)) if seconds else None


def run(config: BenchConfig) -> list[Row]:
    del config  # one request per template in both settings: a 1.5B model on 2 cores takes ~30 s each
    model = qwen_path()
    diff_text = case_diff()
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return [_skip("in-process model", "llama-cpp-python is not installed")]
    if not model.is_file() or diff_text is None:
        return [_skip("in-process model", f"{model} or eval case {CASE} missing: run scripts/fetch_qwen_model.sh")]
    chat = measure("review-chat", model, diff_text)
    done = measure("review-instruct", model, diff_text)
    prompt_rate = chat["prompt_tokens"] / max(chat["prompt_ms"] / 1000, 1e-9)
    completion_rate = chat["completion_tokens"] / max(chat["completion_ms"] / 1000, 1e-9)
    rows = [
        Row(FAMILY, "Qwen2.5-Coder-1.5B prompt tokens/s (review-chat)", prompt_rate, 0.0, "-", unit="",
            note=f"{chat['prompt_tokens']} prompt tokens read in {chat['prompt_ms'] / 1000:.1f} s", detail=chat),
        Row(FAMILY, "completion tokens/s", completion_rate, 0.0, "-", unit="",
            note=f"{chat['completion_tokens']} tokens written in {chat['completion_ms'] / 1000:.1f} s"),
        Row(FAMILY, "s/request (review-chat)", chat["seconds"], 0.0, "-",
            note=f"{chat['completion_tokens']} completion tokens/request"),
        Row(FAMILY, "a complete answer stops: tokens written / max_new_tokens (review-instruct)",
            done["completion_tokens"], MAX_NEW_TOKENS, "max_new_tokens", unit="",
            note=f"answer {done['answer']!r}, {done['seconds']:.1f} s", detail=done),
    ]
    cached = eval_seconds_per_answer()
    if cached is not None:
        rows.append(Row(FAMILY, "eval s/case (cached haystack answers)", cached[0], 0.0, "-",
                        note=f"mean over {cached[1]} cached answers in bench/eval/answers"))
    return rows
