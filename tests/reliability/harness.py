"""Shared pieces of the reliability scenarios: running the CLI, configs, a planting model, tallies.

The scenarios run `bot.cli.main` in-process (stdout and stderr captured, nothing patched)
against the loopback servers, and compare what came out with a fault-free run. Each
suite returns a tally; the tests assert its zeros and `python -m bench.reliability` prints it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.cli_runner import run_main
from tests.conftest import corpus_case

FAULT_CASE = "3487c8e087"  # 8 requests with the small context window below: first, middle and last differ
ADDED = re.compile(r"^\s*(\d+) \+ ", re.MULTILINE)
FILE = re.compile(r"^\+\+\+ b/(.+)$", re.MULTILINE)
TRACEBACK = "Traceback (most recent call last)"
INTERNAL = "internal error"
BASE_ENV = {"PATH": "/usr/bin:/bin"}


@dataclass(frozen=True)
class CliRun:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [ln for ln in self.err.splitlines() if ln.strip()]

    @property
    def crashed(self) -> bool:
        """A traceback, or an exception that only the CLI's last-resort handler caught."""
        return TRACEBACK in self.out or TRACEBACK in self.err or INTERNAL in self.err


def run_cli(argv: Sequence[str], env: Mapping[str, str] | None = None) -> CliRun:
    return CliRun(*run_main(argv, BASE_ENV if env is None else env))


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def write_config(folder: Path, sections: Mapping[str, Mapping[str, object]], name: str = "review-bot.toml") -> Path:
    """A config file with `sections`; templates come from the package only (an empty prompts_dir)."""
    empty = folder / "no-templates"
    empty.mkdir(parents=True, exist_ok=True)
    merged: dict[str, dict[str, object]] = {"review": {"prompts_dir": str(empty)}}
    for section, values in sections.items():
        merged.setdefault(section, {}).update(values)
    text = "".join(f"[{section}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in values.items()) + "\n"
                   for section, values in merged.items())
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# Lifted caps and pacing so a comparison sees every finding; a small context window so the
# fault case is cut into several requests.
COMPARE_SECTIONS: dict[str, dict[str, object]] = {
    # More retries than any scenario has faults: with two workers one request may meet every
    # fault of a scenario in a row, and only then would bounded retries give it up.
    "model": {"context_window": 4096, "max_new_tokens": 2000, "timeout_s": 0.5, "connect_timeout_s": 2.0,
              "max_retries": 10},
    "budget": {"requests_per_minute": 60000, "max_wait_s": 5},
    "review": {"min_severity": "info", "max_comments": 10000, "max_comments_per_file": 10000},
}


def corpus_diff(case: str = FAULT_CASE) -> Path:
    return corpus_case(case) / "pr.diff"


def planted_spots(prompt: str) -> list[tuple[str, int]]:
    """(path, line) of every second added line in each file section of a prompt."""
    spots: list[tuple[str, int]] = []
    for section in re.split(r"^(?=\+\+\+ b/)", prompt, flags=re.MULTILINE)[1:]:
        path = FILE.match(section)
        if path:
            spots += [(path.group(1), int(n)) for n in ADDED.findall(section)[::2]]
    return spots


def planting_responder(prompt: str, payload: dict[str, Any]) -> str:
    """A deterministic model: one long finding per planted spot, so a cut answer cuts a message."""
    lines = [f"{path}:{line}: warning: the value assigned on line {line} of {path} is used before it is "
             f"checked for None, which raises at run time" for path, line in planted_spots(prompt)]
    return "\n".join(lines) + "\n"


def findings_of(stdout: str) -> list[dict[str, Any]]:
    """The findings of a `--format json` run (stdout may carry workflow commands around the JSON)."""
    start = stdout.find('{\n  "version"')
    if start < 0:
        return []
    data, _ = json.JSONDecoder().raw_decode(stdout[start:])  # in Actions a resume-commands line follows
    return list(data["findings"])


def fingerprints(stdout: str) -> list[str]:
    return [f["fingerprint"] for f in findings_of(stdout)]


@dataclass
class Tally:
    """Counts of one suite plus a line per notable event, for the report."""

    counts: dict[str, int] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def __getitem__(self, key: str) -> int:
        return self.counts.get(key, 0)

    def note(self, line: str) -> None:
        self.details.append(line)

    def merge(self, other: Tally) -> None:
        for key, n in other.counts.items():
            self.add(key, n)
        self.details += other.details
