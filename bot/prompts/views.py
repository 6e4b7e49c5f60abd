"""Template variables: the views of files, hunks and the review-comment target a template reads.

Views hold the hunk and make their texts (bot.diff.hunk_text) when a template first reads them.
`VIEW_DATA` names each view's data attributes, which the prompt sandbox reads directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from operator import attrgetter
from types import MappingProxyType

from bot.diff.hunk_text import display_path, hunk_diff, hunk_listing, hunk_section, hunk_tail, numbered_lines
from bot.prompts.enclosing import no_context
from bot.types import Hunk, stored_at_once

_KIND = attrgetter("kind")


@dataclass(frozen=True)
class HunkView:
    """A hunk as templates see it. Its texts are made when a template first reads them: a
    template prints one of them (review: text, starcoder2-pr: diff), so the others cost nothing."""

    path: str
    ref: str  # "@@ -a,b +c,d @@"
    new_start: int
    new_len: int
    _hunk: Hunk = field(repr=False)  # templates can't reach it: the sandbox hides "_" names
    # hunk_listing, or the planner's memo of it (bot.plan.tokens.MemoCounter.listing): made once a run.
    _listing: Callable[[Hunk], str] = field(default=hunk_listing, repr=False, compare=False)
    # [review] context: the hunk's read-only context (bot.prompts.enclosing.HeadContext), else none.
    _context: Callable[[Hunk], str] = field(default=no_context, repr=False, compare=False)

    @cached_property
    def header(self) -> str:
        """ref plus the section text."""
        return self.ref + hunk_section(self._hunk)

    @cached_property
    def lines(self) -> tuple[str, ...]:
        """Numbered lines, see render_line."""
        return numbered_lines(self._hunk)

    @cached_property
    def text(self) -> str:
        """hunk_listing(): header and numbered lines."""
        return self._listing(self._hunk)

    @cached_property
    def context(self) -> str:
        """The enclosing def or class from the head file, outside the hunk ("" when none): read-only
        context a template prints apart from the diff, never a place for a finding."""
        return self._context(self._hunk)

    @cached_property
    def diff(self) -> str:
        """hunk_diff(): plain unified diff."""
        return hunk_diff(self._hunk)


@dataclass(frozen=True)
class FileView:
    path: str
    language: str | None
    hunks: tuple[HunkView, ...]


@dataclass(frozen=True)
class TargetView:
    """Where a pr-comment template asks for the review comment (see comment_target)."""

    path: str
    line: int  # new-file line number
    position: int  # 1-based index of that line inside `diff`'s lines, as GitHub's diff position
    # The hunk's last TARGET_TAIL_LINES lines up to and including that line, under their own
    # header (hunk_tail), as GitHub's comment diff_hunk: bounded, so big hunks don't cost twice.
    diff: str


def group_files(hunks: Sequence[Hunk], languages: Callable[[str], str | None],
                listing: Callable[[Hunk], str] = hunk_listing,
                context: Callable[[Hunk], str] = no_context) -> tuple[FileView, ...]:
    """Hunks grouped per file, files in order of first appearance, hunks in batch order."""
    grouped: dict[str, list[Hunk]] = {}
    for hunk in hunks:
        grouped.setdefault(hunk.path, []).append(hunk)
    views = []
    for path, group in grouped.items():
        shown = display_path(path)
        views.append(FileView(path=shown, language=languages(path), hunks=tuple(
            [stored_at_once(HunkView, path=shown, ref=h.ref, new_start=h.new_start, new_len=h.new_len, _hunk=h,
                            _listing=listing, _context=context) for h in group])))
    return tuple(views)


def _target_row(hunk: Hunk) -> int:
    """Index of the hunk's last added line, else of its last context line, else -1."""
    kinds = list(map(_KIND, hunk.lines))
    for kind in ("+", " "):
        if kind in kinds:
            return len(kinds) - 1 - kinds[::-1].index(kind)
    return -1


def _target_index(hunks: Sequence[Hunk]) -> tuple[Hunk, int]:
    if not hunks:
        raise ValueError("comment_target needs at least one hunk")
    best = max(range(len(hunks)), key=lambda i: (list(map(_KIND, hunks[i].lines)).count("+"), -i))
    return hunks[best], _target_row(hunks[best])


def comment_target(hunks: Sequence[Hunk]) -> tuple[str, int]:
    """The (path, new line number) a pr-comment template asks the model to comment on.

    The LAST added line of the hunk with the most added lines (ties: the first such hunk in
    `hunks` order). When no hunk adds lines, that first hunk's last context line. A hunk with
    neither (a pure deletion without context) gives (path, hunk.new_start), which GitHub may
    not accept: the findings stage must ground it like any other finding. The findings parser
    uses this to place the free-text comment the model writes.
    """
    hunk, index = _target_index(hunks)
    return hunk.path, _target_line(hunk, index)


def _target_line(hunk: Hunk, index: int) -> int:
    line = hunk.lines[index].new_no if index >= 0 else None
    return line if line is not None else hunk.new_start


def target_hunk(hunk: Hunk) -> Hunk:
    """The shortened hunk a comment block shows when `hunk` is the target (the planner prices it)."""
    index = _target_row(hunk)
    return hunk_tail(hunk, index + 1 if index >= 0 else len(hunk.lines))


def target_view(hunks: Sequence[Hunk]) -> TargetView | None:
    if not hunks:
        return None
    hunk, index = _target_index(hunks)  # as comment_target(hunks)
    shown = target_hunk(hunk)
    return TargetView(path=display_path(hunk.path), line=_target_line(hunk, index),
                      position=max(len(shown.lines), 1), diff=hunk_diff(shown))


def _data_attributes(cls: type) -> frozenset[str]:
    """The public fields and cached properties of a view class: plain data, never callables."""
    return frozenset(name for name, value in vars(cls).items() if isinstance(value, cached_property)) \
        | frozenset(f.name for f in fields(cls) if not f.name.startswith("_"))


VIEW_DATA: Mapping[type, frozenset[str]] = MappingProxyType(
    {cls: _data_attributes(cls) for cls in (HunkView, FileView, TargetView)})
