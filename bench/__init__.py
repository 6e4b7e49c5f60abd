"""review-bot benchmarks: `python -m bench [--short] [--json [PATH]]` from the repository root.

One module per family (core, redaction, packing, model, github, startup); each has `run(config) -> list[Row]`.
Every figure is a ratio to a bound or a baseline measured in the same run, so a slow or busy
machine moves both sides; absolute times are shown but only ratios are goals. A missed goal is
reported, never a failure: the exit status is 0 unless a benchmark crashed.
"""

from __future__ import annotations

import gc
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("REVIEW_BOT_SHARED", REPO_ROOT.parent / "shared")).resolve()
# ../shared's corpus when it is there (scripts/build_shared_data.py rebuilds it), else the subset
# vendored for the tests.
CORPUS = SHARED / "corpus" if (SHARED / "corpus" / "jinja").is_dir() else REPO_ROOT / "tests" / "fixtures" / "corpus"

T = TypeVar("T")
Status = Literal["goal met", "goal missed", "info", "skipped"]


@dataclass(frozen=True)
class BenchConfig:
    """One setting of every benchmark. `short` is what CI runs (< ~60 s on 2 cores)."""

    name: Literal["short", "full"]
    repeats: int  # best-of-N for the offline timings
    model_requests: int
    model_latency_s: float
    model_concurrency: int
    sequential_runs: int  # requests of the one-at-a-time baseline actually sent (0: computed)
    storm_requests: int
    storm_refuse_ratio: float
    storm_retry_after_s: float
    startup_runs: int
    pip_install: bool


SHORT = BenchConfig(name="short", repeats=5, model_requests=100, model_latency_s=0.05, model_concurrency=4,
                    sequential_runs=0, storm_requests=30, storm_refuse_ratio=0.3, storm_retry_after_s=1.0,
                    startup_runs=5, pip_install=False)
FULL = BenchConfig(name="full", repeats=15, model_requests=100, model_latency_s=0.2, model_concurrency=4,
                   sequential_runs=10, storm_requests=100, storm_refuse_ratio=0.3, storm_retry_after_s=1.0,
                   startup_runs=15, pip_install=True)


@dataclass(frozen=True)
class Row:
    """One figure: `value` against `baseline`; the goal, when there is one, is ratio <= goal."""

    family: str
    name: str
    value: float
    baseline: float
    baseline_name: str
    unit: Literal["s", "requests", ""] = "s"
    goal: float | None = None
    note: str = ""
    skipped: bool = False
    detail: dict[str, Any] = field(default_factory=dict)  # extra figures for --json

    @property
    def ratio(self) -> float | None:
        if self.skipped or self.baseline <= 0:
            return None
        return self.value / self.baseline

    @property
    def status(self) -> Status:
        if self.skipped:
            return "skipped"
        ratio = self.ratio
        if self.goal is None or ratio is None:
            return "info"
        return "goal met" if ratio <= self.goal + 1e-9 else "goal missed"

    def to_json(self) -> dict[str, Any]:
        return {"family": self.family, "name": self.name, "value": _finite(self.value), "unit": self.unit,
                "baseline": _finite(self.baseline), "baseline_name": self.baseline_name,
                "ratio": None if self.ratio is None else round(self.ratio, 4), "goal": self.goal,
                "status": self.status, "note": self.note, "detail": self.detail}


def _finite(value: float) -> float | None:
    return round(value, 6) if math.isfinite(value) else None


def best_of(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    """Minimum wall time of `repeats` calls (the least disturbed one), with the last result.

    The garbage collector is off while a call runs, as `timeit` does, so a collection
    triggered by an earlier benchmark's garbage is not charged to this one.
    """
    best = math.inf
    result: T | None = None
    for _ in range(max(1, repeats)):
        gc.collect()
        enabled = gc.isenabled()
        gc.disable()
        try:
            start = time.perf_counter()
            result = fn()
            best = min(best, time.perf_counter() - start)
        finally:
            if enabled:
                gc.enable()
    return best, result  # type: ignore[return-value]


def show(value: float, unit: str) -> str:
    """A measured value for the table: times in ms or s, counts as integers."""
    if not math.isfinite(value):
        return "-"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "requests":
        return f"{value:g} req"
    return f"{value:.1f}" if value != int(value) else f"{value:g}"
