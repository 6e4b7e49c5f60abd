"""`api = "llama-cpp"`: a GGUF model run in-process by llama-cpp-python (the optional `local` extra).

No server, no token, no network: the model file is the configuration. The package and the
file are checked when the backend is made, so a wrong path fails before any work starts;
the weights are loaded on the first request, once, under the same lock that serialises
generation (a llama.cpp context holds one sequence: the client's workers take turns).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from types import ModuleType
from typing import Any

from bot.backends.base import (
    CHAT,
    COMPLETION,
    Backend,
    GenerationParams,
    InputTooLongError,
    Prompt,
    usage_count,
)
from bot.backends.events import TokenCounts
from bot.backends.llama_scoring import TokenScorer, TokenSurprise
from bot.config import Settings
from bot.errors import ConfigError, ModelError
from bot.logsafe import one_line
from bot.prompts.render import CHAT_TOKENS_PER_MESSAGE, CHAT_TOKENS_REPLY
from bot.types import Completion

INSTALL_HINT = ("api = llama-cpp needs the optional extra: pip install 'starcoder-review-bot[local]' "
                "(in a clone: bash scripts/install_local_extra.sh .venv/bin/python)")
GGUF_MAGIC = b"GGUF"
DEFAULT_SEED = 1234  # fixed, so a run can be repeated: greedy decoding repeats exactly
# What llama-cpp-python raises from generation: its own checks (ValueError), failed native
# calls (RuntimeError), allocation and file failures. Anything else is a bug worth a traceback.
_LLAMA_ERRORS = (RuntimeError, ValueError, OSError, MemoryError)

LlamaFactory = Callable[..., Any]


def import_llama_cpp() -> ModuleType:
    try:
        import llama_cpp
    except ImportError as err:
        raise ConfigError(f"{INSTALL_HINT} (import failed: {one_line(err, limit=200)})") from None
    return llama_cpp


def check_model_file(model_path: str | None) -> str:
    """The GGUF path, or a ConfigError that names it and says what to do."""
    if not model_path:
        raise ConfigError("api = llama-cpp needs a model file: set [model] model_path to a .gguf file "
                          "(or pass --model-path)")
    path = os.path.expanduser(model_path)
    if not os.path.isfile(path):
        raise ConfigError(f"model_path {model_path!r}: no such file; "
                          "point [model] model_path at a .gguf model")
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as err:
        raise ConfigError(f"model_path {model_path!r}: cannot read the file ({one_line(err, limit=200)})") from None
    if magic != GGUF_MAGIC:
        raise ConfigError(f"model_path {model_path!r}: not a GGUF file; llama.cpp needs a .gguf model "
                          "(convert or download a GGUF build of the model)")
    return path


class TokenMeter:
    """Counts what llama.cpp evaluates for one request and reports it (see reporting_llama).

    llama-cpp-python's `generate` evaluates the prompt (what the cache does not hold) with one
    `eval` call, then each token it writes with one more: the first call is reading, the rest
    writing. The count of the prompt is ours (the chat template's markers estimated), so what
    is read is capped by it.
    """

    def __init__(self, prompt_tokens: int, report: Callable[[TokenCounts], None]) -> None:
        self.prompt_tokens, self.report = prompt_tokens, report
        self.reading = True
        self.read = self.written = 0

    def evaluated(self, count: int) -> None:
        if self.reading:
            self.read += count
        else:
            self.written += count
        self.report(TokenCounts(read=min(self.read, self.prompt_tokens), prompt=self.prompt_tokens,
                                written=self.written))


@functools.cache
def reporting_llama(llama_class: type) -> type:
    """`llama_cpp.Llama` that reports, through a TokenMeter set on it, how far it has read a prompt
    and written an answer: a long prompt is evaluated n_batch tokens at a time, as `Llama.eval`
    itself does, with a report after each. Without a meter it is the plain class.

    Read in llama-cpp-python 0.3.36 (abetlen/llama-cpp-python, llama_cpp/llama.py): `eval` loops
    `for i in range(0, len(tokens), self.n_batch)` over `decode` calls, and `generate` calls
    `self.eval(tokens)` once for the prompt's uncached part, then once per sampled token. Chunking
    at n_batch decodes the same batches; tests/e2e/test_progress_in_process.py checks the answers
    are unchanged and bench inproc that prefix reuse and speed are."""

    class ReportingLlama(llama_class):  # type: ignore[misc, valid-type]
        meter: TokenMeter | None = None

        def eval(self, tokens: Sequence[int]) -> None:
            meter = self.meter
            if meter is None:
                return super().eval(tokens)
            step = max(1, int(self.n_batch)) if meter.reading else max(1, len(tokens))
            for start in range(0, len(tokens), step):
                super().eval(tokens[start:start + step])
                meter.evaluated(len(tokens[start:start + step]))
            meter.reading = False
            return None

    return ReportingLlama


class FirstTokenWatch:
    """A logits processor that keeps the model's scores for the first answer token and changes nothing.

    llama-cpp-python returns log-probabilities only from a model loaded with logits_all (a row of
    the vocabulary per context token: gigabytes at 16k); a processor sees the one row sampling
    uses. Read in llama-cpp-python 0.3.36 (llama_cpp/llama.py, `_init_sampler`): the processors
    run in a custom sampler ahead of the others, over the scores in token-id order."""

    def __init__(self) -> None:
        self.scores: Any = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.scores is None:
            self.scores = scores.copy()
        return scores

    def likeliest(self, llama: Any, top: int) -> tuple[tuple[str, float], ...]:
        """The `top` likeliest first tokens, (text, probability), likeliest first."""
        if self.scores is None:
            return ()
        import numpy

        shifted = numpy.asarray(self.scores, dtype=numpy.float64)
        shifted = numpy.exp(shifted - shifted.max())
        probabilities = shifted / shifted.sum()
        top = min(top, len(probabilities))
        ids = numpy.argpartition(-probabilities, top - 1)[:top]
        ranked = sorted(((float(probabilities[i]), int(i)) for i in ids), reverse=True)
        return tuple((llama.detokenize([i]).decode("utf-8", errors="replace"), p) for p, i in ranked)


class LlamaCppBackend:
    """One in-process llama.cpp model; thread-safe, loaded on first use."""

    name = "llama-cpp"
    modes = frozenset({COMPLETION, CHAT})  # chat through the chat template stored in the GGUF
    reports_tokens = True  # complete() takes on_tokens (bot.backends.events.CountsTokens)
    scores_text = True  # token_surprisal (bot.backends.base.ScoresText)

    def __init__(self, model_path: str, context_window: int | None, llama_factory: LlamaFactory,
                 n_ctx_train: Callable[[Any], int] | None = None, seed: int = DEFAULT_SEED) -> None:
        self.model_path = model_path
        self.context_window = context_window
        self.seed = seed
        self._llama_factory = llama_factory
        self._n_ctx_train = n_ctx_train
        self._lock = threading.Lock()
        self._llama: Any = None
        self._load_error: str | None = None  # why the load failed; not retried per request
        self._scorer = TokenScorer(functools.partial(llama_factory, model_path=model_path, seed=seed, verbose=False))

    @property
    def endpoint(self) -> str:
        """Where the model is, for messages (the client names a failing model by its endpoint)."""
        return self.model_path

    @property
    def loaded(self) -> Any:
        """The llama_cpp.Llama in use (None before the first request), for benchmarks' counters."""
        return self._llama

    @property
    def n_ctx(self) -> int | None:
        """The context the model runs with (after capping); None before the first request."""
        return None if self._llama is None else int(self._llama.n_ctx())

    def _load(self) -> Any:
        """Load once. Caller holds the lock. A failed load is remembered, not retried per request."""
        if self._llama is not None:
            return self._llama
        if self._load_error is not None:
            raise ConfigError(self._load_error)
        try:
            # n_ctx 0: the model's own trained context, unless the settings ask for less.
            llama = self._llama_factory(model_path=self.model_path, n_ctx=self.context_window or 0,
                                        seed=self.seed, verbose=False)
            trained = self._n_ctx_train(llama) if self._n_ctx_train is not None else 0
            if self.context_window and 0 < trained < self.context_window:
                # Past its training context a model writes garbage; reload with its own limit.
                llama.close()
                llama = self._llama_factory(model_path=self.model_path, n_ctx=trained,
                                            seed=self.seed, verbose=False)
        except _LLAMA_ERRORS as err:
            self._load_error = (
                f"model_path {self.model_path!r}: llama.cpp cannot load this model ({one_line(err, limit=200)}); "
                "check the file, or upgrade llama-cpp-python for newer model architectures")
            raise ConfigError(self._load_error) from None
        self._llama = llama
        return llama

    def context_limit(self) -> int:
        """The context the model runs with: its trained one, or less if the settings say so.
        Loads the model (once): the planner must know before the first prompt is made."""
        with self._lock:
            return int(self._load().n_ctx())

    def count_tokens(self, text: str) -> int:
        """Exact tokens of `text` in this model's own vocabulary (no BOS)."""
        with self._lock:
            return len(self._load().tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _prompt_tokens(self, llama: Any, prompt: Prompt) -> int:
        if isinstance(prompt, str):
            return len(llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True))
        # The chat template's markers are counted as their usual few tokens a message.
        return sum(len(llama.tokenize(m.content.encode("utf-8"), add_bos=False, special=False)) for m in prompt) \
            + CHAT_TOKENS_PER_MESSAGE * len(prompt) + CHAT_TOKENS_REPLY

    def complete(self, prompt: Prompt, params: GenerationParams, *,
                 on_tokens: Callable[[TokenCounts], None] | None = None) -> Completion:
        with self._lock:
            llama = self._load()
            metered = on_tokens is not None and hasattr(llama, "meter")
            try:
                # Like TGI, refuse what cannot fit with its answer: llama.cpp would silently
                # shorten max_tokens and the review would end mid-finding. The client re-plans.
                n_ctx = int(llama.n_ctx())
                needed = self._prompt_tokens(llama, prompt)
                if needed + params.max_new_tokens > n_ctx:
                    raise InputTooLongError(
                        f"llama-cpp: prompt of {needed} tokens plus max_new_tokens {params.max_new_tokens} "
                        f"exceeds the model context of {n_ctx} tokens", limit=n_ctx, prompt_tokens=needed)
                sampling = {"max_tokens": params.max_new_tokens, "temperature": params.temperature,
                            "top_p": params.top_p, "stop": list(params.stop), "seed": self.seed}
                if metered and on_tokens is not None:
                    llama.meter = TokenMeter(needed, on_tokens)
                watch = FirstTokenWatch()
                if params.first_token_top > 0:
                    sampling["logits_processor"] = [watch]
                if isinstance(prompt, str):
                    answer = llama.create_completion(prompt, **sampling)
                else:
                    messages = [{"role": m.role, "content": m.content} for m in prompt]
                    answer = llama.create_chat_completion(messages=messages, **sampling)
            except _LLAMA_ERRORS as err:
                raise ModelError(f"llama-cpp: generation failed ({one_line(err, limit=200)})") from None
            finally:
                if metered:
                    llama.meter = None
            first = watch.likeliest(llama, params.first_token_top) if params.first_token_top > 0 else ()
        return replace(_completion(answer), first_token=first)

    def token_surprisal(self, text: str) -> tuple[TokenSurprise, ...]:
        """Each token's surprise in `text` (bot.backends.llama_scoring), read by a context of its own."""
        with self._lock:
            if self._load_error is not None:
                raise ConfigError(self._load_error)
            try:
                return self._scorer.surprisal(text)
            except _LLAMA_ERRORS as err:
                raise ModelError(f"llama-cpp: scoring failed ({one_line(err, limit=200)})") from None

    def close(self) -> None:
        with self._lock:
            self._scorer.close()
            if self._llama is not None:
                self._llama.close()
                self._llama = None


def _completion(answer: Any) -> Completion:
    """llama-cpp-python answers in the OpenAI completion (or chat completion) shape."""
    try:
        choice = answer["choices"][0]
        # A completion's text, or a chat answer's message content (None when it said nothing).
        text = choice["text"] if "text" in choice else (choice["message"]["content"] or "")
        usage: Mapping[str, Any] = answer.get("usage") or {}
    except (KeyError, IndexError, TypeError) as err:
        raise ModelError(f"llama-cpp: unexpected answer shape ({one_line(err, limit=200)})") from None
    if not isinstance(text, str):
        raise ModelError("llama-cpp: unexpected answer shape (text is not a string)")
    reason = choice.get("finish_reason")
    return Completion(
        text=text,
        finish_reason=reason if isinstance(reason, str) else None,
        prompt_tokens=usage_count(usage.get("prompt_tokens")),
        completion_tokens=usage_count(usage.get("completion_tokens")),
    )


class GgufVocabulary:
    """A GGUF's vocabulary and trained context, read without its weights (well under a second).

    What `prompts` plans with when the in-process model is at hand, so that its plan is the one
    a run makes: a run counts with this vocabulary and plans within this context.
    """

    def __init__(self, model_path: str, context_window: int | None) -> None:
        llama_cpp = import_llama_cpp()
        from llama_cpp import _internals

        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        try:
            self._model = _internals.LlamaModel(path_model=model_path, params=params, verbose=False)
        except _LLAMA_ERRORS as err:
            raise ConfigError(f"model_path {model_path!r}: llama.cpp cannot read this model "
                              f"({one_line(err, limit=200)})") from None
        metadata = self._model.metadata()
        # A vocabulary-only load leaves n_ctx_train at 0: the limit is in the metadata.
        trained = metadata.get(f"{metadata.get('general.architecture', '')}.context_length", "")
        self._trained = int(trained) if trained.isdigit() else None
        self._context_window = context_window

    def context_limit(self) -> int | None:
        limits = [n for n in (self._trained, self._context_window) if n]
        return min(limits) if limits else None

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def close(self) -> None:
        self._model.close()


def make_llama_cpp_backend(settings: Settings, env: Mapping[str, str]) -> Backend:
    """The registry's entry for api = "llama-cpp": `--model-path`, else `[model] gguf` fetched from the Hub.

    Called while the CLI wires the run (never at import): a given file is checked first, then the
    extra, then the model is resolved (a download happens here, once, with progress on stderr; see model_fetch),
    then the file is checked. `env` supplies HF_HOME, HF_HUB_OFFLINE, HF_ENDPOINT and HF_TOKEN.
    """
    from bot.backends.llama_tuning import llama_kwargs, prepare_openmp
    from bot.backends.model_fetch import resolve_model_path

    if settings.model.model_path:
        check_model_file(settings.model.model_path)  # a wrong path is named before anything else
    prepare_openmp(os.environ)  # before libgomp loads with llama_cpp; see llama_tuning
    llama_cpp = import_llama_cpp()
    path = check_model_file(resolve_model_path(settings.model.model_path, settings.model.gguf, env,
                                               show_progress=settings.output.verbosity >= 0,
                                               sha256=settings.model.gguf_sha256))

    def n_ctx_train(llama: Any) -> int:
        return int(llama_cpp.llama_model_n_ctx_train(llama.model))

    factory = functools.partial(reporting_llama(llama_cpp.Llama), **llama_kwargs())
    return LlamaCppBackend(path, settings.model.context_window, factory, n_ctx_train)
