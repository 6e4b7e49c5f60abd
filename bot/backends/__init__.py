"""The one place `[model] api` is mapped to a backend.

Entries name a module and a factory `(settings, env) -> Backend`; the module is imported
only when chosen, so an optional backend (llama-cpp) costs nothing when unused.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

from bot.backends.base import Backend
from bot.config import Settings
from bot.errors import ConfigError

# What each api sends: plain prompts ("completion"), chat messages ("chat"), or both.
API_MODES: dict[str, frozenset[str]] = {
    "hf": frozenset({"completion"}), "openai": frozenset({"completion"}), "openai-chat": frozenset({"chat"}),
    "llama-cpp": frozenset({"completion", "chat"}),
}

BackendFactory = Callable[[Settings, Mapping[str, str]], Backend]

# api name -> "module:factory". Add a backend with one line here.
BACKENDS: dict[str, str] = {
    "hf": "bot.backends.hf:make",
    "openai": "bot.backends.openai:make",
    "openai-chat": "bot.backends.openai_chat:make",
    "llama-cpp": "bot.backends.llama_cpp:make_llama_cpp_backend",
}


def make_backend(settings: Settings, env: Mapping[str, str]) -> Backend:
    """Build the backend `settings.model.api` names. Remote backends do no I/O here; llama-cpp resolves
    its model file here (a one-time Hub download when `[model] gguf` is not cached yet)."""
    api = settings.model.api
    target = BACKENDS.get(api)
    if target is None:
        choices = ", ".join(sorted(BACKENDS))
        raise ConfigError(f"[model] api {api!r} is not available; choose one of {choices}")
    module_name, _, factory_name = target.partition(":")
    factory: BackendFactory = getattr(importlib.import_module(module_name), factory_name)
    return factory(settings, env)
