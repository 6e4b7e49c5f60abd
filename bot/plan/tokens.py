"""Counting tokens: the model's own tokenizer when it is at hand, else an estimate that bounds it.

In process the GGUF's vocabulary counts exactly (CountingEstimator, through llama.cpp); a
local tokenizer.json does too (TokenizerEstimator, `[tokenizer]` extra). Without either,
ShapeEstimator counts by the shapes byte-level BPE tokenizers cut code into: every digit
alone (StarCoder2 and Qwen split numbers into digits), short runs of hex letters two to a
token, words four letters to a token, punctuation two to a token, each newline, runs of
blanks sixteen to a token, and every byte of a non-ASCII character. Measured against a real
code tokenizer (Qwen2.5-Coder's) on the shared corpus, the eval set and a 3,000-line diff of
SHA-1 hashes, it is never below the true count (lowest ratio 1.019, all text 1.25x); plain
characters / 2.5 counted a hash diff at 0.45x. tests/test_tokens.py keeps that proof.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.config import ModelSettings
from bot.diff.hunk_text import hunk_listing
from bot.errors import ConfigError
from bot.types import Hunk

_NO_TOKENIZER = "counting with it needs the 'tokenizers' package: pip install 'starcoder-review-bot[tokenizer]'"


class TokenEstimator(Protocol):
    def count(self, text: str) -> int: ...


@dataclass(frozen=True)
class CharEstimator:
    """ceil(characters / chars_per_token): conservative for code when chars_per_token is low."""

    chars_per_token: float = 2.5

    def __post_init__(self) -> None:
        if not self.chars_per_token > 0:
            raise ConfigError(f"[model] chars_per_token must be greater than 0, got {self.chars_per_token!r}")

    def count(self, text: str) -> int:
        return math.ceil(len(text) / self.chars_per_token)


class TokenizerEstimator:
    """Exact counts from a local tokenizer.json (e.g. StarCoder2's), with the `tokenizers` package."""

    def __init__(self, path: str) -> None:
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise ConfigError(f"[model] tokenizer_file is set but {_NO_TOKENIZER}") from None
        if not Path(path).is_file():
            raise ConfigError(f"[model] tokenizer_file {path}: no such file; point it at a tokenizer.json")
        try:
            self._tokenizer = Tokenizer.from_file(path)
        except Exception as err:  # noqa: BLE001 - the Rust side raises bare Exception
            raise ConfigError(f"[model] tokenizer_file {path}: not a tokenizer.json ({err})") from None

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def count_many(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._tokenizer.encode_batch(list(texts), add_special_tokens=False)]


class CountingEstimator:
    """Exact counts from the model itself (in process: its GGUF vocabulary through llama.cpp)."""

    def __init__(self, count: Callable[[str], int]) -> None:
        self._count = count

    def count(self, text: str) -> int:
        return self._count(text)


# One token per match, in the chunk sizes the module doc gives: a run of letters cut four at a
# time, punctuation two, blanks sixteen; any other character (a digit, a newline) alone. The
# first alternative makes a word of 3-4 hex letters two matches instead of one ("fbed" in a hash
# is no word: a tokenizer cuts it like hex, two letters a token): its first two letters, when
# one or two more end the word. One pass over the text, not a second one for hex words.
_TOKEN_SHAPES = re.compile(r"(?<![A-Za-z])[a-fA-F]{2}(?=[a-fA-F]{1,2}(?![A-Za-z]))"
                           r"|[A-Za-z]{1,4}|[!-/:-@\[-`{-~]{1,2}|[ \t]{1,16}|.", re.S)


def _classes(groups: Sequence[tuple[str, str]]) -> bytes:
    """A bytes.translate table: each character of a group to its value, every other byte to 0."""
    table = bytearray(256)
    for chars, value in groups:
        for char in chars:
            table[ord(char)] = ord(value)
    return bytes(table)


# One bit a class, so one AND of a byte with the byte before it keeps the class the two share; a hex
# letter is a letter with bit 3 set too.
_CLASS = _classes([(string.ascii_letters, "\1"), ("abcdefABCDEF", "\x09"), (" \t", "\2"),
                   (string.punctuation, "\4")])  # the same 32 as the regex's class
_MASKS_KEPT = 1 << 20  # bytes: masks up to this long are kept for the next count, longer ones made for theirs
_kept_masks = (0, 0, 0)  # (bytes, an int of that many bytes 1, one of bytes 7): the longest made yet
_SHORT = 32  # below this the regex is quicker than _shape_counts (measured: equal near 32 characters)
# Bytes classified at once. Measured on the corpus's largest diff and the 20,000-line one: groups of
# 16-128 KB count their listings in 0.7-0.85x the time the whole takes at once (ints of a few MB
# leave the cache, and each is allocated anew); smaller groups pay for more passes.
_GROUP_BYTES = 32_768


def _shape_counts(texts: Sequence[str], group_bytes: int = _GROUP_BYTES) -> list[int]:
    """_TOKEN_SHAPES's count of each text, as a few C passes instead of one match a token (several
    times quicker on a diff). The texts are joined by newlines (class 0 below, which no run
    crosses, so none reaches from one text into the next), classified together, and each is counted in its own range
    by four `bytes.count`s. Each byte of a non-ASCII character is a token here, which is what the
    regex's one token per character plus the extra bytes adds up to. tests/test_tokens.py checks
    it against the regex on the corpus and on random texts.

    Bytes are classed 1 (letter), 2 (blank), 4 (punctuation) or 0 (anything else: a digit, a
    newline, a byte of a non-ASCII character; a hex letter also has bit 3, dropped before the
    counts), read as one little-endian int, so `x << 8` puts
    each byte's class under the next byte and `x & (x << 8)` is, per byte, the class it shares
    with the byte before it: 0 where a token starts whatever the chunk size (a run's first byte,
    any other byte), else the run's class. A run of n letters (chunks of 4) is then a 0 and n - 1
    ones, and takes ceil(n / 4) = 1 + floor((n - 1) / 4) tokens: the 0, plus a non-overlapping
    count of four ones (a 0 or another class ends every run, so no match spans two). Blanks
    alike with 16, punctuation with 2. So a text's tokens are its count of 0s plus the counts of
    "\\1" * 4, "\\2" * 16 and "\\4" * 2.

    A word of exactly 3 or 4 hex letters is one token more: the last letter of each such word is
    turned from 1 into 0 (`ends`, found by shifted ANDs over the int of hex letters, `h`). That
    adds one 0 and, as the word's run has at most three ones, takes no four ones away.

    The texts are classified in groups of about `group_bytes` bytes (no shape reaches past a text's
    newlines, so a group counts what the whole would): the ints of a group stay in the cache.
    """
    counts: list[int] = []
    group: list[bytes] = []
    size = 0
    for text in texts:
        group.append(encoded := text.encode("utf-8"))
        size += len(encoded) + 1
        if size >= group_bytes:
            counts += _group_counts(group)
            group, size = [], 0
    return counts + _group_counts(group) if group else counts


def _group_counts(encoded: list[bytes]) -> list[int]:
    """_shape_counts of a group of texts, UTF-8 encoded (see there)."""
    data = b"\n" + b"\n".join(encoded) + b"\n"
    x = int.from_bytes(data.translate(_CLASS), "little")
    ones, sevens = _byte_masks(len(data))
    h = (x >> 3) & ones  # the hex bit of each byte, as bit 0
    # At a word's last letter: it and the two before are hex, the next byte is no letter, and the
    # one three back is no letter, or is hex with no letter before it. (Only bit 0 of `h` is ever
    # set, so the other bits of `x` that reach the ANDs drop out; `x ^ h` is a non-hex letter.)
    last3 = h & (h << 8) & (h << 16)
    ends = last3 ^ (last3 & ((x >> 8) | ((x ^ h) << 24) | ((h << 24) & (x << 32))))  # (a & ~b, one pass less)
    shared = ((x & (x << 8) & sevens) ^ ends).to_bytes(len(data), "little")  # (the hex bit dropped)
    count, counts, start = shared.count, [], 1
    for text in encoded:
        end = start + len(text)
        counts.append(count(b"\0", start, end) + count(b"\1\1\1\1", start, end)
                      + count(b"\2" * 16, start, end) + count(b"\4\4", start, end))
        start = end + 1  # past the newline after this text
    return counts


def _byte_masks(length: int) -> tuple[int, int]:
    """Ints of at least `length` bytes, each byte 1, and each byte 7 (an AND keeps the shorter length)."""
    global _kept_masks  # replaced whole (one assignment), so a thread reads the old masks or the new
    size, ones, sevens = _kept_masks
    if size < length:
        size = max(length, 1 << 16)
        ones, sevens = int.from_bytes(b"\1" * size, "little"), int.from_bytes(b"\7" * size, "little")
        if size <= _MASKS_KEPT:
            _kept_masks = (size, ones, sevens)
    return ones, sevens


class ShapeEstimator:
    """An upper bound of a BPE code tokenizer's count, from the text's shapes (see above)."""

    # No shape reaches across a newline and "\n" is a token alone, so a text cut at newlines
    # counts the sum of its parts: MemoCounter.count_joined relies on this.
    additive_at_newlines = True

    def count(self, text: str) -> int:
        if len(text) >= _SHORT:  # the planner counts every hunk: most of the offline pipeline's time
            return _shape_counts([text])[0]
        tokens = _TOKEN_SHAPES.subn("", text)[1]  # subn counts matches in C without a list of them
        if not text.isascii():  # each byte of a non-ASCII character may be a token of its own
            tokens += len(text.encode("utf-8")) - len(text)
        return tokens

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """count() of each text, classified together (the planner counts every hunk at once)."""
        return _shape_counts(texts) if texts else []


class MemoCounter:
    """Counts through `estimator`, each distinct text once: one per plan-and-render (prepare).

    The planner counts every hunk listing; the prompt a batch renders into holds them again.
    count_joined counts a prompt as the listings it prints (already counted) plus the
    template's own text between them, when the estimator is additive at newlines (the shape
    estimate); a real tokenizer may merge across a seam, so it counts the prompt whole. Made
    per prepare, never kept: a memo kept across runs would only grow.
    """

    def __init__(self, estimator: TokenEstimator) -> None:
        self.estimator = estimator
        self._memo: dict[str, int] = {}
        self._listings: dict[int, tuple[Hunk, str]] = {}  # by id; the hunk is kept so its id stays its own
        self._additive = getattr(estimator, "additive_at_newlines", False) is True

    def listing(self, hunk: Hunk) -> str:
        """hunk_listing(hunk), made once for the planner and the prompt alike."""
        known = self._listings.get(id(hunk))
        if known is None:
            known = self._listings[id(hunk)] = (hunk, hunk_listing(hunk))
        return known[1]

    def count(self, text: str) -> int:
        known = self._memo.get(text)
        if known is None:
            known = self._memo[text] = self.estimator.count(text)
        return known

    def count_many(self, texts: Sequence[str]) -> list[int]:
        memo = self._memo
        missing = list(dict.fromkeys(t for t in texts if t not in memo))
        if missing:
            memo.update(zip(missing, count_many(self.estimator, missing), strict=True))
        return [memo[t] for t in texts]

    def count_joined(self, text: str, pieces: Sequence[str]) -> int:
        """count(text) for a text that prints `pieces` (in order) on lines of their own."""
        return self.count_joined_many([(text, pieces)])[0]

    def count_joined_many(self, texts: Sequence[tuple[str, Sequence[str]]]) -> list[int]:
        """count_joined(text, pieces) of each, the text around the pieces of them all counted in one
        count_many: the prompts of a run rendered together (a count of a few short texts costs the
        passes of a long one)."""
        if not self._additive:
            return [self.count(text) for text, _ in texts]
        split = [self._gaps(text, pieces) for text, pieces in texts]
        self.count_many([gap for _, gaps in split for gap in gaps]
                        + [text for (text, _), (_, gaps) in zip(texts, split, strict=True) if not gaps])
        memo = self._memo
        return [total + sum(map(memo.__getitem__, gaps)) if gaps else memo[text]
                for (text, _), (total, gaps) in zip(texts, split, strict=True)]

    def _gaps(self, text: str, pieces: Sequence[str]) -> tuple[int, list[str]]:
        """(tokens of the counted pieces found on lines of their own, the text around them); no gaps
        when none is."""
        memo, total, at, gaps = self._memo, 0, 0, []
        for piece in pieces:
            known = memo.get(piece)
            if known is None or not piece:
                continue
            found = _find(text, piece, at)
            end = found + len(piece)
            # Only a piece between newlines (or the text's ends) counts alone: see ShapeEstimator.
            if found < 0 or (found and text[found - 1] != "\n") or (end < len(text) and text[end] != "\n"):
                continue
            gaps.append(text[at:found])
            total += known
            at = end
        if gaps:
            # Each gap but the last ends with a newline, so each counts what it did in place (and the
            # template's own text, the same in every prompt of a run, is counted once: the memo).
            gaps.append(text[at:])
        return total, gaps


_FIND_PREFIX = 32  # characters of a piece to search by; the rest is compared where they are found


def _find(text: str, piece: str, at: int) -> int:
    """text.find(piece, at), by a search for the piece's first characters and a comparison there:
    for a long needle (a hunk listing) str.find first studies all of it, which took most of the time."""
    head = piece[:_FIND_PREFIX]
    found = text.find(head, at)
    while found >= 0 and not text.startswith(piece, found):
        found = text.find(head, found + 1)
    return found


def listing_of(estimator: TokenEstimator) -> Callable[[Hunk], str]:
    """What makes a hunk's listing: the memo's, so each is made once a run, else hunk_listing."""
    listing = getattr(estimator, "listing", None)
    return listing if callable(listing) else hunk_listing


def count_joined_many(estimator: TokenEstimator, texts: Sequence[tuple[str, Sequence[str]]]) -> list[int]:
    """estimator.count(text) of each (text, pieces), faster through a MemoCounter that has counted
    the `pieces` (listings the text prints on lines of their own) already."""
    joined = getattr(estimator, "count_joined_many", None)
    return list(joined(texts)) if callable(joined) else [estimator.count(text) for text, _ in texts]


def make_estimator(model: ModelSettings) -> TokenEstimator:
    """The model's tokenizer file if set; characters / chars_per_token if set; else ShapeEstimator."""
    if model.tokenizer_file:
        return TokenizerEstimator(model.tokenizer_file)
    if model.chars_per_token is not None:
        return CharEstimator(model.chars_per_token)
    return ShapeEstimator()


def count_many(estimator: TokenEstimator, texts: Sequence[str]) -> list[int]:
    many = getattr(estimator, "count_many", None)
    return list(many(texts)) if callable(many) else [estimator.count(t) for t in texts]


