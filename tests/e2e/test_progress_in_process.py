"""An in-process review with the small SmolLM2 model reports as it reads and writes (issue 17, item 6).

Progress prints every report here (interval_s=0); the pace itself is tests/test_progress.py's.
The prompt (~800 tokens) is longer than one llama.cpp batch (512), so reading is seen in parts.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from bot.backends.events import TokenCounts
from bot.backends.llama_cpp import make_llama_cpp_backend
from bot.config import load_settings
from bot.progress import Progress
from bot.run import run_review
from bot.sources.diff_file import read_diff_file
from tests.conftest import FIXTURES
from tests.e2e.test_llama_cpp_backend import greedy, settings_for

DIFF = FIXTURES / "corpus" / "jinja" / "8ee8f90d67-A" / "pr.diff"  # vendored: always here


def _numbers(pattern: str, text: str) -> list[tuple[int, ...]]:
    found = [m if isinstance(m, tuple) else (m,) for m in re.findall(pattern, text)]
    return [tuple(int(n.replace(",", "")) for n in m) for m in found]


def test_progress_lines_count_tokens_read_and_written(llama_model_path: Path) -> None:
    # A completion template: its prompt's count is exact (a chat prompt's markers are estimated,
    # so "of N" there is the planner's count, a few tokens off llama.cpp's own).
    settings = load_settings(overrides={"model": {"model_path": str(llama_model_path), "max_new_tokens": 24},
                                        "review": {"template": "review"}})
    err = io.StringIO()  # what main gives Progress is sys.stderr
    result = run_review(read_diff_file(str(DIFF)), settings, {}, Progress(stream=err, interval_s=0.0))
    text = err.getvalue()
    reading = _numbers(r"reading the prompt: ([\d,]+) of ([\d,]+) tokens", text)
    writing = _numbers(r"writing: ([\d,]+) tokens? written", text)
    assert result.stats.requests == 1, text
    prompt = result.stats.prompt_tokens  # as llama.cpp counted it
    # Read in llama.cpp's batches of 512, one report each (the client's ticks repeat the last one).
    assert sorted({read for read, _ in reading}) == list(range(512, prompt, 512)) + [prompt], text
    assert [read for read, _ in reading] == sorted(read for read, _ in reading)
    assert {total for _, total in reading} == {prompt}
    assert writing and [w for (w,) in writing] == sorted(w for (w,) in writing)
    assert 0 < writing[-1][0] <= result.stats.completion_tokens
    print(f"{len(reading)} reading and {len(writing)} writing lines for {prompt} + "
          f"{result.stats.completion_tokens} tokens")


def test_reporting_does_not_change_the_answer(llama_model_path: Path) -> None:
    prompt = DIFF.read_text()[:3000]
    plain = make_llama_cpp_backend(settings_for(llama_model_path), {}).complete(prompt, greedy(16))
    seen: list[TokenCounts] = []
    metered = make_llama_cpp_backend(settings_for(llama_model_path), {}).complete(prompt, greedy(16),
                                                                                  on_tokens=seen.append)
    assert metered == plain
    assert seen and seen[-1].read == seen[-1].prompt == plain.prompt_tokens
