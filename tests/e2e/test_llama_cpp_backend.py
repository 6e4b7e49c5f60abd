"""The llama-cpp backend: its configuration errors, then the real model behind the Backend Protocol."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.backends.base import GenerationParams, InputTooLongError
from bot.backends.llama_cpp import INSTALL_HINT, LlamaCppBackend, check_model_file, make_llama_cpp_backend
from bot.config import ModelSettings, Settings
from bot.errors import ConfigError, ModelError
from tests.conftest import REPO_ROOT

COUNTING = "1, 2, 3, 4, 5, 6, 7, 8,"


def settings_for(path: Path | str | None, context_window: int | None = 2048) -> Settings:
    return Settings(model=ModelSettings(api="llama-cpp", model_path=None if path is None else str(path),
                                        context_window=context_window, max_new_tokens=64))


def greedy(max_new_tokens: int, stop: tuple[str, ...] = ()) -> GenerationParams:
    return GenerationParams(max_new_tokens=max_new_tokens, temperature=0.0, top_p=1.0, stop=stop)


# --- configuration errors: no llama_cpp needed -------------------------------------------------

def test_no_model_path_means_the_pinned_gguf_and_offline_without_it_is_exit_3(tmp_path: Path,
                                                                              llama_model_path: Path) -> None:
    del llama_model_path  # only for its check that llama_cpp is importable
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    with pytest.raises(ModelError, match="starcoder2-3b.Q4_K_M.gguf .1.89 GB. is not in the Hugging Face cache"):
        make_llama_cpp_backend(settings_for(None), env)


def test_missing_model_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ConfigError, match="no such file") as err:
        make_llama_cpp_backend(settings_for(missing), {})
    assert str(missing) in str(err.value)


def test_a_file_that_is_not_gguf_is_refused_before_loading(tmp_path: Path) -> None:
    html = tmp_path / "model.gguf"
    html.write_text("<!doctype html><title>404</title>")  # a failed download saved under the right name
    with pytest.raises(ConfigError, match="not a GGUF file") as err:
        check_model_file(str(html))
    assert str(html) in str(err.value)


def test_a_directory_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        check_model_file(str(tmp_path))


def test_missing_package_says_which_extra_to_install(tmp_path: Path) -> None:
    # A child interpreter where `import llama_cpp` fails, whether or not this env has it.
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"GGUF" + b"\0" * 60)
    code = (
        "import sys; sys.modules['llama_cpp'] = None\n"
        "from bot.backends.llama_cpp import make_llama_cpp_backend\n"
        "from bot.config import ModelSettings, Settings\n"
        "from bot.errors import ConfigError\n"
        f"s = Settings(model=ModelSettings(api='llama-cpp', model_path={str(fake)!r}))\n"
        "try:\n    make_llama_cpp_backend(s, {})\nexcept ConfigError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.startswith(INSTALL_HINT), out.stdout + out.stderr


def test_constructing_the_backend_loads_nothing(tmp_path: Path) -> None:
    calls: list[dict[str, object]] = []
    backend = LlamaCppBackend(str(tmp_path / "m.gguf"), 2048, lambda **kw: calls.append(kw))
    assert calls == [] and backend.n_ctx is None


# --- the real model ------------------------------------------------------------------------------

def test_complete_returns_text_usage_and_finish_reason(llama_model_path: Path) -> None:
    backend = make_llama_cpp_backend(settings_for(llama_model_path), {})
    assert backend.name == "llama-cpp"
    completion = backend.complete(COUNTING, greedy(8))
    assert isinstance(completion.text, str)
    assert completion.finish_reason in ("stop", "length")
    assert completion.prompt_tokens is not None and completion.prompt_tokens > 5
    assert completion.completion_tokens is not None and 0 <= completion.completion_tokens <= 8


def test_max_new_tokens_is_respected(llama_model_path: Path) -> None:
    backend = make_llama_cpp_backend(settings_for(llama_model_path), {})
    completion = backend.complete(COUNTING, greedy(3))
    assert completion.completion_tokens is not None and completion.completion_tokens <= 3
    if completion.completion_tokens == 3:
        assert completion.finish_reason == "length"


def test_a_stop_string_cuts_the_answer(llama_model_path: Path) -> None:
    # Learn what the model writes greedily, then stop it on a piece of that text. A fresh
    # backend for each call keeps llama.cpp's prompt cache from changing the arithmetic.
    free = make_llama_cpp_backend(settings_for(llama_model_path), {}).complete(COUNTING, greedy(24)).text
    assert len(free.strip()) >= 4, f"the model wrote too little to test stops: {free!r}"
    start = len(free) - len(free.lstrip())
    stop = free[start + 2:start + 4]
    cut = free.index(stop)
    stopped = make_llama_cpp_backend(settings_for(llama_model_path), {}).complete(
        COUNTING, greedy(24, stop=("<never-written>", stop)))
    assert stop not in stopped.text
    assert stopped.text == free[:cut]
    assert stopped.finish_reason == "stop"


def test_context_window_is_capped_by_the_models_training_context(llama_model_path: Path) -> None:
    backend = make_llama_cpp_backend(settings_for(llama_model_path, context_window=16384), {})
    backend.complete("Hello", greedy(1))
    assert isinstance(backend, LlamaCppBackend)
    assert backend.n_ctx == 8192  # SmolLM2-135M was trained with 8k


def test_without_a_window_in_the_settings_the_plan_gets_the_gguf_context_and_its_own_counts(
        llama_model_path: Path) -> None:
    # An 8k model is planned at 8k, never at StarCoder2's 16k, and counted in its own vocabulary.
    from bot.pipeline import fit_to_model
    from bot.plan.tokens import make_estimator

    settings = settings_for(llama_model_path, context_window=None)
    backend = make_llama_cpp_backend(settings, {})
    fitted, counter = fit_to_model(settings, backend, make_estimator(settings.model))
    assert fitted.model.context_window == fitted.window == 8192
    text = "def f(x):\n    return x  # 0123456789abcdef\n"
    assert counter.count(text) == len(backend.loaded.tokenize(text.encode(), add_bos=False, special=True))
    claimed = settings_for(llama_model_path, context_window=16384)  # more than it was trained for
    assert fit_to_model(claimed, make_llama_cpp_backend(claimed, {}), counter)[0].window == 8192


def test_chat_messages_go_through_the_models_own_chat_template(llama_model_path: Path) -> None:
    from bot.types import ChatMessage

    backend = make_llama_cpp_backend(settings_for(llama_model_path), {})
    answer = backend.complete((ChatMessage("system", "You answer with one word."),
                               ChatMessage("user", "Say yes.")), greedy(8))
    assert answer.text.strip() and answer.completion_tokens is not None and answer.prompt_tokens


def test_the_first_answer_tokens_likeliest_tokens_are_told_and_change_nothing(llama_model_path: Path) -> None:
    from dataclasses import replace

    from bot.types import ChatMessage

    question = (ChatMessage("system", "You answer only yes or no."), ChatMessage("user", "Is 7 a prime number?"))
    plain = make_llama_cpp_backend(settings_for(llama_model_path), {}).complete(question, greedy(8))
    asked = make_llama_cpp_backend(settings_for(llama_model_path), {}).complete(
        question, replace(greedy(8), first_token_top=5))
    assert plain.first_token == () and asked.text == plain.text  # watching the scores changes no answer
    tokens = [token for token, _ in asked.first_token]
    probabilities = [p for _, p in asked.first_token]
    assert len(tokens) == 5 and len(set(tokens)) == 5
    assert probabilities == sorted(probabilities, reverse=True) and 0 < probabilities[-1]
    assert sum(probabilities) <= 1 + 1e-9
    assert asked.text.startswith(tokens[0])  # greedy decoding wrote the likeliest token


def test_a_prompt_that_cannot_fit_with_its_answer_is_too_long(llama_model_path: Path) -> None:
    backend = make_llama_cpp_backend(settings_for(llama_model_path, context_window=256), {})
    with pytest.raises(InputTooLongError, match="exceeds the model context of 256"):
        backend.complete("word " * 300, greedy(16))
    with pytest.raises(InputTooLongError):
        backend.complete("word " * 200, greedy(100))  # fits alone, not with 100 tokens of answer
    assert backend.complete("word " * 20, greedy(4)).completion_tokens is not None  # still usable


def test_concurrent_workers_share_one_model_safely(llama_model_path: Path) -> None:
    # Unserialised, two generations on one llama.cpp context abort or segfault the process
    # (seen: GGML_ASSERT(buffer_id >= 0)), so the workers run in a child we can watch die.
    code = f"""
import json, threading
from bot.backends.base import GenerationParams
from bot.backends.llama_cpp import make_llama_cpp_backend
from bot.config import ModelSettings, Settings
settings = Settings(model=ModelSettings(api="llama-cpp", model_path={str(llama_model_path)!r},
                                        context_window=2048))
backend = make_llama_cpp_backend(settings, {{}})
params = GenerationParams(max_new_tokens=6, temperature=0.0, top_p=1.0)
texts = []
def work(i):
    texts.append(backend.complete("{COUNTING} " + str(i), params).text)
threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(texts))
"""
    child = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                           timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
    assert len(json.loads(child.stdout.strip().splitlines()[-1])) == 4


def test_a_model_llama_cpp_cannot_load_is_a_config_error_every_time(tmp_path: Path,
                                                                   llama_model_path: Path) -> None:
    broken = tmp_path / "truncated.gguf"
    broken.write_bytes(llama_model_path.read_bytes()[:4096])  # valid magic, cut-off body
    backend = make_llama_cpp_backend(settings_for(broken), {})
    for _ in range(2):
        with pytest.raises(ConfigError, match="cannot load this model") as err:
            backend.complete("Hello", greedy(1))
        assert str(broken) in str(err.value) and "\n" not in str(err.value)
