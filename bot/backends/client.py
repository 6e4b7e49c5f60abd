"""Send a run's requests through any Backend: bounded retries, one shared rate limit, a worker pool.

Policy, in one place:
- `budget.max_requests` counts logical requests (a prompt sent at least once, resplit parts
  included); retries of the same prompt are not new requests, and a prompt the server
  refused as too long gives its slot to the parts it is re-planned into. Past the budget, requests are
  not sent and their hunks become `Skipped(reason="budget")`.
- Every attempt, retries included, takes a token from one requests-per-minute bucket.
- Waits the server asks for (Retry-After, a cold start's estimated_time) are honoured up to
  `budget.max_wait_s`. A loading model is retried after at most that cap (with
  `x-wait-for-model`, the server then holds the request until the model is up); a Retry-After
  beyond the cap gives that request up at once, since asking again earlier is only refused.
- A 429 pauses every worker (one shared "not before" time) and lowers how many requests may
  be in flight; successes raise it back towards `budget.concurrency`.
- With a deadline (budget.max_minutes), a request starts only if the measured speed says it ends
  in time (bot.backends.time_budget); else its hunks become `Skipped(reason="time_budget")`.
- A running request is reported ("working") every TICK_S, an in-process one also as it reads
  and writes (TokenCounts); Progress prints those at its own pace.
- Fatal ModelError (401/403/404/410, ...) stops the run. A request whose retries run out
  becomes `Skipped(reason="model_error")`, unless nothing succeeded at all: then the run
  raises ModelError, and refusal on every attempt means the server is not there.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Literal, Protocol, cast

from bot.backends.base import Backend, GenerationParams, InputTooLongError, Prompt, RetryableModelError
from bot.backends.events import CountsTokens, EventKind, ModelEvent, TokenCounts
from bot.backends.pacing import Admission, TokenBucket, backoff_delay
from bot.backends.time_budget import TimeBudget
from bot.config import Settings
from bot.errors import ModelError
from bot.types import Completion, Request, Skipped

UNREACHABLE = frozenset({"refused", "unresolved"})
SERVER_PACED = frozenset({"rate_limited", "overloaded"})  # pause every worker, lower concurrency
ANNOUNCED_WAIT_S = 0.5  # shorter pacing waits are counted but not reported one by one
TICK_S = 1.0  # how often a running request is reported as "working" (Progress prints at its own pace)


@dataclass(frozen=True)
class ModelRunOutcome:
    completions: tuple[tuple[Request, Completion], ...]  # in request order
    skipped: tuple[Skipped, ...]  # one per hunk of each request left out (budget / model_error)
    requests_sent: int  # logical requests sent at least once
    retries: int
    waited_s: float  # summed over workers: pacing, server-asked waits and backoff
    prompt_tokens: int
    completion_tokens: int
    failed_requests: int = 0


class _WaitsForModel(Protocol):
    def complete(self, prompt: Prompt, params: GenerationParams, *,
                 wait_for_model: bool = False) -> Completion: ...


@dataclass(frozen=True)
class _Flight:  # a request being answered now
    job: _Job
    attempt: int
    sent_at: float
    tokens: TokenCounts | None = None


@dataclass(frozen=True)
class _Job:
    key: tuple[int, ...]  # sort key: position of the request, then of the resplit part
    request: Request
    index: int
    may_resplit: bool


@dataclass(frozen=True)
class _Result:
    kind: Literal["done", "too_long", "failed", "budget", "time_budget", "cancelled"]
    completion: Completion | None = None
    detail: str = ""
    attempts: int = 0
    error: str = ""
    too_long: InputTooLongError | None = None  # what the server said, for the re-plan


class _Cancelled(Exception):
    """The run stopped (a fatal error elsewhere) while this worker waited."""


class _OutOfTime(Exception):
    """The run's deadline leaves no time for this attempt (budget.max_minutes)."""


class _GiveUp(Exception):
    """The server asks for a wait beyond budget.max_wait_s: this request fails without retrying."""

    def __init__(self, message: str, kind: str, attempt: int = 1) -> None:
        super().__init__(message)
        self.kind = kind
        self.attempt = attempt


class _Run:
    """State every worker shares; all mutation under one lock."""

    def __init__(self, backend: Backend, params: GenerationParams, settings: Settings,
                 on_event: Callable[[ModelEvent], None] | None, sleep: Callable[[float], None],
                 clock: Callable[[], float], rng: random.Random, total: int,
                 deadline: float | None = None) -> None:
        self.backend, self.params, self.budget = backend, params, settings.budget
        self.time = TimeBudget(deadline, settings.budget.max_minutes, clock)
        self.max_retries = settings.model.max_retries
        self.on_event, self.clock, self.rng = on_event, clock, rng
        self._sleep = sleep
        self.lock = threading.Lock()
        self.event_lock = threading.Lock()
        self.stop = threading.Event()
        burst = max(1.0, min(float(settings.budget.concurrency), settings.budget.requests_per_minute))
        self.bucket = TokenBucket(settings.budget.requests_per_minute, burst, clock)
        self.admission = Admission(settings.budget.concurrency)
        self.started = clock()
        self.total = total
        self.not_before = 0.0  # clock time before which nobody sends (shared 429 backoff)
        self.pause_cause = ""  # the answer that set not_before, for messages
        self.sent = self.retries = self.succeeded = 0
        self.waited = 0.0
        self.loading_seen = False
        self.flights: dict[tuple[int, ...], _Flight] = {}  # requests being answered now

    def emit(self, job: _Job, kind: EventKind, *, attempt: int = 1, wait_s: float = 0.0, reason: str = "",
             detail: str = "", tokens: TokenCounts | None = None) -> None:
        if self.on_event is None:
            return
        event = ModelEvent(kind=kind, index=job.index, total=self.total, request_id=job.request.id,
                           files=job.request.files, elapsed_s=self.clock() - self.started, attempt=attempt,
                           retries=self.retries, wait_s=wait_s, reason=reason, detail=detail, tokens=tokens)
        with self.event_lock:  # callers print; one event at a time keeps lines whole
            self.on_event(event)

    def working(self, flight: _Flight | None = None) -> None:
        """A request is still running: `flight` (an in-process model read or wrote more of it), else
        the longest-running one (the client's tick). Progress decides whether to print it."""
        with self.lock:
            if flight is not None:
                self.flights[flight.job.key] = flight
            else:
                flight = min(self.flights.values(), key=lambda f: f.sent_at, default=None)
        if flight is not None:
            self.emit(flight.job, "working", attempt=flight.attempt, wait_s=self.clock() - flight.sent_at,
                      tokens=flight.tokens)

    def sleep(self, seconds: float, job: _Job, reason: str, announce: bool = True) -> None:
        if seconds <= 0:
            return
        with self.lock:
            self.waited += seconds
        if announce and seconds >= ANNOUNCED_WAIT_S:
            self.emit(job, "wait", wait_s=seconds, reason=reason)
        # The real clock waits on the stop event, so a fatal error elsewhere ends the wait.
        if self._sleep is time.sleep:
            self.stop.wait(seconds)
        else:
            self._sleep(seconds)
        if self.stop.is_set():
            raise _Cancelled

    def take_slot(self) -> bool:
        with self.lock:
            if self.sent >= self.budget.max_requests:
                return False
            self.sent += 1
            return True

    def give_back_slot(self) -> None:
        """A prompt refused as too long was never reviewed: its re-planned parts take the slot."""
        with self.lock:
            self.sent -= 1

    def pace(self, job: _Job) -> None:
        """Before an attempt: the rpm bucket, then the shared 429 pause (if short enough)."""
        self.sleep(self.bucket.reserve(), job, "requests_per_minute budget")
        with self.lock:
            pause = self.not_before - self.clock()
            cause = self.pause_cause
        if pause > self.budget.max_wait_s:
            raise _GiveUp(f"{cause}; it asks to wait {pause:.0f} s more, beyond budget.max_wait_s "
                          f"({self.budget.max_wait_s:g} s): try later or raise max_wait_s", "rate_limited")
        self.sleep(pause, job, "server rate limit, shared pause")

    def retry_wait(self, err: RetryableModelError, attempt: int) -> float:
        """How long to wait before the next attempt; raises _GiveUp when the server asks too much."""
        cap = self.budget.max_wait_s
        asked = err.wait_s
        if err.kind == "loading":
            with self.lock:
                self.loading_seen = True
            return min(asked if asked is not None else backoff_delay(attempt, self.rng), cap)
        # Our own backoff is capped; only a wait the server itself asks for can be too long.
        delay = asked if asked is not None else min(backoff_delay(attempt, self.rng), cap)
        if err.kind in SERVER_PACED:
            with self.lock:
                if self.clock() + delay > self.not_before:
                    self.not_before, self.pause_cause = self.clock() + delay, str(err)
        if delay > cap:
            raise _GiveUp(f"{err}; it asks to wait {delay:.0f} s, beyond budget.max_wait_s ({cap:g} s): "
                          "try later or raise max_wait_s", err.kind, attempt)
        return delay


def _complete(run: _Run, job: _Job, attempt: int, prompt: Prompt) -> Completion:
    sent_at = run.clock()
    with run.lock:
        run.flights[job.key] = _Flight(job, attempt, sent_at)
    try:
        with run.lock:
            wait_for_model = run.loading_seen
        if wait_for_model:
            # Only a backend that raised wait_for_model=True gets here, and such a backend takes the keyword.
            completion = cast(_WaitsForModel, run.backend).complete(prompt, run.params, wait_for_model=True)
        elif getattr(run.backend, "reports_tokens", False):
            def counted(tokens: TokenCounts) -> None:
                run.working(_Flight(job, attempt, sent_at, tokens))

            completion = cast(CountsTokens, run.backend).complete(prompt, run.params, on_tokens=counted)
        else:
            completion = run.backend.complete(prompt, run.params)
    finally:
        with run.lock:
            run.flights.pop(job.key, None)
    run.time.record(run.clock() - sent_at, job.request.est_tokens)  # answers only: they measure the speed
    return completion


def _attempts(run: _Run, job: _Job) -> _Result:
    """Send one request until it succeeds, fails for good, or its retries run out."""
    try:
        if run.stop.is_set():
            return _Result("cancelled")
        if not run.take_slot():
            run.emit(job, "skipped", reason="budget", detail=f"budget.max_requests = {run.budget.max_requests}")
            return _Result("budget", detail=f"run budget of {run.budget.max_requests} requests spent")
        return _retry_loop(run, job)
    except _OutOfTime as err:
        run.emit(job, "skipped", reason="time_budget", detail=str(err))
        return _Result("time_budget", detail=str(err))
    except _GiveUp as err:
        run.emit(job, "failed", attempt=err.attempt, reason=err.kind, detail=str(err))
        return _Result("failed", detail=f"{err.kind}: the server asked for a wait beyond budget.max_wait_s",
                       error=str(err))
    except _Cancelled:
        return _Result("cancelled")
    except BaseException:
        # Stop now, not when the main thread sees the error: this worker may be handed the next job first.
        run.stop.set()
        raise


def _retry_loop(run: _Run, job: _Job) -> _Result:
    attempt, kinds = 0, set()
    while True:
        attempt += 1
        try:
            completion = _send_once(run, job, attempt)
        except InputTooLongError as err:
            run.give_back_slot()
            return _Result("too_long", detail="prompt too long for the model", attempts=attempt,
                           error=str(err), too_long=err)
        except RetryableModelError as err:
            kinds.add(err.kind)
            if attempt > run.max_retries:
                with run.lock:
                    nothing_worked = run.succeeded == 0
                if kinds <= UNREACHABLE and nothing_worked:
                    raise ModelError(str(err)) from None
                run.emit(job, "failed", attempt=attempt, reason=err.kind, detail=str(err))
                return _Result("failed", detail=f"{err.kind} after {attempt} attempts", attempts=attempt,
                               error=str(err))
            delay = run.retry_wait(err, attempt)
            with run.lock:
                run.retries += 1
            run.emit(job, "retry", attempt=attempt, wait_s=delay, reason=err.kind, detail=str(err))
            run.sleep(delay, job, err.kind, announce=False)
            continue
        with run.lock:
            run.succeeded += 1
        run.emit(job, "done", attempt=attempt)
        return _Result("done", completion=completion, attempts=attempt)


def _send_once(run: _Run, job: _Job, attempt: int) -> Completion:
    """One attempt, inside the in-flight cap and after pacing; raises what the backend raises."""
    if not run.admission.acquire(run.stop):
        raise _Cancelled
    try:
        run.pace(job)
        late = run.time.refusal(job.request.est_tokens)  # after pacing: its waits count too
        if late is not None:
            if attempt == 1:
                run.give_back_slot()  # never sent: it does not count as a request
            raise _OutOfTime(late)
        run.emit(job, "sending", attempt=attempt)
        completion = _complete(run, job, attempt, job.request.messages or job.request.prompt)
    except RetryableModelError as err:
        # A 429 that names its Retry-After is a rate limit: the shared pause honours it. Only
        # an answer that says "too many at once" (overloaded, or 429 without a time) means
        # fewer requests in flight.
        run.admission.release(throttled=err.kind == "overloaded" or (err.kind in SERVER_PACED and err.wait_s is None))
        raise
    except BaseException:
        run.admission.release()
        raise
    run.admission.release(succeeded=True)
    return completion


def _skips(request: Request, reason: str, detail: str) -> list[Skipped]:
    return [Skipped(h.path, h.ref, reason, detail) for h in request.hunks]


def run_requests(
    requests: Sequence[Request], backend: Backend, params: GenerationParams, settings: Settings,
    on_event: Callable[[ModelEvent], None] | None = None,
    resplit: Callable[[Request, InputTooLongError | None], Sequence[Request]] | None = None,
    sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None, deadline: float | None = None,
) -> ModelRunOutcome:
    """Send every request (concurrently, within budget); results come back in request order.

    `on_event` is called from worker threads, one call at a time. `resplit` turns a request
    the server found too long into smaller ones, sized by what the server stated; it is called
    once per request, never for a part. A refused prompt does not count against max_requests.
    `deadline` is the `clock` time by which requests must have ended (budget.max_minutes).
    """
    run = _Run(backend, params, settings, on_event, sleep, clock, rng or random.Random(), len(requests),
               deadline)
    results: dict[tuple[int, ...], tuple[_Job, _Result]] = {}
    pool = ThreadPoolExecutor(max_workers=settings.budget.concurrency, thread_name_prefix="review-bot-model")
    pending: dict[Future[_Result], _Job] = {}
    try:
        for position, request in enumerate(requests):
            job = _Job((position,), request, position + 1, may_resplit=True)
            pending[pool.submit(_attempts, run, job)] = job
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED, timeout=TICK_S)
            if not done:
                run.working()
                continue
            for future in done:
                job = pending.pop(future)
                result = future.result()  # a fatal ModelError surfaces here
                parts: Sequence[Request] = ()
                if result.kind == "too_long" and job.may_resplit and resplit is not None:
                    parts = resplit(job.request, result.too_long)
                if not parts:
                    results[job.key] = (job, result)
                    continue
                run.emit(job, "resplit", detail=f"split into {len(parts)} requests")
                for number, part in enumerate(parts):
                    with run.lock:
                        run.total += 1
                        index = run.total
                    part_job = _Job(job.key + (number,), part, index, may_resplit=False)
                    pending[pool.submit(_attempts, run, part_job)] = part_job
    except BaseException:
        run.stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return _collect(run, results, backend)


def _collect(run: _Run, results: dict[tuple[int, ...], tuple[_Job, _Result]],
             backend: Backend) -> ModelRunOutcome:
    completions: list[tuple[Request, Completion]] = []
    skipped: list[Skipped] = []
    failures: list[str] = []
    for key in sorted(results):
        job, result = results[key]
        if result.kind == "done" and result.completion is not None:
            completions.append((job.request, result.completion))
        elif result.kind in ("budget", "time_budget"):
            skipped.extend(_skips(job.request, result.kind, result.detail))
        else:
            skipped.extend(_skips(job.request, "model_error", result.detail))
            failures.append(result.error)
    if failures and not completions:
        where = getattr(backend, "endpoint", backend.name)
        raise ModelError(f"the model at {where} failed every request ({len(failures)}): {failures[-1]}")
    return ModelRunOutcome(
        completions=tuple(completions), skipped=tuple(skipped), requests_sent=run.sent, retries=run.retries,
        waited_s=run.waited, failed_requests=len(failures),
        # Servers that report no usage (HF's list form) are counted by our own estimate.
        prompt_tokens=sum(c.prompt_tokens if c.prompt_tokens is not None else r.est_tokens
                          for r, c in completions),
        completion_tokens=sum(c.completion_tokens or 0 for _, c in completions))
