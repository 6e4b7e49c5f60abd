"""Model faults: every fault kind at the first, a middle and the last request, and combined.

Each scenario runs `review-bot dry-run --diff <corpus case> --format json` against a fresh
loopback model that scripts faults by arrival index, and compares the findings with a
fault-free run: "lost" = fault-free fingerprints missing, "duplicates" = fingerprints
repeated. `empty` and `length` change the model's answer for the faulted request (an empty
text; the text cut in half with finish_reason "length"): losses are expected for that
request only (its own planted findings), and a cut answer may add one finding whose message
was cut mid-sentence ("altered"); both are counted apart, never as lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.reliability.harness import (
    COMPARE_SECTIONS,
    Tally,
    corpus_diff,
    findings_of,
    planted_spots,
    planting_responder,
    run_cli,
    write_config,
)
from tests.servers.model_server import Fault, ModelServer, RecordedRequest

Position = str  # "first" | "middle" | "last" | an arrival index as text

KINDS: tuple[tuple[str, Fault], ...] = (
    ("loading", Fault("loading", estimated_time=0.2)),
    ("rate_limited+retry_after", Fault("rate_limited", retry_after=0.2)),
    ("rate_limited", Fault("rate_limited")),
    ("overloaded", Fault("overloaded")),
    ("server_error", Fault("server_error")),
    ("bad_gateway", Fault("bad_gateway")),
    ("hang", Fault("hang", hang_s=1.5)),  # past [model] timeout_s = 0.5
    ("reset", Fault("reset")),
    ("malformed", Fault("malformed")),
    ("empty", Fault("empty")),
    ("length", Fault("length")),
)
ANSWER_CHANGING = frozenset({"empty", "length"})
POSITIONS: tuple[Position, ...] = ("first", "middle", "last")
_BY_NAME = dict(KINDS)


@dataclass(frozen=True)
class Scenario:
    name: str
    faults: tuple[tuple[Position, str], ...]  # (where, kind name)


def matrix() -> list[Scenario]:
    """Every kind at every position, then the combined scenarios."""
    single = [Scenario(f"{kind} @ {where}", ((where, kind),)) for kind, _ in KINDS for where in POSITIONS]
    return single + combined()


def sample() -> list[Scenario]:
    """Each kind once (positions rotating), plus the combined scenarios: the CI test's share."""
    where = [POSITIONS[i % len(POSITIONS)] for i in range(len(KINDS))]
    single = [Scenario(f"{kind} @ {at}", ((at, kind),)) for (kind, _), at in zip(KINDS, where, strict=True)]
    return single + combined()


def combined() -> list[Scenario]:
    transport = [k for k, _ in KINDS if k not in ANSWER_CHANGING]
    return [
        Scenario("combined: loading first, reset middle, malformed last",
                 (("first", "loading"), ("middle", "reset"), ("last", "malformed"))),
        Scenario("combined: burst of five at the start",
                 tuple((str(i), k) for i, k in enumerate(("rate_limited+retry_after", "overloaded", "server_error",
                                                          "reset", "malformed")))),
        Scenario("combined: every other arrival, each transport kind once",
                 tuple((str(2 * i), k) for i, k in enumerate(transport))),
        Scenario("combined: empty first, length middle, hang last",
                 (("first", "empty"), ("middle", "length"), ("last", "hang"))),
    ]


def _index(where: Position, requests: int) -> int:
    named = {"first": 0, "middle": requests // 2, "last": requests - 1}
    return named[where] if where in named else int(where)


@dataclass(frozen=True)
class Outcome:
    scenario: str
    code: int
    survived: bool
    lost: int  # fault-free findings missing, beyond the expected ones
    expected_lost: int  # findings of requests whose answer the fault changed (empty / length)
    duplicates: int
    altered: int  # findings not in the fault-free run (a message cut by a `length` fault)
    faults_applied: int


def _run(config: Path, diff: Path, faults: dict[int, Fault] | None = None) -> tuple[list[dict[str, object]], int,
                                                                                 list[RecordedRequest], bool]:
    with ModelServer(responder=planting_responder) as srv:
        for index, fault in (faults or {}).items():
            srv.fault_on(index, fault)
        run = run_cli(["dry-run", "--diff", str(diff), "--format", "json", "--config", str(config),
                       "--api", "hf", "--endpoint", srv.url, "-q"])
        requests = srv.requests
    findings = findings_of(run.out) if run.code == 0 else []
    return findings, run.code, requests, not run.crashed and run.code == 0


def run_scenarios(folder: Path, scenarios: Sequence[Scenario], diff: Path | None = None) -> tuple[Tally, list[Outcome]]:
    diff = diff or corpus_diff()
    config = write_config(folder, COMPARE_SECTIONS)
    base_findings, code, base_requests, ok = _run(config, diff)
    if not ok or not base_findings:
        raise RuntimeError(f"the fault-free run failed (exit {code}) or found nothing; cannot compare")
    base = {str(f["fingerprint"]): (str(f["path"]), int(f["line"])) for f in base_findings}  # type: ignore[call-overload]
    count = len(base_requests)
    tally, outcomes = Tally(), []
    for scenario in scenarios:
        faults = {_index(where, count): _BY_NAME[kind] for where, kind in scenario.faults}
        found, code, requests, survived = _run(config, diff, faults)
        got = [str(f["fingerprint"]) for f in found]
        # By arrival index, not by the recorded fault: a hung request is recorded only when it ends.
        arrived = [i for i in faults if i < len(requests)]
        changed = {spot for i in arrived if faults[i].kind in ANSWER_CHANGING
                   for spot in planted_spots(requests[i].prompt)}
        allowed = {fp for fp, spot in base.items() if spot in changed}
        missing = set(base) - set(got)
        outcome = Outcome(scenario.name, code, survived, lost=len(missing - allowed),
                          expected_lost=len(missing & allowed), duplicates=len(got) - len(set(got)),
                          altered=len(set(got) - set(base)), faults_applied=len(arrived))
        outcomes.append(outcome)
        tally.add("scenarios")
        tally.add("survived", int(survived))
        tally.add("lost", outcome.lost)
        tally.add("duplicates", outcome.duplicates)
        tally.add("expected_lost", outcome.expected_lost)
        tally.add("altered", outcome.altered)
        if not survived or outcome.lost or outcome.duplicates:
            tally.note(f"FAILED {scenario.name}: exit {code}, lost {outcome.lost}, duplicates {outcome.duplicates}")
    tally.note(f"fault-free run: {count} requests, {len(base)} findings ({diff.parent.name})")
    return tally, outcomes
