"""Run pr-agent 0.49.0 `/review` on one unified diff; write what it answered as JSON.

Runs in pr-agent's own virtualenv (Python 3.12, bench/eval/pr_agent/setup.sh), not ours:

    /opt/pragent-venv/bin/python review_one.py --diff PR.diff --out ANSWER.json --api-base http://127.0.0.1:8765/v1

pr-agent's plain-diff mode (`pr_agent.cli --diff-file D --output MD --json-output J review`) reviews
the diff with no hosting platform; run from a folder outside any git checkout, it reads no file
but the diff (patch-only mode, see pr_agent/git_providers/plain_diff_provider.py). Its settings
come from the environment (dynaconf's SECTION__KEY), pointed at the OpenAI-compatible llama.cpp
server. Besides its markdown and its parsed review (with the usage it counted), every model
answer is kept as pr-agent logged it ("Full_response": the prompt, the raw YAML, finish reason).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def settings_env(api_base: str, model: str, context: int, max_output: int, timeout: int) -> dict[str, str]:
    """pr-agent's settings for a local OpenAI-compatible server (dynaconf reads SECTION__KEY).
    `openai/NAME` makes litellm speak the OpenAI chat API to OPENAI.API_BASE; an unknown model
    needs `config.custom_model_max_tokens` (pr_agent/algo/token_budget.py)."""
    name = f"openai/{model}"
    return {
        "CONFIG__MODEL": name,
        "CONFIG__FALLBACK_MODELS": json.dumps([name]),  # never the shipped gpt-6 fallbacks
        "CONFIG__CUSTOM_MODEL_MAX_TOKENS": str(context),
        "CONFIG__MAX_MODEL_TOKENS": str(context),
        "CONFIG__MAX_OUTPUT_TOKENS": str(max_output),  # a guard against a run-away answer, far above a review's
        "CONFIG__AI_TIMEOUT": str(timeout),  # one request on 2 CPU cores takes minutes
        "CONFIG__PUBLISH_OUTPUT_PROGRESS": "false",
        "CONFIG__USE_REPO_SETTINGS_FILE": "false",
        "CONFIG__USE_GLOBAL_SETTINGS_FILE": "false",
        "CONFIG__LOG_LEVEL": "DEBUG",
        "OPENAI__KEY": "dummy",  # the loopback server checks no key
        "OPENAI__API_BASE": api_base,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no network: litellm's bundled model map
    }


def offline_o200k() -> None:
    """pr-agent counts tokens with tiktoken's o200k_base (pr_agent/algo/token_handler.py), whose
    vocabulary tiktoken downloads on first use; with no route to it, quicktok-v1's bundled copy
    of the same vocabulary (exact BPE, tiktoken's `encode(text, disallowed_special=())`) stands in,
    placed in tiktoken's registry cache so pr-agent's own code runs unchanged."""
    import quicktok
    import tiktoken.registry

    tiktoken.registry.ENCODINGS["o200k_base"] = quicktok.get_encoding("o200k_base")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--diff", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--api-base", default="http://127.0.0.1:8765/v1")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct", help="the server's --model_alias")
    parser.add_argument("--context", type=int, default=32768, help="the server's --n_ctx")
    parser.add_argument("--max-output", type=int, default=4096, help="pr-agent raises a smaller cap to 4096")
    parser.add_argument("--timeout", type=int, default=3600)
    args = parser.parse_args(argv)
    diff = str(Path(args.diff).resolve())
    out = Path(args.out).resolve()
    os.environ.update(settings_env(args.api_base, args.model, args.context, args.max_output, args.timeout))

    offline_o200k()
    import pr_agent
    from loguru import logger
    from pr_agent import cli

    answers: list[dict[str, object]] = []

    def keep(message: object) -> None:
        record = message.record  # type: ignore[attr-defined]
        if record["message"] == "Full_response":
            answers.append(record["extra"].get("artifact", {}))

    with tempfile.TemporaryDirectory() as work:
        os.chdir(work)  # no .git above: pr-agent reads nothing but the diff
        markdown, review = Path(work) / "review.md", Path(work) / "review.json"
        logger.add(keep, level="DEBUG")
        started = time.monotonic()
        code = cli.run(inargs=["--diff-file", diff, "--output", str(markdown), "--json-output", str(review), "review"])
        seconds = time.monotonic() - started
        result = {
            "tool": f"pr-agent {getattr(pr_agent, '__version__', '')}".strip(),
            "settings": {k: v for k, v in settings_env(args.api_base, args.model, args.context, args.max_output,
                                                        args.timeout).items() if k != "OPENAI__KEY"},
            "exit": code,
            "seconds": round(seconds, 1),
            "review": json.loads(review.read_text(encoding="utf-8")) if review.is_file() else None,
            "markdown": markdown.read_text(encoding="utf-8") if markdown.is_file() else None,
            "answers": [{k: a.get(k) for k in ("output", "finish_reason", "usage", "system", "user")}
                        for a in answers if isinstance(a, dict)],
        }
    out.write_text(json.dumps(result, indent=1, default=str) + "\n", encoding="utf-8")
    return 0 if result["review"] is not None else 1


if __name__ == "__main__":
    sys.exit(main())
