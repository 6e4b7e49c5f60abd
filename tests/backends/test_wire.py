"""The hf and openai backends against the loopback model server: payloads, answers, error mapping."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from email.utils import formatdate

import pytest

from bot.backends import make_backend
from bot.backends.base import Backend, GenerationParams, InputTooLongError, KnowsContext, RetryableModelError
from bot.backends.hf import HfBackend
from bot.backends.http import display_url, parse_retry_after
from bot.config import BudgetSettings, ModelSettings, ReviewSettings, Settings
from bot.errors import EXIT_UNAVAILABLE, ConfigError, ModelError
from bot.findings.grounding import collect_findings
from bot.types import ChatMessage, Hunk, Line, Request
from tests.servers.model_server import Fault, ModelServer

TOKEN = "hf_test_token_0123456789abcdef"
MODEL = "bigcode/starcoder2-3b"
PARAMS = GenerationParams(max_new_tokens=64, temperature=0.2, top_p=0.95, stop=("\n\n\n", "<file_sep>"))


def settings(endpoint: str, api: str = "hf", **model: object) -> Settings:
    return Settings(model=replace(ModelSettings(api=api, endpoint=endpoint, model=MODEL), **model),  # type: ignore[arg-type]
                    budget=BudgetSettings(requests_per_minute=6000))


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with ModelServer(responder=lambda prompt, payload: f"a.py:1: warning: about {prompt[:12]}") as srv:
        yield srv


def backend_for(srv: ModelServer, flavour: str, env: dict[str, str] | None = None, **model: object) -> Backend:
    endpoint = {"hf": srv.url, "tgi": srv.url + "/generate", "openai": srv.url}[flavour]
    api = "openai" if flavour == "openai" else "hf"
    return make_backend(settings(endpoint, api, **model), env or {})


# -- wire formats ---------------------------------------------------------------------------------

def test_hf_list_form_round_trip_with_token(server: ModelServer) -> None:
    server.token = TOKEN
    backend = backend_for(server, "hf", {"HF_TOKEN": TOKEN})
    completion = backend.complete("def f(): pass", PARAMS)
    assert completion.text == "a.py:1: warning: about def f(): pas"
    assert completion.finish_reason == "eos_token"  # TGI behind the list form: details, since we ask
    [seen] = server.requests
    assert seen.path == "/"
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.json == {"inputs": "def f(): pass",
                         "parameters": {"max_new_tokens": 64, "temperature": 0.2, "top_p": 0.95,
                                        "stop": ["\n\n\n", "<file_sep>"], "return_full_text": False,
                                        "do_sample": True, "details": True}}


def test_tgi_generate_form_round_trip_without_token(server: ModelServer) -> None:
    backend = backend_for(server, "tgi")
    completion = backend.complete("prompt text", PARAMS)
    assert completion.text == "a.py:1: warning: about prompt text"
    assert completion.finish_reason == "eos_token"
    assert completion.completion_tokens == 5
    [seen] = server.requests
    assert seen.path == "/generate"
    assert "authorization" not in seen.headers
    assert set(seen.json) == {"inputs", "parameters"}
    assert seen.json["parameters"]["max_new_tokens"] == 64


def test_tgi_sends_details_only_when_asked_and_a_cut_line_is_no_finding(server: ModelServer) -> None:
    # Real TGI: no `details` unless parameters.details is true. Asked without it, the answer
    # cannot say it was cut; the backend asks, so a half line cut by max_new_tokens is dropped.
    import requests

    bare = requests.post(server.url + "/generate", json={"inputs": "x", "parameters": {"max_new_tokens": 5}},
                         timeout=5).json()
    assert set(bare) == {"generated_text"}
    server.responder = lambda prompt, payload: "a.py:1: warning: leaks the handle\na.py:2: error: divides by zero"
    cut = backend_for(server, "tgi").complete("prompt", replace(PARAMS, max_new_tokens=6))
    assert cut.finish_reason == "length" and cut.completion_tokens  # no longer always 0
    hunk = Hunk("a.py", 0, 0, 1, 2, "@@ -0,0 +1,2 @@", (Line("+", None, 1, "f = open(p)"), Line("+", None, 2, "1/0")))
    outcome = collect_findings([(Request(1, (hunk,), "", 1), cut)], "diagnostics", ReviewSettings())
    assert [(f.line, f.message) for f in outcome.findings] == [(1, "leaks the handle")]


def test_openai_chat_round_trip(server: ModelServer) -> None:
    server.token = TOKEN
    backend = make_backend(settings(server.url + "/v1", "openai-chat"), {"HF_TOKEN": TOKEN})
    messages = (ChatMessage("system", "You review code."), ChatMessage("user", "def f(): pass"))
    completion = backend.complete(messages, PARAMS)
    assert completion.text == "a.py:1: warning: about You review c"
    assert completion.finish_reason == "stop" and completion.completion_tokens == 6
    [seen] = server.requests
    assert seen.path == "/v1/chat/completions"
    assert seen.json == {"model": MODEL, "messages": [{"role": "system", "content": "You review code."},
                                                      {"role": "user", "content": "def f(): pass"}],
                         "max_tokens": 64, "temperature": 0.2, "top_p": 0.95, "stop": ["\n\n\n", "<file_sep>"]}


@pytest.mark.parametrize("api", ["hf", "openai"])
def test_completion_backends_refuse_chat_messages_and_the_chat_backend_plain_prompts(
        server: ModelServer, api: str) -> None:
    with pytest.raises(ConfigError, match="cannot send chat messages"):
        make_backend(settings(server.url, api), {}).complete((ChatMessage("user", "x"),), PARAMS)
    with pytest.raises(ConfigError, match="sends chat messages"):
        make_backend(settings(server.url, "openai-chat"), {}).complete("x", PARAMS)
    assert server.requests == []


@pytest.mark.parametrize("api, path", [("hf", "/info"), ("openai", "/v1/models"), ("openai-chat", "/v1/models")])
def test_servers_tell_their_context_window(api: str, path: str) -> None:
    with ModelServer(context_tokens=4096) as srv:
        backend = make_backend(settings(srv.url, api), {})
        assert isinstance(backend, KnowsContext) and backend.context_limit() == 4096
        assert srv.gets == [path]
    with ModelServer() as silent:  # a server that does not say: unknown, never an error
        backend = make_backend(settings(silent.url, api), {})
        assert isinstance(backend, KnowsContext) and backend.context_limit() is None


def test_llama_cpp_server_props_tell_the_context_window() -> None:
    # llama.cpp's server has no max_model_len in /v1/models: its /props says n_ctx.
    from bot.backends.http import HttpTransport
    from bot.backends.openai import openai_context_limit

    with ModelServer(context_tokens=8192, advertises=("/props",)) as srv:
        assert openai_context_limit(HttpTransport(srv.url, model=MODEL, token=None)) == 8192
        assert srv.gets == ["/v1/models", "/props"]


def test_openai_round_trip(server: ModelServer) -> None:
    server.token = TOKEN
    backend = backend_for(server, "openai", {"HF_TOKEN": TOKEN})
    completion = backend.complete("some prompt", PARAMS)
    assert completion.text == "a.py:1: warning: about some prompt"
    assert completion.finish_reason == "stop"
    assert (completion.prompt_tokens, completion.completion_tokens) == (2, 5)
    [seen] = server.requests
    assert seen.path == "/v1/completions"
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.json == {"model": MODEL, "prompt": "some prompt", "max_tokens": 64, "temperature": 0.2,
                         "top_p": 0.95, "stop": ["\n\n\n", "<file_sep>"]}


def test_model_in_the_hf_path_and_custom_token_env(server: ModelServer) -> None:
    server.model_id, server.token = MODEL, TOKEN
    backend = make_backend(settings(server.url + "/models/{model}", token_env="MY_TOKEN"), {"MY_TOKEN": TOKEN})
    backend.complete("x", PARAMS)
    assert server.requests[-1].path == f"/models/{MODEL}"
    assert server.requests[-1].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/", "/v1/completions"])
def test_openai_path_never_doubles_v1(server: ModelServer, suffix: str) -> None:
    make_backend(settings(server.url + suffix, "openai"), {}).complete("x", PARAMS)
    assert server.requests[-1].path == "/v1/completions"


@pytest.mark.parametrize("flavour", ["tgi", "openai"])
def test_max_tokens_always_sent_and_length_cut_reported(server: ModelServer, flavour: str) -> None:
    server.responder = lambda prompt, payload: "one two three four five six"
    completion = backend_for(server, flavour).complete("x", replace(PARAMS, max_new_tokens=3))
    assert completion.text == "one two three"
    assert completion.finish_reason == "length"
    body = server.requests[-1].json
    assert (body["max_tokens"] if flavour == "openai" else body["parameters"]["max_new_tokens"]) == 3


def test_greedy_hf_payload_sends_neither_temperature_nor_top_p(server: ModelServer) -> None:
    # TGI rejects temperature 0 and turns sampling on when top_p is present.
    greedy = replace(PARAMS, temperature=0.0)
    backend_for(server, "hf").complete("x", greedy)
    assert server.requests[-1].json["parameters"] == {
        "max_new_tokens": 64, "stop": ["\n\n\n", "<file_sep>"], "return_full_text": False, "do_sample": False,
        "details": True}
    backend_for(server, "openai").complete("x", greedy)
    assert server.requests[-1].json["temperature"] == 0.0  # vLLM and llama.cpp take 0 as greedy


def test_hf_sends_at_most_four_stop_strings(server: ModelServer) -> None:
    backend_for(server, "hf").complete("x", replace(PARAMS, stop=("a", "b", "c", "d", "e")))
    assert server.requests[-1].json["parameters"]["stop"] == ["a", "b", "c", "d"]


def test_hf_strips_an_echoed_prompt(server: ModelServer) -> None:
    server.responder = lambda prompt, payload: prompt + " and the answer"
    assert backend_for(server, "hf").complete("the prompt", PARAMS).text == " and the answer"


def test_wait_for_model_header_only_when_asked(server: ModelServer) -> None:
    backend = backend_for(server, "hf")
    backend.complete("x", PARAMS)
    backend.complete("x", PARAMS, wait_for_model=True)  # type: ignore[call-arg]
    first, second = server.requests
    assert "x-wait-for-model" not in first.headers
    assert second.headers["x-wait-for-model"] == "true"


# -- faults -> typed errors ---------------------------------------------------------------------

@pytest.mark.parametrize("flavour", ["hf", "tgi", "openai"])
@pytest.mark.parametrize(("fault", "kind", "wait_s"), [
    (Fault("loading", estimated_time=0.5), "loading", 0.5),
    (Fault("rate_limited", retry_after=2), "rate_limited", 2.0),
    (Fault("rate_limited"), "rate_limited", None),
    (Fault("overloaded"), "overloaded", None),
    (Fault("server_error", retry_after=3), "server_error", 3.0),
    (Fault("bad_gateway"), "server_error", None),
    (Fault("reset"), "connection", None),
    (Fault("malformed"), "bad_response", None),
])
def test_retryable_faults(server: ModelServer, flavour: str, fault: Fault, kind: str, wait_s: float | None) -> None:
    server.script([fault])
    with pytest.raises(RetryableModelError) as caught:
        backend_for(server, flavour).complete("x", PARAMS)
    assert caught.value.kind == kind
    assert caught.value.wait_s == wait_s
    assert caught.value.wait_for_model == (kind == "loading")
    assert server.url in str(caught.value)


def test_hang_past_the_timeout_is_a_timeout(server: ModelServer) -> None:
    server.script([Fault("hang", hang_s=2.0)])
    with pytest.raises(RetryableModelError) as caught:
        backend_for(server, "hf", timeout_s=0.2).complete("x", PARAMS)
    assert caught.value.kind == "timeout"
    assert "timeout_s" in str(caught.value)


def test_retry_after_as_http_date(server: ModelServer) -> None:
    server.script([Fault("rate_limited", retry_after=3, http_date=True)])
    with pytest.raises(RetryableModelError) as caught:
        backend_for(server, "hf").complete("x", PARAMS)
    assert caught.value.wait_s is not None and 2.0 <= caught.value.wait_s <= 4.0


@pytest.mark.parametrize(("flavour", "status"), [("hf", 422), ("tgi", 422), ("openai", 400)])
def test_input_too_long(server: ModelServer, flavour: str, status: int) -> None:
    server.script([Fault("too_long")])
    with pytest.raises(InputTooLongError, match=f"HTTP {status}"):
        backend_for(server, flavour).complete("x", PARAMS)


def test_empty_text_is_a_valid_answer(server: ModelServer) -> None:
    server.script([Fault("empty")])
    assert backend_for(server, "tgi").complete("x", PARAMS).text == ""


# -- fatal errors: one line, the endpoint and the fix, never the token --------------------------

def _fatal(srv: ModelServer, flavour: str, env: dict[str, str] | None = None) -> ModelError:
    with pytest.raises(ModelError) as caught:
        backend_for(srv, flavour, env).complete("x", PARAMS)
    err = caught.value
    assert not isinstance(err, RetryableModelError | InputTooLongError)
    message = str(err)
    assert "\n" not in message and TOKEN not in message
    assert err.exit_code == EXIT_UNAVAILABLE
    return err


@pytest.mark.parametrize("flavour", ["hf", "openai"])
def test_wrong_token_401(server: ModelServer, flavour: str) -> None:
    server.token = "the-real-token-on-the-server"
    message = str(_fatal(server, flavour, {"HF_TOKEN": TOKEN}))
    assert "token missing or without access" in message and "HF_TOKEN" in message
    assert server.url in message and MODEL in message
    assert "the-real-token" not in message


@pytest.mark.parametrize(("fault", "words"), [
    (Fault("forbidden"), ["HTTP 403", "set HF_TOKEN"]),
    (Fault("not_found"), ["no model at", "check --endpoint/--model"]),
    (Fault("gone"), ["410", "Inference Endpoint", "TGI/vLLM/llama.cpp", "Ollama", "--api openai",
                     f"https://router.huggingface.co/hf-inference/models/{MODEL}"]),
])
def test_fatal_statuses(server: ModelServer, fault: Fault, words: list[str]) -> None:
    server.script([fault])
    message = str(_fatal(server, "hf", {"HF_TOKEN": TOKEN}))
    assert server.url in message
    for word in words:
        assert word in message


def test_unknown_model_on_openai_is_404(server: ModelServer) -> None:
    server.model_id = "someone/else"
    assert "check --endpoint/--model" in str(_fatal(server, "openai"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_retryable_with_the_fix_in_the_message() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RetryableModelError) as caught:
        make_backend(settings(url), {}).complete("x", PARAMS)
    assert caught.value.kind == "refused"
    assert str(caught.value) == f"cannot reach {url} (connection refused): is the server running? check --endpoint"


# -- configuration --------------------------------------------------------------------------------

def test_huggingface_host_without_token_fails_before_sending() -> None:
    with pytest.raises(ConfigError) as caught:
        make_backend(settings("https://router.huggingface.co/hf-inference/models/{model}"), {"HF_TOKEN": " "})
    assert caught.value.exit_code == 2
    assert "HF_TOKEN is not set" in str(caught.value)
    assert "router.huggingface.co" in str(caught.value)
    with pytest.raises(ConfigError, match="MY_TOKEN is not set"):
        make_backend(settings("https://huggingface.co/x", "openai", token_env="MY_TOKEN"), {"HF_TOKEN": TOKEN})


def test_hf_default_endpoint_is_the_router() -> None:
    backend = make_backend(Settings(model=ModelSettings(api="hf", model=MODEL)), {"HF_TOKEN": TOKEN})
    assert isinstance(backend, HfBackend)
    assert backend.endpoint == f"https://router.huggingface.co/hf-inference/models/{MODEL}"


def test_bad_endpoint_and_unknown_api_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="not an http"):
        make_backend(settings("localhost:8080"), {})
    with pytest.raises(ConfigError, match="choose one of"):
        make_backend(settings("http://127.0.0.1:1", "nope"), {})


def test_display_url_hides_credentials_and_query() -> None:
    assert display_url("http://user:secret@host:8080/v1?api_key=abc") == "http://host:8080/v1"
    assert display_url("http://[::1]:8080/") == "http://[::1]:8080/"


def test_server_text_in_messages_is_one_line_and_token_free(server: ModelServer) -> None:
    server.script([Fault("server_error", message=f"bad header Bearer {TOKEN}\n::error::injected")])
    with pytest.raises(RetryableModelError) as caught:
        backend_for(server, "hf", {"HF_TOKEN": TOKEN}).complete("x", PARAMS)
    message = str(caught.value)
    assert TOKEN not in message and "Bearer ***" in message
    assert "\n" not in message and "HTTP 500" in message


@pytest.mark.parametrize(("value", "expected"), [
    ("3", 3.0), (" 0.5 ", 0.5), ("-2", 0.0), ("soon", None), ("", None), (None, None),
    (formatdate(1_000_010, usegmt=True), 10.0),
])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=1_000_000) == expected


def test_script_is_by_arrival_index(server: ModelServer) -> None:
    backend = backend_for(server, "hf")
    backend.complete("x", PARAMS)
    server.script([None, Fault("server_error")])  # counts from the next request
    backend.complete("x", PARAMS)
    with pytest.raises(RetryableModelError):
        backend.complete("x", PARAMS)
    server.fault_on(3, Fault("not_found"))
    with pytest.raises(ModelError, match="no model at"):
        backend.complete("x", PARAMS)
    assert [(r.index, r.status, r.fault) for r in server.requests] == [
        (0, 200, ""), (1, 200, ""), (2, 500, "server_error"), (3, 404, "not_found")]
