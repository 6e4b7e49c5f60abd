"""The answer cache (`--cache`): keys that outlive new generation fields, answers kept whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.backends.base import GenerationParams, Prompt
from bot.backends.cache import CachingBackend, answer_key
from bot.errors import ModelError
from bot.types import Completion

PARAMS = GenerationParams(256, 0.1, 0.95, ("\n",))


class CountingBackend:
    """Answers every prompt with the same completion and counts the calls."""

    name = "counting"
    modes = frozenset({"completion"})

    def __init__(self, answer: Completion) -> None:
        self.answer, self.calls = answer, 0

    def complete(self, prompt: Prompt, params: GenerationParams) -> Completion:
        self.calls += 1
        return self.answer


def test_a_key_from_before_first_token_top_existed_is_unchanged() -> None:
    # The stored answers of docs/quality.md's tables were keyed before the field was added: a
    # request that does not ask for probabilities must find them (this key was computed then).
    assert answer_key("qwen.gguf", "def f(): pass", PARAMS) == \
        "ae030fda28a7f80742dc01d72a5d10ed79790267868b8488528fdcef95d13a46"


def test_asking_for_the_first_tokens_probabilities_is_another_question() -> None:
    asking = GenerationParams(256, 0.1, 0.95, ("\n",), first_token_top=20)
    assert answer_key("qwen.gguf", "def f(): pass", asking) != answer_key("qwen.gguf", "def f(): pass", PARAMS)


def test_an_answer_comes_back_whole_with_its_probabilities(tmp_path: Path) -> None:
    answer = Completion("Yes", "stop", 478, 1, first_token=(("Yes", 0.66), ("No", 0.18)))
    inner = CountingBackend(answer)
    CachingBackend(inner, tmp_path, "qwen.gguf").complete("Is it?", PARAMS)
    again = CachingBackend(inner, tmp_path, "qwen.gguf", read_only=True)
    assert again.complete("Is it?", PARAMS) == answer and inner.calls == 1 and again.hits == 1
    with pytest.raises(ModelError, match="no stored answer"):
        again.complete("Something else?", PARAMS)
