"""The Actions job summary (`GITHUB_STEP_SUMMARY`): findings, skipped parts, budget, timings.

Written in every Actions run, posted or not, so the findings are never lost: when the review
can't be posted (read-only token, GitHub down) this is where people read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bot.config import Settings
from bot.findings.sanitize import md_text
from bot.sinks.github_review import PostOutcome
from bot.sinks.markdown import MarkdownFormatter
from bot.types import RunResult

MAX_SUMMARY_BYTES = 1024 * 1024  # GitHub rejects a step summary over 1 MiB
CUT_NOTE = "\n\n*(summary cut at GitHub's 1 MiB limit; `--format json` has everything)*\n"


def _outcome_line(outcome: PostOutcome | None) -> str:
    if outcome is None:
        return "Review: not posted (dry run or local run)."
    if outcome.status == "posted":
        where = f" ({outcome.review_url})" if outcome.review_url else ""
        moved = f", {outcome.moved_after_422} moved into the body after GitHub refused them" \
            if outcome.moved_after_422 else ""
        return (f"Review: posted{where}: {outcome.inline} inline comments, {outcome.in_body} findings "
                f"in the body, {outcome.duplicates} posted before{moved}.")
    if outcome.status == "read_only":
        return "Review: not posted: the token is read-only (fork pull request?); see the annotations."
    return f"Review: not posted: {md_text(outcome.message)}."


def render_step_summary(result: RunResult, settings: Settings | None = None,
                        outcome: PostOutcome | None = None) -> str:
    stats = result.stats
    out = [MarkdownFormatter().render(result).rstrip(), "", _outcome_line(outcome), "",
           "<details><summary>Budget and timings</summary>", "",
           "| | |", "| --- | --- |"]
    if result.model:
        out.append(f"| model | {md_text(result.model)} |")
    if result.template:
        out.append(f"| template | {md_text(result.template)} |")
    max_requests = f" of {settings.budget.max_requests}" if settings is not None else ""
    max_tokens = f" of {settings.budget.max_prompt_tokens}" if settings is not None else ""
    out += [
        f"| model requests | {stats.requests}{max_requests} |",
        f"| retries | {stats.retries} |",
        f"| waited for rate limits | {stats.waited_s:.1f} s |",
        f"| prompt tokens | {stats.prompt_tokens}{max_tokens} |",
        f"| completion tokens | {stats.completion_tokens} |",
        f"| hunks reviewed | {stats.hunks_reviewed} of {stats.hunks} in {stats.files} files |",
        f"| elapsed | {stats.elapsed_s:.1f} s |",
        "", "</details>", "",
    ]
    return "\n".join(out)


def _cut(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    room = limit - len(CUT_NOTE.encode("utf-8"))
    if room <= 0:
        return ""
    return data[:room].decode("utf-8", errors="ignore") + CUT_NOTE


def write_step_note(env: Mapping[str, str], line: str) -> Path | None:
    """A run that reviewed nothing (skipped, or failed before a result) still says so in the
    job summary: one escaped line under the bot's heading."""
    where = env.get("GITHUB_STEP_SUMMARY", "").strip()
    if not where:
        return None
    path = Path(where)
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"### review-bot\n\n{md_text(line)}\n\n")
    except OSError:
        return None
    return path


def write_step_summary(result: RunResult, env: Mapping[str, str], settings: Settings | None = None,
                       outcome: PostOutcome | None = None) -> Path | None:
    """Append the summary to `GITHUB_STEP_SUMMARY`; None when unset or not writable.

    A summary that can't be written must not fail a review that was done: the caller logs it.
    """
    where = env.get("GITHUB_STEP_SUMMARY", "").strip()
    if not where:
        return None
    path = Path(where)
    try:
        used = path.stat().st_size if path.exists() else 0
        text = _cut(render_step_summary(result, settings, outcome), max(0, MAX_SUMMARY_BYTES - used))
        if text:
            with path.open("a", encoding="utf-8") as handle:
                handle.write(text if text.endswith("\n") else text + "\n")
    except OSError:
        return None
    return path
