"""Sources: where a review's diff comes from (a diff file, a git range, a pull request)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.types import ParsedDiff, Skipped, SourceInfo

HeadFiles = tuple[tuple[str, str], ...]  # (path, text of the file at the head), for [review] context


@dataclass(frozen=True)
class ReviewInput:
    """What every source hands the pipeline."""

    info: SourceInfo
    diff: ParsedDiff
    skipped: tuple[Skipped, ...] = ()  # parts the source itself left out (no patch, incremental)
    # Untrusted like the diff: the head commit's text of changed files, when the source has it and
    # [review] context asks for it (a diff file has none). Redacted with the diff (bot.redact.scrub).
    head_files: HeadFiles = ()
