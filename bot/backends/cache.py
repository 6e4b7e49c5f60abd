"""A backend that remembers answers on disk, keyed by (model, prompt, generation parameters).

`review-bot eval --cache DIR` wraps the real backend in it: re-scoring after a parser change
costs no model time, and answers carry over from one session to the next. Each answer is one
JSON file named by the key's sha256, written whole (temp file, then rename), holding the
seconds the model took, so a report from cached answers still says what the model costs.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from bot.backends.base import Backend, GenerationParams, Prompt, scores_text
from bot.errors import ConfigError, ModelError
from bot.types import Completion

CACHE_VERSION = 1
T = TypeVar("T")


def answer_key(model: str, prompt: Prompt, params: GenerationParams) -> str:
    sent: Any = prompt if isinstance(prompt, str) else [[m.role, m.content] for m in prompt]
    asked = asdict(params)
    if not params.first_token_top:
        del asked["first_token_top"]  # keys from before the field existed stay valid
    material = json.dumps({"v": CACHE_VERSION, "model": model, "prompt": sent, "params": asked},
                          sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


class CachingBackend:
    """Answers from `folder` when it has them, else from `inner` (and then kept)."""

    def __init__(self, inner: Backend, folder: str | Path, model: str, read_only: bool = False) -> None:
        self.inner = inner
        self.read_only = read_only  # a miss is an error, not a model call (re-scoring a stored table)
        self.folder = Path(folder)
        self.model = model
        self.name = inner.name
        self.modes = getattr(inner, "modes", frozenset({"completion"}))
        self.scores_text = scores_text(inner)
        self.hits = self.misses = 0
        self.model_seconds = 0.0  # what the answers took the model, cached ones included
        self._lock = threading.Lock()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"--cache {folder}: cannot create the folder ({err.strerror})") from None

    @property
    def endpoint(self) -> str:
        return str(getattr(self.inner, "endpoint", self.inner.name))

    def context_limit(self) -> int | None:
        limit = getattr(self.inner, "context_limit", None)
        return limit() if callable(limit) else None

    def __getattr__(self, name: str) -> Any:
        # count_tokens and close, when the inner backend has them (fit_to_model looks for the first).
        if name in ("count_tokens", "close"):
            return getattr(self.inner, name)
        raise AttributeError(name)

    def complete(self, prompt: Prompt, params: GenerationParams) -> Completion:
        path = self.folder / f"{answer_key(self.model, prompt, params)}.json"
        return self._remembered(path, _read, lambda: self.inner.complete(prompt, params), _write,
                                "answer for this prompt")

    def token_surprisal(self, text: str) -> tuple[tuple[int, float], ...]:
        """The inner backend's token_surprisal, stored like an answer (keyed by model and text)."""
        material = json.dumps({"v": CACHE_VERSION, "model": self.model, "surprisal": text}, ensure_ascii=False)
        path = self.folder / f"{hashlib.sha256(material.encode('utf-8')).hexdigest()}.json"

        def ask() -> tuple[tuple[int, float], ...]:
            if not self.scores_text:
                raise ModelError(f"api {self.name!r} cannot tell the model's token probabilities")
            # Stored to a thousandth of a nat, and returned so: a re-scored run ranks as the live one did.
            scored = self.inner.token_surprisal(text)  # type: ignore[attr-defined]
            return tuple((at, round(nats, 3)) for at, nats in scored)

        return self._remembered(path, _read_surprisal, ask, _write_surprisal, "surprisal for this text")

    def _remembered(self, path: Path, read: Callable[[Path], tuple[T, float] | None], ask: Callable[[], T],
                    write: Callable[[Path, T, float], None], what: str) -> T:
        """What `path` stores, else what `ask` gets from the model (then stored), counted either way."""
        stored = read(path)
        if stored is not None:
            with self._lock:
                self.hits += 1
                self.model_seconds += stored[1]
            return stored[0]
        if self.read_only:
            raise ModelError(f"no stored {what} in {self.folder} (--cache-only); run without "
                             "--cache-only to ask the model")
        started = time.monotonic()
        value = ask()
        seconds = time.monotonic() - started
        write(path, value, seconds)
        with self._lock:
            self.misses += 1
            self.model_seconds += seconds
        return value


def _read_surprisal(path: Path) -> tuple[tuple[tuple[int, float], ...], float] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        pairs = tuple((int(at), float(nats)) for at, nats in data["surprisal"])
        return pairs, float(data.get("seconds", 0.0))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _read(path: Path) -> tuple[Completion, float] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        answer = data["completion"]
        completion = Completion(text=str(answer["text"]), finish_reason=answer.get("finish_reason"),
                                prompt_tokens=answer.get("prompt_tokens"),
                                completion_tokens=answer.get("completion_tokens"),
                                first_token=tuple((str(text), float(p)) for text, p in answer.get("first_token", ())))
        return completion, float(data.get("seconds", 0.0))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or damaged: ask the model again


def _write(path: Path, completion: Completion, seconds: float) -> None:
    _write_json(path, {"completion": asdict(completion), "seconds": seconds})


def _write_surprisal(path: Path, surprisal: tuple[tuple[int, float], ...], seconds: float) -> None:
    _write_json(path, {"surprisal": [list(pair) for pair in surprisal], "seconds": seconds})


def _write_json(path: Path, data: dict[str, Any]) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".answer.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, separators=(",", ":"))
    os.replace(temp, path)
