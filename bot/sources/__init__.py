"""Sources: where a review's diff comes from (a diff file, a git range, a pull request)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.types import ParsedDiff, Skipped, SourceInfo


@dataclass(frozen=True)
class ReviewInput:
    """What every source hands the pipeline."""

    info: SourceInfo
    diff: ParsedDiff
    skipped: tuple[Skipped, ...] = ()  # parts the source itself left out (no patch, incremental)
