"""What a template is given: the views of the hunks, and the PR's own text truncated the way
StarCoder2's training data was (and only ever printed as data)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.diff.hunk_text import defuse, hunk_listing
from bot.diff.languages import language_for
from bot.logsafe import one_line
from bot.prompts.enclosing import no_context
from bot.prompts.views import group_files
from bot.prompts.views import target_view as _target_view
from bot.types import Hunk, Line, SourceInfo

MAX_TITLE_CHARS = 500
MAX_DESCRIPTION_CHARS = 1000
DESCRIPTION_HEAD_LINES = 60
DESCRIPTION_TAIL_LINES = 20
TRUNCATED = "[TRUNCATED]"  # the marker StarCoder2's PR data used


def truncate_title(title: str) -> str:
    """One line, at most 500 characters, special tokens defused."""
    return defuse(one_line(title))[:MAX_TITLE_CHARS]


def truncate_description(text: str) -> str:
    """HTML comments dropped; past 80 lines the first 60 and last 20; at most 1,000 characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # PR templates are mostly <!-- hints -->; StarCoder2's data dropped them the same way.
    text = "".join(part.rsplit("-->", 1)[-1] for part in text.split("<!--"))
    lines = text.strip().split("\n")
    if len(lines) > DESCRIPTION_HEAD_LINES + DESCRIPTION_TAIL_LINES:
        lines = [*lines[:DESCRIPTION_HEAD_LINES], TRUNCATED, *lines[-DESCRIPTION_TAIL_LINES:]]
    return defuse("\n".join(lines))[:MAX_DESCRIPTION_CHARS].strip()


def file_language(path: str) -> str | None:
    """The language templates are told for `path` (bot.plan.packing prices the same name)."""
    return language_for(path)


@dataclass(frozen=True)
class PromptOptions:
    """What the settings add to every template's variables (bot.pipeline.prepare makes them)."""

    # [review] point_at_removals: the prompt says a deleted line can be the bug (review-chat
    # reads it); findings quoting a deleted line are placed on the nearest new line either way.
    point_at_removals: bool = False
    # [review] context = "function": each hunk's read-only context (bot.prompts.enclosing.HeadContext),
    # as templates read it (hunk.context); no_context leaves every prompt as it was.
    context: Callable[[Hunk], str] = field(default=no_context, compare=False)


DEFAULT_OPTIONS = PromptOptions()


def template_context(hunks: Sequence[Hunk], source: SourceInfo, languages: Callable[[str], str | None],
                     reads: frozenset[str] | None = None, options: PromptOptions = DEFAULT_OPTIONS,
                     listing: Callable[[Hunk], str] = hunk_listing) -> dict[str, Any]:
    """The variables every template gets: files (views of the hunks), PR title and description, repo,
    the comment target, and the options the settings choose. `listing` makes a hunk's listing
    (the planner's memo hands over the ones it counted)."""
    # Only comment_target costs a pass over the lines; a template that never reads it gets None.
    target = _target_view(hunks) if reads is None or "comment_target" in reads else None
    return {"files": group_files(hunks, languages, listing, options.context), "title": truncate_title(source.title),
            "description": truncate_description(source.body), "repo": source.repo,
            "comment_target": target, "point_at_removals": options.point_at_removals}


def probe_hunk(path: str, start: int, text: str) -> Hunk:
    """A one-line added hunk, made up: templates are rendered with probes to check and price them."""
    line = Line(kind="+", old_no=None, new_no=start, text=text)
    return Hunk(path=path, old_start=start - 1, old_len=0, new_start=start, new_len=1,
                header=f"@@ -{start - 1},0 +{start},1 @@", lines=(line,))
