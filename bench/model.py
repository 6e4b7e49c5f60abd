"""Model wall time through `bot.backends.client.run_requests` against the loopback model server.

- Throughput: N hand-built requests, server latency L, server concurrency cap C, client
  concurrency C, rpm unlimited. Bound: the ideal ceil(N / C) * L. Baseline: one request at a
  time with a 1 s pause after each (a naive client): N * (L + 1) s. The short setting computes
  that baseline; the full setting sends `sequential_runs` requests that way and scales up.
- 429 storm: the same, with the server refusing a share of the requests (429, Retry-After).
  Bound: the ideal plus the mandated waits, i.e. the finish time of a zero-overhead reference
  client that keeps C requests in flight and, after each 429, sends nothing more until
  Retry-After has passed. That is the server-wide reading of Retry-After, the one
  bot/backends/client.py follows. The reference meets the server's very refusal sequence
  (its seeded draws, one per arriving request, in arrival order), so it sees the same storm.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from dataclasses import replace

from bench import BenchConfig, Row
from bot.backends import make_backend
from bot.backends.base import Backend, GenerationParams
from bot.backends.client import ModelRunOutcome, run_requests
from bot.config import BudgetSettings, ModelSettings, Settings
from bot.types import Request
from tests.servers.model_server import ModelServer

GOAL = 1.25
PAUSE_S = 1.0  # the naive baseline's pause between requests
STORM_SEED = 11
PARAMS = GenerationParams(max_new_tokens=64, temperature=0.0, top_p=1.0, stop=("\n\n",))
ANSWER = "src/app.py:3: warning: the result of open() is never closed"


def hand_built(n: int) -> list[Request]:
    return [Request(id=i, hunks=(), prompt=f"request {i}: review this change\n+x = {i}\n", est_tokens=12)
            for i in range(1, n + 1)]


def client_settings(endpoint: str, concurrency: int, n: int) -> Settings:
    """rpm effectively unlimited, enough retries that a storm never makes a request give up."""
    return replace(
        Settings(),
        model=replace(ModelSettings(), api="hf", endpoint=endpoint, timeout_s=30.0, max_retries=50),
        budget=replace(BudgetSettings(), max_requests=n, concurrency=concurrency,
                       requests_per_minute=1e9, max_wait_s=60.0))


def timed_run(server: ModelServer, n: int, concurrency: int) -> tuple[float, ModelRunOutcome]:
    settings = client_settings(server.url, concurrency, n)
    backend = make_backend(settings, {})
    start = time.perf_counter()
    outcome = run_requests(hand_built(n), backend, PARAMS, settings)
    return time.perf_counter() - start, outcome


def sequential_baseline(backend: Backend, runs: int) -> float:
    """Seconds per request of a naive client: send, wait for the answer, pause 1 s."""
    start = time.perf_counter()
    for request in hand_built(runs):
        backend.complete(request.prompt, PARAMS)
        time.sleep(PAUSE_S)
    return (time.perf_counter() - start) / runs


def reference_schedule(n: int, concurrency: int, latency_s: float, retry_after_s: float,
                       refused: Iterator[bool]) -> tuple[float, int]:
    """Finish time of the zero-overhead reference client, and the 429s it met.

    Whenever it may send (a free place, no pause running), it fills every free place at once;
    a refused request answers at once and pauses all sending for `retry_after_s`.
    """
    now, not_before = 0.0, 0.0
    finishing: list[float] = []  # completion times of requests in flight
    waiting, done, refusals = n, 0, 0  # waiting: not yet succeeded nor in flight
    while done < n:
        if waiting and len(finishing) < concurrency and now >= not_before:
            for _ in range(min(waiting, concurrency - len(finishing))):
                if next(refused):
                    refusals += 1
                    not_before = now + retry_after_s
                else:
                    finishing.append(now + latency_s)
                    waiting -= 1
            continue
        events = finishing[:]
        if waiting and len(finishing) < concurrency:
            events.append(not_before)
        now = max(now, min(events))
        done += sum(1 for t in finishing if t <= now)
        finishing = [t for t in finishing if t > now]
    return now, refusals


def server_draws(seed: int, ratio: float) -> Iterator[bool]:
    """The storm's refusals in arrival order, as ModelServer draws them (one draw per arrival)."""
    rng = random.Random(seed)
    while True:
        yield rng.random() < ratio


def throughput(config: BenchConfig) -> list[Row]:
    n, c, latency = config.model_requests, config.model_concurrency, config.model_latency_s
    with ModelServer(lambda prompt, payload: ANSWER, latency_s=latency, max_concurrency=c) as server:
        wall, outcome = timed_run(server, n, c)
        over_cap = sum(1 for r in server.requests if r.fault == "capacity")
        if config.sequential_runs:
            backend = make_backend(client_settings(server.url, 1, n), {})
            per_request = sequential_baseline(backend, config.sequential_runs)
            baseline, how = per_request * n, f"sent {config.sequential_runs} that way, scaled to {n}"
        else:
            baseline, how = n * (latency + PAUSE_S), f"computed as {n} * ({latency:g} s + {PAUSE_S:g} s)"
    ideal = math.ceil(n / c) * latency
    answered = len(outcome.completions)
    return [
        Row(family="model", name=f"{n} requests, concurrency {c}, latency {latency:g} s",
            value=wall, baseline=ideal, baseline_name=f"ideal ceil({n}/{c}) * {latency:g} s", goal=GOAL,
            note=f"model: {answered}/{n} answered, {outcome.retries} retries, {over_cap} refused for "
                 f"capacity, server saw at most {server.max_in_flight} at once",
            detail={"answered": answered, "retries": outcome.retries, "max_in_flight": server.max_in_flight}),
        Row(family="model", name="same, vs one at a time with a 1 s pause", value=wall, baseline=baseline,
            baseline_name="naive sequential client",
            note=f"naive baseline {how}; speed-up {baseline / wall:.0f}x",
            detail={"baseline_measured": bool(config.sequential_runs)}),
    ]


def storm(config: BenchConfig) -> list[Row]:
    n, c, latency = config.storm_requests, config.model_concurrency, config.model_latency_s
    ratio, retry_after = config.storm_refuse_ratio, config.storm_retry_after_s
    with ModelServer(lambda prompt, payload: ANSWER, latency_s=latency, max_concurrency=c, refuse_ratio=ratio,
                     refuse_retry_after=retry_after, seed=STORM_SEED) as server:
        wall, outcome = timed_run(server, n, c)
        records = sorted(server.requests, key=lambda r: r.index)
    refused = sum(1 for r in records if r.fault == "rate_limited")
    expected = server_draws(STORM_SEED, ratio)
    same_draws = all((r.fault == "rate_limited") == next(expected) for r in records if r.fault != "capacity")
    bound, met = reference_schedule(n, c, latency, retry_after, server_draws(STORM_SEED, ratio))
    ideal = math.ceil(n / c) * latency
    answered = len(outcome.completions)
    return [Row(
        family="model", name=f"429 storm: {n} requests, {ratio:.0%} refused with Retry-After {retry_after:g} s",
        value=wall, baseline=bound, baseline_name=f"ideal {ideal:.2f} s + mandated waits {bound - ideal:.2f} s",
        goal=GOAL,
        note=(f"storm: {answered}/{n} answered after {len(records)} attempts, {refused} refused (the reference "
              f"client met {met} refusals, finishing at {bound:.2f} s"
              + ("" if same_draws else "; the server's draws did not match the reference's") + ")"),
        detail={"answered": answered, "attempts": len(records), "refused": refused, "reference_refusals": met,
                "ideal_s": ideal, "retries": outcome.retries, "waited_s": round(outcome.waited_s, 3)})]


def run(config: BenchConfig) -> list[Row]:
    return throughput(config) + storm(config)
