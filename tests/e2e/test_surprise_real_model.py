"""The in-process model's surprise at a text ([review] rank_by = "surprise"), from the real model:
checked against llama-cpp-python's own log-probabilities of a prompt (echo with logprobs), over
more than one scoring window, and through the answer cache the eval re-scores from."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.backends.cache import CachingBackend
from bot.backends.llama_cpp import make_llama_cpp_backend
from bot.backends.llama_scoring import SCORING_CONTEXT
from bot.config import ModelSettings, Settings
from bot.diff.parse import parse_diff
from bot.errors import ModelError
from bot.findings.surprise import RADIUS, line_surprise
from tests.conftest import EVAL_SET

CODE = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"


def backend_for(path: Path):  # type: ignore[no-untyped-def]
    return make_llama_cpp_backend(Settings(model=ModelSettings(api="llama-cpp", model_path=str(path),
                                                               context_window=2048)), {})


def test_each_token_but_the_first_gets_the_surprise_llama_cpp_itself_reports(llama_model_path: Path) -> None:
    import llama_cpp

    scored = backend_for(llama_model_path).token_surprisal(CODE)
    reference = llama_cpp.Llama(model_path=str(llama_model_path), n_ctx=512, logits_all=True, verbose=False)
    tokens = reference.tokenize(CODE.encode("utf-8"), add_bos=False, special=False)
    # Not create_completion(echo=True, logprobs=...): in llama-cpp-python 0.3.x it pairs each prompt token
    # with the logits computed after it, not before (llama_cpp/llama.py, `_create_completion`).
    reference.eval(tokens)
    logprobs = llama_cpp.Llama.logits_to_logprobs(reference.scores[:len(tokens)])
    theirs = [-float(logprobs[i - 1][tokens[i]]) for i in range(1, len(tokens))]
    assert len(scored) == len(tokens) - 1
    offsets = [at for at, _ in scored]
    assert offsets == sorted(set(offsets)) and 0 < offsets[0] and offsets[-1] < len(CODE)
    pieces = [reference.detokenize([t]).decode("utf-8") for t in tokens]
    assert offsets == [len("".join(pieces[:i])) for i in range(1, len(tokens))]  # where each token starts
    assert [nats for _, nats in scored] == pytest.approx(theirs, abs=0.01)
    assert all(nats >= 0 for _, nats in scored)


def test_a_text_longer_than_a_window_is_scored_window_by_window(llama_model_path: Path) -> None:
    backend = backend_for(llama_model_path)
    text = "".join(f"value_{n} = compute({n}, {n * 7 % 13})\n" for n in range(170))
    tokens = backend.count_tokens(text)
    assert tokens > SCORING_CONTEXT
    scored = backend.token_surprisal(text)
    windows = -(-tokens // SCORING_CONTEXT)
    assert len(scored) == tokens - windows  # each window's first token has nothing before it
    assert [at for at, _ in scored] == sorted({at for at, _ in scored})


def test_the_cache_stores_the_surprise_and_a_cache_only_run_reads_it_back(llama_model_path: Path,
                                                                          tmp_path: Path) -> None:
    live = CachingBackend(backend_for(llama_model_path), tmp_path, "smollm2")
    assert live.scores_text
    first = live.token_surprisal(CODE)
    stored = CachingBackend(backend_for(llama_model_path), tmp_path, "smollm2", read_only=True)
    assert stored.token_surprisal(CODE) == first and (stored.hits, live.misses) == (1, 1)
    assert all(nats == round(nats, 3) for _, nats in first)  # what is returned is what is stored
    with pytest.raises(ModelError, match="no stored surprisal"):
        stored.token_surprisal(CODE + "# another text\n")


def test_the_real_code_models_surprise_picks_the_wrong_operator_of_a_hunk(qwen_model_path: Path) -> None:
    diff = ("--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,11 @@\n def add(a, b):\n     return a + b\n"
            "+\n+\n+def sub(a, b):\n+    return a - b\n+\n+\n+def total(values):\n+    return sum(values) * 0\n"
            "+\n")
    hunk = parse_diff(diff).files[0].hunks[0]
    scores = line_surprise(hunk, backend_for(qwen_model_path).token_surprisal)
    assert max(scores, key=lambda n: scores[n]) == 9, scores  # `sum(values) * 0`


def test_the_eval_keeps_the_finding_on_the_code_the_model_least_expected(qwen_model_path: Path,
                                                                         tmp_path: Path) -> None:
    """As a user runs it: `review-bot eval` without the ranking, then with it over the same stored
    review answers (--cache: greedy decoding on shared cores can differ in a float's last bit from
    one run to the next); the finding kept is the unranked run's whose nearby added code the
    model found most surprising, by the surprisal the run stored."""
    case = tmp_path / "set" / "two"  # two labelled bugs, in jinja2/debug.py and src/jinja2/parser.py
    case.mkdir(parents=True)
    (case / "pr.diff").write_text("".join((EVAL_SET / name / "pr.diff").read_text(encoding="utf-8")
                                          for name in ("60a7e775d4", "051df10c7b")), encoding="utf-8")
    (case / "labels.json").write_text((EVAL_SET / "051df10c7b" / "labels.json").read_text(encoding="utf-8"),
                                      encoding="utf-8")
    cache = tmp_path / "answers"

    def evaluate(extra: str) -> dict[str, Any]:
        config = tmp_path / "review-bot.toml"
        # Requests of 400 tokens: five of them here, so the model names more than one line.
        config.write_text('[model]\napi = "llama-cpp"\nmax_new_tokens = 160\ntemperature = 0.0\n'
                          '[budget]\nmax_request_tokens = 400\n[review]\nmin_severity = "info"\n' + extra,
                          encoding="utf-8")
        child = subprocess.run(
            [sys.executable, "-m", "bot", "eval", "--set", str(tmp_path / "set"), "--templates", "review-chat",
             "--config", str(config), "--model-path", str(qwen_model_path), "--cache", str(cache),
             "--format", "json"],
            cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, capture_output=True, text=True,
            timeout=900)
        assert child.returncode == 0 and "Traceback" not in child.stderr, child.stderr[-3000:]
        row: dict[str, Any] = next(r for r in json.loads(child.stdout)["rows"] if r["kind"] == "model")
        return row

    unranked = evaluate("")
    ranked = evaluate('keep_best = 1\nrank_by = "surprise"\n')
    everything, kept = unranked["per_case"][0]["said"], ranked["per_case"][0]["said"]
    assert len(everything) >= 2, everything
    assert ranked["dropped"]["dropped_outranked"] == len(everything) - 1
    assert ranked["requests_per_case"] == unranked["requests_per_case"]  # reading asks nothing more
    assert ranked["prompt_tokens_per_case"] > unranked["prompt_tokens_per_case"]  # but the hunks read count
    stored = CachingBackend(backend_for(qwen_model_path), cache, f"llama-cpp:{qwen_model_path.name}", read_only=True)
    scores = {(hunk.path, n): value for file in parse_diff((case / "pr.diff").read_text(encoding="utf-8")).files
              for hunk in file.hunks for n, value in line_surprise(hunk, stored.token_surprisal).items()}

    def score(finding: dict[str, Any]) -> float:
        near = [scores[finding["path"], n] for n in range(finding["line"] - RADIUS, finding["line"] + RADIUS + 1)
                if (finding["path"], n) in scores]
        return max(near, default=float("-inf"))

    best = max(everything, key=score)  # max keeps the first of equals, as the ranking does
    assert [(f["path"], f["line"], f["message"]) for f in kept] == [(best["path"], best["line"], best["message"])]
    assert score(best) > min(score(f) for f in everything)  # the choice was not a tie among all of them
