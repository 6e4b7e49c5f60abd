"""Token counting: the shape estimate bounds a real code tokenizer's count, hashes included."""

from __future__ import annotations

import importlib.util
import os
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import ModelSettings
from bot.diff.hunk_text import hunk_listing
from bot.diff.parse import parse_diff
from bot.errors import InputError
from bot.plan.tokens import (
    CharEstimator,
    MemoCounter,
    ShapeEstimator,
    TokenizerEstimator,
    _find,
    _shape_counts,
    make_estimator,
)
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


# ---------------------------------------------------------------- counting each text once, quickly

# The shape count as it was defined first: one regex match a token, a second pass for hex words.
# The quicker count (translate and count passes, bot.plan.tokens._shape_counts) must equal it.
_SPEC_SHAPES = re.compile(r"[A-Za-z]{1,4}|[!-/:-@\[-`{-~]{1,2}|[ \t]{1,16}|.", re.S)
_SPEC_HEX = re.compile(r"(?<![A-Za-z])[a-fA-F]{3,4}(?![A-Za-z])")


def spec_count(text: str) -> int:
    return (_SPEC_SHAPES.subn("", text)[1] + _SPEC_HEX.subn("", text)[1]
            + len(text.encode("utf-8")) - len(text))


def random_texts(count: int, seed: int = 7) -> list[str]:
    """Short texts over every class the count tells apart, with runs across each chunk size."""
    rng = random.Random(seed)
    alphabet = "abcdefghxyzABCDEFXYZ0123456789 \t\n\r!.,;:-_()[]{}'\"\\/`~é中\x00\x7f"
    texts = []
    for _ in range(count):
        parts = [rng.choice(alphabet) * rng.choice((1, 1, 1, 2, 3, 4, 5, 15, 16, 17, 33, 70))
                 if rng.random() < 0.2 else rng.choice(alphabet) for _ in range(rng.randint(0, 80))]
        texts.append("".join(parts))
    return texts


def test_the_quick_shape_count_equals_the_regex_definition() -> None:
    shape = ShapeEstimator()
    texts = [*corpus_texts(), *random_texts(5000), "a" * 70 + " " * 300, "deadbeef cafe fbed abc ab abcde"]
    long_texts = ["\n".join(texts[:400]), "\n".join(texts)]  # above the regex's short-text cutoff
    mismatched = [t[:60] for t in [*texts, *long_texts] if shape.count(t) != spec_count(t)]
    assert mismatched == []
    # Counted together (as the planner counts every hunk), each text still counts alone.
    assert shape.count_many([*texts, *long_texts]) == [spec_count(t) for t in [*texts, *long_texts]]
    assert sum(len(t) >= 64 for t in texts) > 1000  # most of them take the quick path


# Pieces that put every class next to every other: hex words of 2-5 letters glued by one byte
# (the class trick must see each word's edges), runs around each chunk size, non-ASCII bytes.
_PIECES = st.sampled_from(["abc", "fbed", "ab", "deadb", "Ace", "cafeX", "xab", "g", "a", "z", "0", "9", " ", "\t",
                           "\n", "\r", ".", "-", "_", "()", "é", "中", "\x00", "\x7f", "\U0001f600"])
_RUNS = st.tuples(st.sampled_from("aFgZ \t.(-"), st.sampled_from([1, 2, 3, 4, 5, 15, 16, 17, 31, 32, 33])).map(
    lambda run: run[0] * run[1])
_TEXTS = st.lists(st.one_of(_PIECES, _RUNS), max_size=40).map("".join)


@settings(max_examples=2000, deadline=None)
@given(st.lists(_TEXTS, max_size=6), st.sampled_from([1, 20, 60, 10**6]))
def test_the_quick_shape_count_of_texts_counted_together_equals_the_regex_definition(texts: list[str],
                                                                                   group_bytes: int) -> None:
    """Counted together, in groups of any size (one text a group, a few, all), each text counts alone."""
    assert _shape_counts(texts, group_bytes) == [spec_count(t) for t in texts]


def test_a_text_longer_than_the_masks_kept_counts_alike() -> None:
    """The byte masks of the shape count are kept up to _MASKS_KEPT bytes; a longer text gets its own."""
    from bot.plan.tokens import _MASKS_KEPT

    big = "\n".join(random_texts(3000)) * (_MASKS_KEPT // 100_000 + 1)
    assert len(big.encode("utf-8")) > _MASKS_KEPT
    small = random_texts(50, seed=3)
    assert _shape_counts([big, *small]) == [spec_count(big), *(spec_count(t) for t in small)]
    assert _shape_counts(small) == [spec_count(t) for t in small]


@settings(max_examples=1000, deadline=None)
@given(st.text("ab\n", max_size=120), st.text("ab\n", max_size=50), st.integers(0, 130), st.integers(0, 120),
       st.integers(0, 60))
def test_finding_a_piece_by_its_first_characters_is_str_find(text: str, other: str, at: int, start: int,
                                                             length: int) -> None:
    """_find (count_joined's search) gives str.find's answer, for pieces in the text, long ones included."""
    long_text = text * 3  # pieces longer than the prefix _find searches by, that repeat
    for piece in (other, text[start:start + length], long_text[start:start + 3 * length], other * 4):
        for haystack in (text, long_text):
            assert _find(haystack, piece, at) == haystack.find(piece, at)


def test_a_memo_counts_a_prompt_as_its_listings_plus_the_text_between_them() -> None:
    shape = ShapeEstimator()
    listings = [t for t in corpus_texts() if t][:50]
    memo = MemoCounter(shape)
    assert memo.count_many(listings) == [shape.count(t) for t in listings]
    prompt = "Header: fbed\n" + "\n\nFile: x.py\n".join(listings) + "\nabc"
    assert memo.count_joined(prompt, listings) == shape.count(prompt)
    # A listing glued to other text on its line is not taken apart: the count stays exact.
    glued = "x" + "\n".join(listings) + "abc"
    assert memo.count_joined(glued, listings) == shape.count(glued)
    words = MemoCounter(shape)
    words.count_many(["zw", "ef 12"])  # "xy" "zw" apart are two tokens, "xyzw" is one
    for text in ("xyzw\nef 12", "xy\nzwx\nef 12", "zw\nef 12ab", "zw\nef 12\n", "zw\nef 12"):
        assert words.count_joined(text, ["zw", "ef 12"]) == shape.count(text), text
    # An estimator that is not additive at newlines (characters / 2.5) counts the prompt whole.
    chars = MemoCounter(CharEstimator(2.5))
    chars.count_many(listings)
    assert chars.count_joined(prompt, listings) == CharEstimator(2.5).count(prompt)


def test_prompts_counted_together_count_what_each_counts_alone() -> None:
    """count_joined_many (render_requests: the text around the listings of all prompts in one count)."""
    shape = ShapeEstimator()
    listings = [t for t in corpus_texts() if t][:40]
    prompts = [("Head fbed\n" + "\n\nFile: x.py\n".join(listings[i:i + 5]) + "\nabc", listings[i:i + 5])
               for i in range(0, 40, 5)]
    prompts += [("no listing here", listings[:3]), ("", []), ("x" + listings[0], listings[:1])]
    memo = MemoCounter(shape)
    memo.count_many(listings)
    assert memo.count_joined_many(prompts) == [shape.count(text) for text, _ in prompts]
    alone = MemoCounter(shape)
    alone.count_many(listings)
    assert [alone.count_joined(text, pieces) for text, pieces in prompts] == [shape.count(t) for t, _ in prompts]


@pytest.mark.parametrize("name", ["review", "review-chat", "review-instruct", "starcoder2-pr"])
def test_prepared_requests_count_what_a_fresh_count_of_the_prompt_gives(name: str) -> None:
    """The planner's memo makes render count only the template's own text: the totals must not move."""
    from bot.config import Settings
    from bot.pipeline import prepare
    from bot.prompts.render import chat_overhead
    from bot.prompts.templates import load_template
    from bot.sources import ReviewInput
    from bot.types import SourceInfo

    template, shape = load_template(name, None), ShapeEstimator()
    checked = 0
    for case in JINJA_CASES:
        info = SourceInfo(kind="diff", title="Fix fbed handling", body="abc\n\ndef")
        review_input = ReviewInput(info=info, diff=parse_diff((case / "pr.diff").read_bytes()))
        for request in prepare(review_input, Settings(), template, shape).requests:
            extra = chat_overhead(len(request.messages)) if request.messages else 0
            assert request.est_tokens == shape.count(request.prompt) + extra
            checked += 1
    assert checked >= len(JINJA_CASES)
