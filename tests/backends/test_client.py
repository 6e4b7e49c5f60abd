"""run_requests against the loopback model server: retries, waits, budget, concurrency, fatal errors."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest

from bot.backends import make_backend
from bot.backends.base import GenerationParams, InputTooLongError
from bot.backends.client import ModelRunOutcome, run_requests
from bot.backends.events import ModelEvent
from bot.backends.pacing import Admission, TokenBucket, backoff_delay
from bot.config import BudgetSettings, ModelSettings, Settings
from bot.errors import EXIT_UNAVAILABLE, ModelError
from bot.types import Hunk, Line, Request
from tests.servers.model_server import Fault, ModelServer

TOKEN = "hf_client_test_token_abcdef0123"
PARAMS = GenerationParams(max_new_tokens=32, temperature=0.2, top_p=0.95)


def make_request(i: int, prompt: str | None = None) -> Request:
    path = f"src/mod{i}.py"
    hunks = tuple(Hunk(path, n * 10 + 1, 1, n * 10 + 1, 2, f"@@ -{n * 10 + 1},1 +{n * 10 + 1},2 @@",
                       (Line(" ", n * 10 + 1, n * 10 + 1, "x = 1"), Line("+", None, n * 10 + 2, f"y = {i}")))
                  for n in range(2))
    return Request(id=i, hunks=hunks, prompt=prompt or f"request-{i}\nreview {path}", est_tokens=10)


def answer(prompt: str, payload: dict[str, object]) -> str:
    return f"answer to {prompt.splitlines()[0]}"


def settings_for(url: str, api: str = "hf", *, max_retries: int = 5, timeout_s: float = 5.0,
                 **budget: object) -> Settings:
    model = ModelSettings(api=api, endpoint=url, model="bigcode/starcoder2-3b", timeout_s=timeout_s,  # type: ignore[arg-type]
                          connect_timeout_s=2.0, max_retries=max_retries)
    return Settings(model=model, budget=replace(BudgetSettings(requests_per_minute=60_000), **budget))  # type: ignore[arg-type]


def run(srv_or_url: ModelServer | str, requests: Sequence[Request], settings: Settings | None = None,
        env: dict[str, str] | None = None, **kwargs: object) -> ModelRunOutcome:
    url = srv_or_url if isinstance(srv_or_url, str) else srv_or_url.url
    settings = settings or settings_for(url)
    return run_requests(requests, make_backend(settings, env or {}), PARAMS, settings, **kwargs)  # type: ignore[arg-type]


def texts(outcome: ModelRunOutcome) -> list[tuple[int, str]]:
    return [(request.id, completion.text) for request, completion in outcome.completions]


def arrivals(srv: ModelServer, request_id: int) -> list[float]:
    return [r.time for r in srv.requests if r.prompt.startswith(f"request-{request_id}\n")]


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with ModelServer(responder=answer) as srv:
        yield srv


class RecordingSleep:
    """For runs where waiting for real would only slow the test down."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


# -- one fault of each kind ----------------------------------------------------------------------

FAULTS = [
    Fault("loading", estimated_time=0.5),
    Fault("rate_limited", retry_after=1),
    Fault("rate_limited"),
    Fault("overloaded"),
    Fault("server_error"),
    Fault("bad_gateway"),
    Fault("hang", hang_s=1.0),
    Fault("reset"),
    Fault("malformed"),
]


@pytest.mark.parametrize("api", ["hf", "openai"])
def test_one_fault_of_each_kind_changes_nothing_but_time(server: ModelServer, api: str) -> None:
    requests = [make_request(i) for i in range(12)]
    settings = settings_for(server.url, api, timeout_s=0.4, concurrency=3)
    clean = run(server, requests, settings)
    assert texts(clean) == [(i, f"answer to request-{i}") for i in range(12)]
    assert (clean.retries, clean.skipped, clean.requests_sent) == (0, (), 12)

    server.clear()
    for i, fault in enumerate(FAULTS):
        server.fault_on_prompt(f"request-{i}\n", fault)
    events: list[ModelEvent] = []
    started = time.monotonic()
    faulty = run(server, requests, settings, on_event=events.append)
    wall = time.monotonic() - started

    assert texts(faulty) == texts(clean)
    assert faulty.skipped == ()
    assert faulty.requests_sent == 12
    assert faulty.retries == len(FAULTS)
    assert sum(1 for e in events if e.kind == "retry") == len(FAULTS)
    assert faulty.completion_tokens == clean.completion_tokens
    # The waits the server asked for were honoured, between its answer and the next attempt.
    loading, rate_limited = arrivals(server, 0), arrivals(server, 1)
    assert len(loading) == 2 and loading[1] - loading[0] >= 0.5
    assert len(rate_limited) == 2 and rate_limited[1] - rate_limited[0] >= 1.0
    assert faulty.waited_s >= 1.5
    # After a cold start, the retry asks the server to hold the request until the model is up.
    loading_records = [r for r in server.requests if r.prompt.startswith("request-0\n")]
    assert "x-wait-for-model" not in loading_records[0].headers
    assert loading_records[1].headers["x-wait-for-model"] == "true"
    mandated = 1.0 + 0.5
    print(f"\n[{api}] faulty run: {wall:.2f} s wall, {faulty.waited_s:.2f} s waited (summed over workers), "
          f"mandated {mandated:.1f} s, clean run {len(requests)} requests, retries {faulty.retries}")


# -- concurrency, budget, shared backoff ---------------------------------------------------------

def test_four_workers_against_a_server_admitting_two() -> None:
    with ModelServer(responder=answer, latency_s=0.05, max_concurrency=2, over_capacity="retry_after",
                     over_capacity_retry_after=0.1) as srv:
        requests = [make_request(i) for i in range(12)]
        outcome = run(srv, requests, settings_for(srv.url, concurrency=4, max_requests=8))
        assert texts(outcome) == [(i, f"answer to request-{i}") for i in range(8)]
        assert outcome.requests_sent == 8
        budget_skips = [(s.path, s.hunk, s.reason) for s in outcome.skipped]
        assert budget_skips == [(h.path, h.ref, "budget") for r in requests[8:] for h in r.hunks]
        answered = {r.prompt for r in srv.requests if r.status == 200}
        assert len(answered) == 8 and len({r.prompt for r in srv.requests}) == 8
        rejected = sum(1 for r in srv.requests if r.status == 429)
        assert outcome.retries == rejected
        assert srv.max_in_flight <= 2
        print(f"\n429s: {rejected}, retries: {outcome.retries}, waited {outcome.waited_s:.2f} s")


def test_workers_run_concurrently_up_to_the_limit() -> None:
    with ModelServer(responder=answer, latency_s=0.3) as srv:
        outcome = run(srv, [make_request(i) for i in range(6)], settings_for(srv.url, concurrency=3))
        assert len(outcome.completions) == 6
        assert 2 <= srv.max_in_flight <= 3


def test_a_429_pauses_every_worker(server: ModelServer) -> None:
    server.latency_s = 0.05
    server.fault_on_prompt("request-0\n", Fault("rate_limited", retry_after=1))
    outcome = run(server, [make_request(i) for i in range(6)], settings_for(server.url, concurrency=2))
    assert len(outcome.completions) == 6
    [refused] = [r for r in server.requests if r.status == 429]
    # Whatever was already on its way may land just after the 429; nothing new is sent until it passes.
    later = [r.time - refused.time for r in server.requests if r.time > refused.time + 0.2]
    assert later and min(later) >= 1.0


def test_a_storm_of_429s_loses_no_request() -> None:
    # Retries stay bounded: a request refused 1 + max_retries times in a row is lost (here ~0.25^9).
    with ModelServer(responder=answer, refuse_ratio=0.25, refuse_retry_after=0.05, seed=7) as srv:
        outcome = run(srv, [make_request(i) for i in range(15)],
                      settings_for(srv.url, concurrency=4, max_retries=8), rng=random.Random(1))
        assert texts(outcome) == [(i, f"answer to request-{i}") for i in range(15)]
        assert outcome.retries == sum(1 for r in srv.requests if r.status == 429) > 0


def test_zero_budget_sends_nothing(server: ModelServer) -> None:
    outcome = run(server, [make_request(i) for i in range(2)], settings_for(server.url, max_requests=0))
    assert outcome.completions == () and server.requests == []
    assert {s.reason for s in outcome.skipped} == {"budget"} and len(outcome.skipped) == 4


# -- giving up ------------------------------------------------------------------------------------

def test_a_request_that_keeps_failing_becomes_a_model_error_skip(server: ModelServer) -> None:
    server.fault_on_prompt("request-1\n", *[Fault("server_error")] * 3)
    sleep = RecordingSleep()
    outcome = run(server, [make_request(i) for i in range(3)], settings_for(server.url, max_retries=2),
                  sleep=sleep)
    assert texts(outcome) == [(0, "answer to request-0"), (2, "answer to request-2")]
    assert [(s.path, s.reason) for s in outcome.skipped] == [("src/mod1.py", "model_error")] * 2
    assert outcome.retries == 2 and outcome.failed_requests == 1
    backoffs = [s for s in sleep.calls if s >= 0.1]  # the rest is rpm pacing (1,000 a second here)
    assert len(backoffs) == 2 and 0.25 <= backoffs[0] <= 0.5 and 0.5 <= backoffs[1] <= 1.0


def test_every_request_failing_is_a_model_error(server: ModelServer) -> None:
    server.script([Fault("server_error")] * 6)
    with pytest.raises(ModelError) as caught:
        run(server, [make_request(0), make_request(1)], settings_for(server.url, max_retries=2, concurrency=1),
            sleep=RecordingSleep())
    message = str(caught.value)
    assert message.startswith(f"the model at {server.url} failed every request (2)")
    assert "HTTP 500" in message and caught.value.exit_code == EXIT_UNAVAILABLE


def test_our_own_backoff_is_capped_by_max_wait_not_a_reason_to_give_up(server: ModelServer) -> None:
    # Five resets in a row: the fifth backoff (0.5 s doubling, ~8 s) exceeds max_wait_s = 1 s.
    server.fault_on_prompt("request-0\n", *[Fault("reset")] * 5)
    sleep = RecordingSleep()
    outcome = run(server, [make_request(0)], settings_for(server.url, max_retries=6, max_wait_s=1.0), sleep=sleep)
    assert texts(outcome) == [(0, "answer to request-0")] and not outcome.skipped
    assert outcome.retries == 5 and max(sleep.calls) <= 1.0


def test_a_wait_beyond_max_wait_gives_up_without_waiting(server: ModelServer) -> None:
    server.fault_on_prompt("request-0\n", Fault("rate_limited", retry_after=30))
    sleep = RecordingSleep()
    with pytest.raises(ModelError, match="max_wait_s") as caught:
        run(server, [make_request(0), make_request(1)],
            settings_for(server.url, concurrency=1, max_wait_s=5.0), sleep=sleep)
    assert not any(s >= 1 for s in sleep.calls)
    assert len(server.requests) == 1  # the second request was not sent into the same wall
    assert "429" in str(caught.value)


@pytest.mark.parametrize(("fault", "words"), [
    (Fault("unauthorized"), ["token missing or without access", "set HF_TOKEN"]),
    (Fault("not_found"), ["no model at", "check --endpoint/--model"]),
    (Fault("gone"), ["410 Gone", "Inference Endpoint", "Ollama", "https://router.huggingface.co/hf-inference"]),
])
def test_fatal_errors_stop_the_run_at_once(server: ModelServer, fault: Fault, words: list[str]) -> None:
    server.script([fault])
    with pytest.raises(ModelError) as caught:
        run(server, [make_request(i) for i in range(4)], settings_for(server.url, concurrency=1),
            env={"HF_TOKEN": TOKEN})
    message = str(caught.value)
    assert caught.value.exit_code == EXIT_UNAVAILABLE
    assert server.url in message and TOKEN not in message and "\n" not in message
    for word in words:
        assert word in message
    assert len(server.requests) == 1


def test_connection_refused_on_every_attempt_is_fatal() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sleep = RecordingSleep()
    with pytest.raises(ModelError) as caught:
        run(url, [make_request(0), make_request(1)], settings_for(url, max_retries=2, concurrency=1),
            sleep=sleep)
    assert str(caught.value) == f"cannot reach {url} (connection refused): is the server running? check --endpoint"
    assert caught.value.exit_code == EXIT_UNAVAILABLE
    assert len([s for s in sleep.calls if s >= 0.25]) == 2  # two backoffs; the rest is rpm pacing


# -- too long: resplit once -----------------------------------------------------------------------

def halves(request: Request, refusal: object = None) -> list[Request]:
    return [Request(request.id * 10 + n, (hunk,), f"request-{request.id * 10 + n}\npart {n}", 5)
            for n, hunk in enumerate(request.hunks)]


def test_too_long_is_resplit_once_and_parts_count_against_the_budget() -> None:
    with ModelServer(responder=answer, max_prompt_chars=40) as srv:
        long_one = make_request(1, prompt="request-1\n" + "x" * 100)
        calls: list[int] = []

        def resplit(request: Request, refusal: InputTooLongError | None) -> list[Request]:
            calls.append(request.id)
            refusals.append(refusal)
            return halves(request)

        refusals: list[InputTooLongError | None] = []
        outcome = run(srv, [make_request(0), long_one, make_request(2)], resplit=resplit)
        assert calls == [1]
        assert texts(outcome) == [(0, "answer to request-0"), (10, "answer to request-10"),
                                  (11, "answer to request-11"), (2, "answer to request-2")]
        # the refused prompt gave its slot to its parts: 4 requests reviewed, 4 counted
        assert outcome.requests_sent == 4 and outcome.retries == 0 and outcome.skipped == ()
        # the server's stated limit and count reach the re-plan (TGI's wording here)
        [refusal] = refusals
        assert refusal is not None and refusal.limit == 16384 and refusal.prompt_tokens == 16385


def test_a_refusal_as_too_long_does_not_use_up_the_request_budget() -> None:
    with ModelServer(responder=answer, max_prompt_chars=40) as srv:
        long_one = make_request(1, prompt="request-1\n" + "x" * 100)
        settings = settings_for(srv.url)
        tight = replace(settings, budget=replace(settings.budget, max_requests=4))
        outcome = run(srv, [make_request(0), long_one, make_request(2)], settings=tight, resplit=halves)
        assert [request.id for request, _ in outcome.completions] == [0, 10, 11, 2]
        assert outcome.skipped == () and outcome.requests_sent == 4


def test_too_long_twice_or_without_resplit_is_a_model_error_skip() -> None:
    with ModelServer(responder=answer, max_prompt_chars=40) as srv:
        long_one = make_request(1, prompt="request-1\n" + "x" * 100)

        def still_too_long(request: Request, refusal: object) -> list[Request]:
            return [replace(part, prompt=part.prompt + "y" * 100) for part in halves(request)]

        outcome = run(srv, [make_request(0), long_one], resplit=still_too_long)
        assert texts(outcome) == [(0, "answer to request-0")]
        assert [(s.path, s.reason) for s in outcome.skipped] == [("src/mod1.py", "model_error")] * 2
        no_resplit = run(srv, [make_request(0), long_one])
        assert [(s.path, s.reason) for s in no_resplit.skipped] == [("src/mod1.py", "model_error")] * 2
        with pytest.raises(ModelError, match="too long"):
            run(srv, [long_one])


# -- events and pacing primitives -----------------------------------------------------------------

def test_events_are_single_escaped_lines(server: ModelServer) -> None:
    server.fault_on_prompt("request-0\n", Fault("server_error"))
    events: list[ModelEvent] = []
    hunk = Hunk("::warning::evil\nname.py", 1, 0, 1, 1, "@@ -1,0 +1,1 @@", (Line("+", None, 1, "x"),))
    run(server, [Request(0, (hunk,), "request-0\nx", 3)], on_event=events.append, sleep=RecordingSleep())
    assert [e.kind for e in events] == ["sending", "retry", "sending", "done"]
    assert events[1].attempt == 1 and events[1].reason == "server_error" and events[1].wait_s > 0
    for event in events:
        line = event.describe()
        assert "\n" not in line and "model request 1/1" in line


def test_token_bucket_paces_requests() -> None:
    now = [0.0]
    bucket = TokenBucket(per_minute=60, burst=2, clock=lambda: now[0])
    assert [bucket.reserve() for _ in range(4)] == [0.0, 0.0, 1.0, 2.0]
    now[0] = 10.0
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 1.0]


def test_admission_shrinks_on_429_and_grows_back() -> None:
    admission, stop = Admission(4), threading.Event()
    for _ in range(4):
        assert admission.acquire(stop)
    admission.release(throttled=True)
    admission.release(throttled=True)
    assert admission.limit == 2
    admission.release(succeeded=True)
    admission.release(succeeded=True)
    assert admission.limit == 3
    stop.set()
    assert not admission.acquire(stop)


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(0)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (5, 8.0), (9, 8.0)]:
        delay = backoff_delay(attempt, rng)
        assert ceiling / 2 <= delay <= ceiling


def test_tgi_overload_beyond_the_servers_cap_is_retried() -> None:
    with ModelServer(responder=answer, latency_s=0.1, max_concurrency=1, over_capacity="overloaded") as srv:
        outcome = run(srv, [make_request(i) for i in range(4)], settings_for(srv.url, concurrency=3))
        assert texts(outcome) == [(i, f"answer to request-{i}") for i in range(4)]
        overloaded = [r for r in srv.requests if r.status == 429]
        assert overloaded and all(r.fault == "capacity" for r in overloaded)
        assert outcome.retries == len(overloaded) and srv.max_in_flight == 1
