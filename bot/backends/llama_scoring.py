"""The in-process model's surprise at a text: each token's negative log-probability given the
tokens before it ([review] rank_by = "surprise", bot.findings.surprise).

Generation needs only the last token's logits, and the review's context keeps only those (a row
of the vocabulary per token would be gigabytes at 16k). Scoring a text needs a row per token, so
it has a context of its own, loaded on first use with logits_all and SCORING_CONTEXT tokens: the
GGUF is memory-mapped, so both contexts share the weights' pages; this one adds its KV cache and
SCORING_CONTEXT rows of scores (1.2 GB for Qwen2.5's 151,936-token vocabulary).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SCORING_CONTEXT = 2048  # tokens a window; a longer text is scored window by window, each read afresh

# (byte offset in the text's UTF-8 where the token starts, surprise in nats) for every token but
# the first of each window (nothing comes before it to predict it from).
TokenSurprise = tuple[int, float]


class TokenScorer:
    """Loads its own llama.cpp context on first use; the caller serialises calls."""

    def __init__(self, load: Callable[..., Any]) -> None:
        self._load = load  # the backend's factory, with its model path and thread settings
        self._llama: Any = None

    def surprisal(self, text: str) -> tuple[TokenSurprise, ...]:
        import numpy

        if self._llama is None:
            self._llama = self._load(n_ctx=SCORING_CONTEXT, logits_all=True)
        llama = self._llama
        tokens = llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        starts, at = [], 0
        for token in tokens:
            starts.append(at)
            at += len(llama.detokenize([token]))
        out: list[TokenSurprise] = []
        for first in range(0, len(tokens), SCORING_CONTEXT):
            window = tokens[first:first + SCORING_CONTEXT]
            if len(window) < 2:
                break
            llama.reset()
            llama.eval(window)
            logits = numpy.asarray(llama.scores[:len(window) - 1], dtype=numpy.float32)
            top = logits.max(axis=1, keepdims=True)
            log_total = numpy.log(numpy.exp(logits - top).sum(axis=1)) + top[:, 0]
            chosen = logits[numpy.arange(len(window) - 1), window[1:]]
            surprise = log_total - chosen
            out.extend((starts[first + j], float(surprise[j - 1])) for j in range(1, len(window)))
        return tuple(out)

    def close(self) -> None:
        if self._llama is not None:
            self._llama.close()
            self._llama = None
