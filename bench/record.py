"""Record real model answers as test fixtures: `python -m bench.record --model-path GGUF CASE_DIR...`.

For each case folder (a `pr.diff`, as in the labelled eval set) and each template, the bot
plans and renders its requests exactly as a run would, sends each one to the model in
process, and writes one JSON file per request to tests/fixtures/real_answers/: the diff, the
request (prompt or chat messages, and which hunks it carries), the generation parameters,
and the model's raw answer. Tests replay these answers through the parsers, so a parser
change is checked against what a real model wrote, with the prompt that made it write that.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from bot.backends.llama_cpp import make_llama_cpp_backend
from bot.config import Settings
from bot.diff.parse import parse_diff
from bot.pipeline import fit_to_model, generation_params, prepare
from bot.run import load_stages
from bot.sources import ReviewInput
from bot.types import SourceInfo

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "real_answers"
TEMPLATES = ("review", "review-instruct", "starcoder2-pr", "review-chat")


def record_settings(model_path: str, template: str, max_new_tokens: int) -> Settings:
    settings = Settings()
    return replace(settings, model=replace(settings.model, api="llama-cpp", model_path=model_path,
                                           max_new_tokens=max_new_tokens, temperature=0.0, top_p=1.0),
                   review=replace(settings.review, template=template, prompts_dir=None))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.record", description=__doc__)
    parser.add_argument("cases", nargs="+", type=Path, help="case folders, each with a pr.diff")
    parser.add_argument("--model-path", required=True)
    parser.add_argument("--templates", default=",".join(TEMPLATES))
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    backend = None
    for template_name in args.templates.split(","):
        settings = record_settings(args.model_path, template_name, args.max_new_tokens)
        backend = backend or make_llama_cpp_backend(settings, {})
        template, estimator = load_stages(settings)
        fitted, estimator = fit_to_model(settings, backend, estimator)
        params = generation_params(fitted, template)
        for case in args.cases:
            diff_text = (case / "pr.diff").read_text(encoding="utf-8")
            review_input = ReviewInput(info=SourceInfo(kind="diff"), diff=parse_diff(diff_text))
            for request in prepare(review_input, fitted, template, estimator).requests:
                started = time.monotonic()
                answer = backend.complete(request.messages or request.prompt, params)
                seconds = time.monotonic() - started
                record = {
                    "model": Path(args.model_path).name, "template": template_name, "case": case.name,
                    "params": {"max_new_tokens": params.max_new_tokens, "temperature": params.temperature,
                               "top_p": params.top_p, "stop": list(params.stop)},
                    "diff": diff_text,
                    "request": {"id": request.id, "hunks": [[h.path, h.ref] for h in request.hunks],
                                "prompt": request.prompt,
                                "messages": [{"role": m.role, "content": m.content} for m in request.messages]},
                    "answer": {"text": answer.text, "finish_reason": answer.finish_reason,
                               "prompt_tokens": answer.prompt_tokens,
                               "completion_tokens": answer.completion_tokens},
                    "seconds": round(seconds, 1),
                }
                name = f"{template_name}--{case.name}--{request.id}.json"
                (args.out / name).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
                print(f"{name}: {seconds:.0f} s, {answer.completion_tokens} tokens, "
                      f"{answer.finish_reason}: {answer.text[:160]!r}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
