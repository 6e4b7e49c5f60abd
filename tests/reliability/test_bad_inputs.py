"""Broken diffs, configs and events end in a clear one-line error or a clean run, never a crash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.bad_inputs import (
    BAD_CONFIGS,
    OPS,
    Op,
    bad_cli_inputs,
    bad_configs,
    bad_events,
    big_pull_request,
    classify_cli,
    classify_parse,
    dry_run_bytes,
    mutate,
    seed_diffs,
)
from tests.reliability.harness import CliRun, corpus_diff, write_config
from tests.servers.model_server import ModelServer

SEEDS = seed_diffs()
ops = st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 1 << 20), st.integers(0, 1 << 20)),
               min_size=1, max_size=4)
seeds = st.integers(0, len(SEEDS) - 1)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(seed=seeds, damage=ops)
def test_parse_diff_returns_or_raises_input_error(seed: int, damage: list[Op]) -> None:
    assert classify_parse(mutate(SEEDS[seed], damage)) in ("ok", "error")


@pytest.fixture(scope="module")
def loopback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, str]]:
    folder = tmp_path_factory.mktemp("fuzz-cli")
    config = write_config(folder, {"budget": {"requests_per_minute": 60000}})
    with ModelServer(responder=lambda prompt, payload: "") as srv:
        yield folder, config, srv.url


@settings(max_examples=60, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=seeds, damage=ops)
def test_dry_run_on_a_damaged_diff_exits_0_or_2_with_one_line(loopback: tuple[Path, Path, str], seed: int,
                                                              damage: list[Op]) -> None:
    folder, config, url = loopback
    run = dry_run_bytes(folder, mutate(SEEDS[seed], damage), config, url)
    assert classify_cli(run) in ("accepted", "clear"), (run.code, run.err)


def test_mutations_really_damage() -> None:
    data = next(seed for seed in SEEDS if b"\n@@ -" in seed and b"\0" not in seed)
    assert mutate(data, [("truncate", 10, 0)]) == data[:10]
    assert mutate(data, [("nul", 3, 2)]).count(b"\0") == 1
    # The first hunk's new count set to 7 or to 9: at most one of them is the count it had.
    assert mutate(data, [("hunk_count", 0, 7)]) != data or mutate(data, [("hunk_count", 0, 9)]) != data
    assert classify_parse(mutate(data, [("garbage", 5, 1), ("header", 0, 3)])) in ("ok", "error")


def test_classify_cli_calls_a_traceback_or_a_second_line_a_crash() -> None:
    assert classify_cli(CliRun(2, "", "review-bot: error: bad\n")) == "clear"
    assert classify_cli(CliRun(0, "ok\n", "")) == "accepted"
    assert classify_cli(CliRun(2, "", "review-bot: error: bad\nmore\n")).startswith("crash")
    assert classify_cli(CliRun(3, "", "review-bot: error: internal error (KeyError: 1)\n")).startswith("crash")
    assert classify_cli(CliRun(1, "", "Traceback (most recent call last):\n")).startswith("crash")


def test_broken_configs_name_file_and_key(tmp_path: Path) -> None:
    tally = bad_configs(tmp_path, corpus_diff())
    assert tally["tried"] == len(BAD_CONFIGS)
    assert tally["clear"] == tally["tried"], tally.details


def test_broken_events_exit_2_with_one_line(tmp_path: Path) -> None:
    tally = bad_events(tmp_path)
    assert tally["clear"] == tally["tried"] > 10, tally.details


def test_bad_files_and_flags_exit_2_with_one_line(tmp_path: Path) -> None:
    tally = bad_cli_inputs(tmp_path)
    assert tally["clear"] == tally["tried"], tally.details


def test_a_3000_file_pull_request_stays_under_500_mb_and_in_budget(tmp_path: Path) -> None:
    tally = big_pull_request(tmp_path)
    assert tally["crash"] == 0 and tally["accepted"] == 1, tally.details
