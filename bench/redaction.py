"""Redaction of hostile lines, as a ratio to unidiff's parse of the same diff (issue 16, defect 2).

Every generator of tests/reliability/hostile_lines.py (the shapes an outside check tried, and
ours) writes added lines into a `.py`, an `.env` and an `.md` file at 10 KB, 100 KB and 1 MB.
Each is parsed once; `redact_input` on it is timed against `unidiff.PatchSet` of the same diff
text, best of N, interleaved. Per generator, two rows: the worst ratio to unidiff over the sizes
and files (goal <= 20x), and the 1 MB time over the 100 KB time, worst of the three files (linear:
about 10x; goal <= 15x). The worst generator at each size is printed too.

`--short` (what CI runs) times one file per generator (the suffixes in turn), best of 2, and 1 MB
only for the shapes the issue names: ~10 s, and every shape still seen at 100 KB.
"""

from __future__ import annotations

from dataclasses import dataclass

import unidiff

from bench import BenchConfig, Row, best_of
from bot.diff.parse import parse_diff
from bot.redact.scrub import redact_input
from bot.sources import ReviewInput
from bot.types import SourceInfo
from tests.reliability.hostile_lines import GENERATORS, SUFFIXES, diff_text

GOAL_VS_UNIDIFF = 20.0
GOAL_SCALING = 15.0
SIZES = (10_000, 100_000, 1_000_000)
# The shapes issue 16 names, timed at 1 MB in the short setting too.
ISSUE_SHAPES = ("secret names (apikey)", "secret names (token)", "a@", "unterminated quote", "Bearer", "ghp_",
                "PEM headers", "= runs", "URL credentials")


@dataclass(frozen=True)
class Timing:
    generator: str
    suffix: str
    size: int
    redact_s: float
    unidiff_s: float

    @property
    def ratio(self) -> float:
        return self.redact_s / self.unidiff_s if self.unidiff_s > 0 else float("inf")


def time_one(generator: str, suffix: str, size: int, repeats: int) -> Timing:
    text = diff_text({f"hostile{suffix}": GENERATORS[generator](size)})
    review_input = ReviewInput(info=SourceInfo(kind="diff"), diff=parse_diff(text))
    ours = bare = float("inf")
    for _ in range(repeats):  # interleaved: a busy moment of a shared machine hurts neither side alone
        bare = min(bare, best_of(lambda: unidiff.PatchSet(text), 1)[0])
        ours = min(ours, best_of(lambda: redact_input(review_input, enabled=True), 1)[0])
    return Timing(generator, suffix, size, ours, bare)


def measure(config: BenchConfig) -> list[Timing]:
    short = config.name == "short"
    timings = []
    for i, generator in enumerate(GENERATORS):
        suffixes = (SUFFIXES[i % len(SUFFIXES)],) if short else SUFFIXES
        for suffix in suffixes:
            for size in SIZES:
                if short and size == SIZES[-1] and generator not in ISSUE_SHAPES:
                    continue
                repeats = 2 if short else 3  # best of: the machines that run this share their cores
                timings.append(time_one(generator, suffix, size, repeats))
    return timings


def _kb(size: int) -> str:
    return f"{size // 1_000_000} MB" if size >= 1_000_000 else f"{size // 1000} KB"


def rows(timings: list[Timing]) -> list[Row]:
    out: list[Row] = []
    for generator in GENERATORS:
        mine = [t for t in timings if t.generator == generator]
        worst = max(mine, key=lambda t: t.ratio)
        ratios = {f"{t.suffix} {_kb(t.size)}": round(t.ratio, 2) for t in mine}
        out.append(Row(family="redaction", name=f"{generator}: worst of {len(mine)} files vs unidiff",
                       value=worst.redact_s, baseline=worst.unidiff_s, baseline_name="unidiff.PatchSet(diff)",
                       goal=GOAL_VS_UNIDIFF,
                       note=f"{generator}: worst {worst.suffix} at {_kb(worst.size)}; ratios {ratios}",
                       detail={"ratios": ratios, "redact_s": {f"{t.suffix} {_kb(t.size)}": round(t.redact_s, 6)
                                                              for t in mine}}))
        scaling = [(big, small) for big in mine for small in mine if big.suffix == small.suffix
                   and big.size == SIZES[-1] and small.size == SIZES[-2]]
        if scaling:
            big, small = max(scaling, key=lambda pair: pair[0].redact_s / max(pair[1].redact_s, 1e-9))
            out.append(Row(family="redaction", name=f"{generator}: 1 MB / 100 KB ({big.suffix})",
                           value=big.redact_s, baseline=small.redact_s, baseline_name="the same at 100 KB",
                           goal=GOAL_SCALING))
    for size in SIZES:
        at = [t for t in timings if t.size == size]
        if at:
            worst = max(at, key=lambda t: t.ratio)
            out.append(Row(family="redaction", name=f"worst generator at {_kb(size)}: {worst.generator} {worst.suffix}",
                           value=worst.redact_s, baseline=worst.unidiff_s, baseline_name="unidiff.PatchSet(diff)",
                           goal=GOAL_VS_UNIDIFF))
    return out


def run(config: BenchConfig) -> list[Row]:
    return rows(measure(config))
