"""Token counting: the shape estimate bounds a real code tokenizer's count, hashes included."""

from __future__ import annotations

import importlib.util
import os
import random
from pathlib import Path

import pytest

from bot.config import ModelSettings
from bot.diff.hunk_text import hunk_listing
from bot.diff.parse import parse_diff
from bot.errors import InputError
from bot.plan.tokens import CharEstimator, ShapeEstimator, TokenizerEstimator, make_estimator
from tests.conftest import EVAL_SET, JINJA_CASES, UNIDIFF_SAMPLES

QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


def hash_diff(lines: int = 3000) -> str:
    rng = random.Random(0)
    return "\n".join(f"+{rng.getrandbits(160):040x} {rng.getrandbits(160):040x}" for _ in range(lines))


def corpus_texts() -> list[str]:
    diffs = [c / "pr.diff" for c in JINJA_CASES] + list(UNIDIFF_SAMPLES) + sorted(EVAL_SET.glob("*/pr.diff"))
    texts = []
    for path in diffs:
        try:
            parsed = parse_diff(path.read_bytes())
        except InputError:  # unidiff's samples include broken diffs on purpose
            continue
        texts += [hunk_listing(h) for f in parsed.files for h in f.hunks]
    return [*texts, hash_diff()]


def test_default_is_the_shape_estimate_and_settings_choose_others() -> None:
    assert isinstance(make_estimator(ModelSettings()), ShapeEstimator)
    assert isinstance(make_estimator(ModelSettings(chars_per_token=3.0)), CharEstimator)


def test_shapes_count_digits_hex_words_punctuation_and_bytes() -> None:
    shape = ShapeEstimator()
    assert shape.count("") == 0
    assert shape.count("2024") == 4  # every digit alone
    assert shape.count("fbed") == 2 and shape.count("return") == 2  # hex-looking runs cut finer
    assert shape.count("a, b") == 4  # word, punctuation, blank, word
    assert shape.count(" " * 32) == 2 and shape.count("\n\n") == 2
    assert shape.count("é") == 2  # two UTF-8 bytes


def test_a_hash_diff_is_not_undercounted_as_characters_would() -> None:
    text = hash_diff(200)
    assert ShapeEstimator().count(text) > 1.9 * CharEstimator(2.5).count(text)


def qwen_vocabulary() -> object:
    if importlib.util.find_spec("llama_cpp") is None:
        reason = "llama-cpp-python is not installed: run scripts/install_local_extra.sh <python>"
    else:
        cache = Path(os.environ.get("REVIEW_BOT_MODEL_CACHE") or Path.home() / ".cache" / "review-bot")
        path = Path(os.environ.get("REVIEW_BOT_QWEN_MODEL") or cache / QWEN_FILE)
        if path.is_file():
            import llama_cpp

            return llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
        reason = f"Qwen2.5-Coder GGUF not found at {path}: run scripts/fetch_qwen_model.sh"
    if os.environ.get("REVIEW_BOT_REQUIRE_E2E") == "1":
        pytest.fail(f"{reason} (REVIEW_BOT_REQUIRE_E2E=1 makes this a failure)")
    pytest.skip(reason)


def test_the_shape_estimate_bounds_a_real_code_tokenizer_on_the_corpus_and_a_hash_diff() -> None:
    vocabulary = qwen_vocabulary()
    texts = corpus_texts()
    assert len(texts) > 50
    shape = ShapeEstimator()
    real = [len(vocabulary.tokenize(t.encode("utf-8"), add_bos=False, special=False)) for t in texts]  # type: ignore[attr-defined]
    estimated = [shape.count(t) for t in texts]
    under = [(e, r, t[:80]) for e, r, t in zip(estimated, real, texts, strict=True) if e < r]
    assert under == []
    assert sum(estimated) <= 1.6 * sum(real)  # a bound, not a wild overestimate
    assert CharEstimator(2.5).count(texts[-1]) < real[-1]  # what characters / 2.5 did on hashes


def test_a_tokenizer_file_counts_exactly(tmp_path: Path) -> None:
    pytest.importorskip("tokenizers", reason="the [tokenizer] extra (tokenizers) is not installed")
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel({"a": 0, "b": 1, "[UNK]": 2}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    assert TokenizerEstimator(str(tmp_path / "tokenizer.json")).count("a b a c") == 4
