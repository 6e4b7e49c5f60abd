"""`python -m bench --short` runs every benchmark and prints every figure. No timing is asserted:
goals are reported by the benchmark ("goal met"/"goal missed"), never enforced here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

# The short bench runs a small real model (the inproc family): minutes on a busy 2-core machine.
pytestmark = pytest.mark.timeout(900)

FIGURES = {  # family -> names its rows must print (one each)
    "startup": ["python -m bot --help", "pip install . into a clean virtualenv"],
    "core": ["offline pipeline: largest corpus diff", "offline pipeline: synthetic diff"],
    "packing": [f"template {t}, window {w}" for t in ("review", "review-instruct", "starcoder2-pr")
                for w in (16384, 4096)],
    "github": [f"{what}: API requests with {n} finding" for what in ("review sink", "whole `review-bot review` run")
               for n in (1, 10, 100)],
    "model": ["100 requests, concurrency 4, latency 0.05 s", "same, vs one at a time with a 1 s pause",
              "429 storm: 30 requests, 30% refused"],
    "inproc": ["wall time: bot vs bare llama-cpp-python loop", "prompt tokens evaluated / sent (prefix reuse)",
               "prompt tokens/s: bot vs bare", "completion tokens/s: bot vs bare",
               "bare loop: bot's threads vs llama-cpp-python defaults",
               "bot's own work per run (an instant model) vs the bare loop"],
    "redaction": [f"worst generator at {size}" for size in ("10 KB", "100 KB", "1 MB")],
}


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    # The real model's family takes minutes of CPU: test.sh runs it (python -m bench --short), not this test.
    done = subprocess.run([sys.executable, "-m", "bench", "--short", "--only", ",".join(FIGURES), "--json", str(out)],
                          cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=840, check=False)
    data = json.loads(Path(out).read_text(encoding="utf-8")) if out.is_file() else {}
    return done, data


def test_short_bench_runs_every_family_without_a_crash(bench: tuple[subprocess.CompletedProcess[str],
                                                                    dict[str, Any]]) -> None:
    done, data = bench
    assert done.returncode == 0, done.stdout + done.stderr
    assert data["setting"] == "short" and data["crashed"] == {}
    assert {row["family"] for row in data["rows"]} == set(FIGURES)


def test_every_figure_is_printed_with_its_ratio_and_verdict(bench: tuple[subprocess.CompletedProcess[str],
                                                                         dict[str, Any]]) -> None:
    done, data = bench
    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    for family, names in FIGURES.items():
        for name in names:
            lines = [line for line in table if line.startswith(f"| {family}") and name in line]
            assert len(lines) == 1, (family, name)
            verdict = lines[0].rstrip(" |").rsplit("|", 1)[1].strip()
            assert verdict.split(" [")[0] in ("goal met", "goal missed", "info", "skipped"), lines[0]
    for row in data["rows"]:
        assert row["status"] in ("goal met", "goal missed", "info", "skipped")
        if row["status"] != "skipped":
            assert row["ratio"] is not None and row["ratio"] > 0 and row["value"] > 0, row
        if row["goal"] is not None and row["status"] != "skipped":
            assert (row["status"] == "goal met") == (row["ratio"] <= row["goal"] + 1e-9), row
    assert "Packing per case (template review):" in done.stdout


def test_counts_that_do_not_depend_on_timing(bench: tuple[subprocess.CompletedProcess[str],
                                                          dict[str, Any]]) -> None:
    _, data = bench
    rows = {row["name"]: row for row in data["rows"]}
    github = [row for row in data["rows"] if row["family"] == "github"]
    assert all(row["detail"]["review_posts"] == 1 for row in github)
    model = next(row for name, row in rows.items() if name.startswith("100 requests"))
    assert model["detail"]["answered"] == 100 and model["detail"]["max_in_flight"] <= 4
    storm = next(row for name, row in rows.items() if name.startswith("429 storm"))
    assert storm["detail"]["answered"] == 30 and storm["detail"]["refused"] >= 1
    assert storm["detail"]["refused"] == storm["detail"]["attempts"] - 30
