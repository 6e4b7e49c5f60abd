"""With no template configured, the model chooses: review-chat for a chat model, review for a base one.

The GGUF metadata reader runs on GGUF headers built here byte by byte (the format of
ggerganov/ggml docs/gguf.md, no tensors); the HTTP case runs `dry-run` against the loopback
model server. The real models (Qwen2.5-Coder, SmolLM2) are in tests/e2e/test_template_default.py.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from bot.backends.gguf_meta import gguf_string, has_chat_template
from bot.config import Settings, load_settings
from bot.run import choose_template
from tests.cli_runner import run_main
from tests.conftest import EVAL_SET
from tests.servers.model_server import ModelServer

CASE = EVAL_SET / "60a7e775d4"


def _string(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack("<Q", len(data)) + data


def gguf_header(values: dict[str, str | int | list[str]], version: int = 3) -> bytes:
    """A GGUF with metadata only: strings (type 8), uint32 (4) and arrays of strings (9 of 8)."""
    out = [b"GGUF", struct.pack("<IQQ", version, 0, len(values))]
    for key, value in values.items():
        out.append(_string(key))
        if isinstance(value, str):
            out += [struct.pack("<I", 8), _string(value)]
        elif isinstance(value, int):
            out += [struct.pack("<II", 4, value)]
        else:
            out += [struct.pack("<IIQ", 9, 8, len(value)), *(_string(v) for v in value)]
    return b"".join(out)


CHAT = "{% for message in messages %}<|im_start|>{{ message['role'] }}{% endfor %}"
INSTRUCT = {"general.architecture": "qwen2", "qwen2.context_length": 32768,
            "tokenizer.ggml.tokens": ["a", "b", "<|im_start|>"] * 1000, "tokenizer.chat_template": CHAT}
BASE = {"general.architecture": "starcoder2", "starcoder2.context_length": 16384,
        "tokenizer.ggml.tokens": ["a", "b"] * 1000}


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_the_chat_template_is_read_from_the_header_past_the_vocabulary(tmp_path: Path) -> None:
    instruct = write(tmp_path, "instruct.gguf", gguf_header(INSTRUCT))
    base = write(tmp_path, "base.gguf", gguf_header(BASE))
    assert gguf_string(instruct, "tokenizer.chat_template") == CHAT and has_chat_template(instruct)
    assert gguf_string(instruct, "general.architecture") == "qwen2"
    assert gguf_string(base, "tokenizer.chat_template") is None and not has_chat_template(base)
    assert gguf_string(base, "starcoder2.context_length") is None  # not a string


@pytest.mark.parametrize("data", [
    b"", b"GGUF", b"NOPE" + bytes(40), gguf_header(INSTRUCT)[:-20],  # empty, cut short, not a GGUF, truncated
    gguf_header(INSTRUCT, version=1),  # uint32 counts: older than chat templates
    b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + _string("x") + struct.pack("<I", 99),  # unknown type
    b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 60),  # a key longer than the file
    # an array of arrays of arrays ..., deeper than Python's recursion limit
    b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + _string("x") + struct.pack("<I", 9) + struct.pack("<IQ", 9, 1) * 5000,
])
def test_a_header_that_does_not_parse_reads_as_no_chat_template(tmp_path: Path, data: bytes) -> None:
    assert not has_chat_template(write(tmp_path, "bad.gguf", data))


def test_the_template_a_setting_names_wins_and_the_api_or_the_model_chooses_otherwise(tmp_path: Path) -> None:
    instruct = write(tmp_path, "instruct.gguf", gguf_header(INSTRUCT))
    base = write(tmp_path, "base.gguf", gguf_header(BASE))
    in_process = load_settings(env={}, overrides={"model": {"model_path": instruct}})
    assert Settings().review.template is None
    assert choose_template(in_process, instruct) == "review-chat"
    assert choose_template(in_process, base) == "review"
    assert choose_template(in_process, None) == "review"
    assert choose_template(Settings(), instruct) == "review"  # the pinned default GGUF: StarCoder2-3B, base
    configured = load_settings(env={"REVIEW_BOT_TEMPLATE": "starcoder2-pr"},
                               overrides={"model": {"model_path": instruct}})
    assert choose_template(configured, instruct) == "starcoder2-pr"
    for api, name in (("openai-chat", "review-chat"), ("openai", "review"), ("hf", "review")):
        assert choose_template(load_settings(env={}, overrides={"model": {"api": api}}), None) == name


def _chat_answer(prompt: str, payload: dict[str, object]) -> str:
    return "jinja2/debug.py:173: warning: `locals = ctx.get_all()` shares the context's dict\n"


def test_openai_chat_without_a_template_sends_the_chat_template() -> None:
    """Before: template `review` (completion) on a chat api, exit 2 ("is a completion template")."""
    with ModelServer(responder=_chat_answer) as srv:
        code, out, err = run_main(["dry-run", "--diff", str(CASE / "pr.diff"), "--api", "openai-chat",
                                   "--endpoint", srv.url, "--format", "json"])
        requests = srv.requests
    assert code == 0, err
    assert "template review-chat" in err
    chat = [r for r in requests if r.path.endswith("/chat/completions")]
    assert len(chat) == 1 and [m["role"] for m in chat[0].json["messages"]] == ["system", "user"]
    assert "Review the change below for bugs." in chat[0].prompt


def test_prompts_over_openai_chat_shows_the_chat_messages() -> None:
    code, out, err = run_main(["prompts", "--diff", str(CASE / "pr.diff"), "--api", "openai-chat",
                               "--endpoint", "http://127.0.0.1:9"])
    assert code == 0, err
    assert "template review-chat" in err and "Review the change below for bugs." in out
