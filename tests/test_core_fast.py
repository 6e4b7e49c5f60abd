"""The offline core's fast paths give exactly what the plain ways give.

Listings are built in one pass and priced by length (hunk_text), template views make their
texts on first read and the sandbox reads them directly (prompts), the planner keeps running
sums (plan), and filter tables are matched in one step (filters). Each is checked here against
the plain computation it replaces, on hand-made edge cases and on every corpus hunk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

import jinja2
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.config import ReviewSettings
from bot.diff.hunk_text import (
    defuse,
    display_path,
    hunk_diff,
    hunk_listing,
    hunk_section,
    listing_length,
    number_width,
    render_line,
)
from bot.diff.parse import parse_diff
from bot.plan.filters import BINARY_RULES, DEFAULT_RULES, _changed_lines, _first_match, _RuleSet, apply_filters
from bot.plan.packing import _Bin, _Costs, _hunk_costs, _Packer, _Piece, _units
from bot.plan.tokens import CharEstimator
from bot.prompts.render import TemplateCost
from bot.prompts.templates import load_template, make_environment, template_context
from bot.prompts.views import HunkView, group_files
from bot.types import FileDiff, Hunk, Line, SourceInfo
from tests.conftest import FULL_CORPUS, JINJA_CASES

TEXTS = st.sampled_from(["", "x = 1", "a<pr>b", "<|endoftext|>", "x < y", "<<pr>>", "é<pr_status>", "<", "<pr",
                         "tab\there", "<\n<pr>", "\U0001f600"])
NUMBERS = st.sampled_from([None, 0, 1, 7, -5, -999, -1000, 9999, 10**4, 10**6])
LINES = st.builds(Line, st.sampled_from(["+", "-", " "]), NUMBERS, NUMBERS, TEXTS)
HUNKS = st.builds(Hunk, st.sampled_from(["a.py", "a<pr>b", "x\ny"]), st.integers(0, 3), st.integers(0, 3),
                  st.sampled_from([0, 1, 998, 9999, 99_999]), st.integers(0, 3),
                  st.sampled_from(["@@ -1 +1 @@", "@@ -1 +1 @@ <pr> def f", "x@@y@@z", "@@ a @@ <<pr>", ""]),
                  st.lists(LINES, max_size=5).map(tuple))


def corpus_hunks() -> list[Hunk]:
    return [h for case in JINJA_CASES for f in parse_diff((Path(case) / "pr.diff").read_bytes()).files
            for h in f.hunks]


def plain_listing(hunk: Hunk) -> str:
    width = number_width(hunk)
    return "\n".join([hunk.ref + hunk_section(hunk), *(render_line(ln, width) for ln in hunk.lines)])


def plain_diff(hunk: Hunk, upto: int | None = None) -> str:
    lines = hunk.lines if upto is None else hunk.lines[:upto]
    return "\n".join([hunk.ref, *(ln.kind + defuse(ln.text) for ln in lines)])


@settings(max_examples=500, deadline=None)
@given(HUNKS)
def test_hunk_texts_and_their_length(hunk: Hunk) -> None:
    listing = plain_listing(hunk)
    assert hunk_listing(hunk) == listing and listing_length(hunk) == len(listing)
    assert hunk_diff(hunk) == plain_diff(hunk) and hunk_diff(hunk, 1) == plain_diff(hunk, 1)
    (view,) = group_files([hunk], lambda path: None)[0].hunks
    width = number_width(hunk)
    assert (view.header, view.lines, view.text, view.diff) == (
        hunk.ref + hunk_section(hunk), tuple(render_line(ln, width) for ln in hunk.lines), listing, plain_diff(hunk))


def test_listing_length_on_the_corpus() -> None:
    hunks = corpus_hunks()
    assert len(hunks) > (1000 if FULL_CORPUS else 50)
    assert all(listing_length(h) == len(plain_listing(h)) for h in hunks)
    cost = TemplateCost(base=0)
    assert _hunk_costs(hunks, CharEstimator(2.5), cost) == [cost.per_hunk + math.ceil(len(plain_listing(h)) / 2.5)
                                                           for h in hunks]


def test_the_sandbox_reads_view_data_directly_and_still_hides_the_rest() -> None:
    hunk = Hunk("a.py", 1, 1, 1, 1, "@@ -1 +1 @@ f", (Line("+", None, 1, "<pr>x"),))
    context = template_context([hunk], SourceInfo(kind="diff", title="t"), lambda path: "python")
    source = ("{% for f in files %}{{ f.path }} {{ f.language }}{% for h in f.hunks %}|{{ h.ref }}|{{ h.header }}"
              "|{{ h.lines }}|{{ h.text }}|{{ h.diff }}|{{ h.new_start }}|{{ h.new_len }}{% endfor %}{% endfor %}"
              "{{ comment_target.path }}{{ comment_target.line }}{{ comment_target.position }}"
              "{{ comment_target.diff }}")
    ours = make_environment(None).from_string(source).render(**context)
    theirs = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined).from_string(source).render(**context)
    assert ours == theirs and "< pr>x" in ours
    for hidden in ("{{ files[0].hunks[0]._hunk }}", "{{ files[0].__class__ }}"):
        with pytest.raises(jinja2.TemplateRuntimeError):  # unsafe (SecurityError) or undefined
            make_environment(None).from_string(hidden).render(**context)


@settings(max_examples=200, deadline=None)
@given(HUNKS)
def test_a_hunk_view_made_at_once_is_the_dataclass_made_field_by_field(hunk: Hunk) -> None:
    """group_files stores a view's fields in one step: the same view as HunkView(...) gives, every
    field set (a field added to HunkView and not passed there fails here)."""
    (file,) = group_files([hunk], lambda path: None, hunk_listing)
    (made,) = file.hunks
    plain = HunkView(path=display_path(hunk.path), ref=hunk.ref, new_start=hunk.new_start, new_len=hunk.new_len,
                     _hunk=hunk, _listing=hunk_listing)
    assert type(made) is HunkView and made == plain and repr(made) == repr(plain)
    assert list(vars(made).items()) == list(vars(plain).items())
    assert list(vars(made)) == [f.name for f in fields(HunkView)]
    assert (made.text, made.header, made.lines, made.diff) == (plain.text, plain.header, plain.lines, plain.diff)


def test_templates_know_what_they_read() -> None:
    assert load_template("review", None).reads == frozenset({"title", "description", "files"})
    assert "comment_target" in (load_template("starcoder2-pr", None).reads or ())
    hunk = Hunk("a.py", 1, 1, 1, 1, "@@ -1 +1 @@", (Line("+", None, 1, "x"),))
    source = SourceInfo(kind="diff")
    assert template_context([hunk], source, lambda path: None, frozenset({"files"}))["comment_target"] is None
    assert template_context([hunk], source, lambda path: None)["comment_target"] is not None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 400), min_size=1, max_size=12), st.integers(0, 60), st.integers(0, 40),
       st.integers(100, 900), st.integers(0, 3), st.integers(0, 3))
def test_units_by_running_sums(costs: list[int], header: int, path: int, budget: int, repeats: int,
                               path_repeats: int) -> None:
    template = TemplateCost(base=0, target=7, target_repeats=repeats, target_path_repeats=path_repeats)
    table = _Costs(template, budget, files=[header], paths=[path])
    hunk = Hunk("a.py", 1, 0, 1, 0, "@@ -1,0 +1,0 @@", ())
    pieces = [_Piece(hunk, cost, 0, order) for order, cost in enumerate(costs)]
    assert _units(pieces, table) == _priced_whole(pieces, table)


def _priced_whole(pieces: list[_Piece], table: _Costs) -> list[list[_Piece]]:
    """The runs _units makes, with every run priced whole, as costs.grown does it."""
    plain: list[list[_Piece]] = []
    for piece in pieces:
        if plain and table.grown(_Bin(), [*plain[-1], piece])[0] <= table.budget:
            plain[-1].append(piece)
        else:
            plain.append([piece])
    return plain


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(-1, 400)), min_size=1, max_size=12), st.integers(0, 60),
       st.integers(0, 40), st.integers(100, 900), st.integers(0, 3), st.integers(0, 3), st.integers(0, 3))
def test_units_by_running_sums_with_comment_block_tails(costs: list[tuple[int, int]], header: int, path: int,
                                                        budget: int, repeats: int, tail_repeats: int,
                                                        path_repeats: int) -> None:
    template = TemplateCost(base=0, target=7, target_repeats=repeats, target_tail_repeats=tail_repeats,
                            target_path_repeats=path_repeats)
    table = _Costs(template, budget, files=[header], paths=[path])
    hunk = Hunk("a.py", 1, 0, 1, 0, "@@ -1,0 +1,0 @@", ())
    pieces = [_Piece(hunk, cost, 0, order, tail) for order, (cost, tail) in enumerate(costs)]
    assert _units(pieces, table) == _priced_whole(pieces, table)
    assert [table.fits_alone(p) for p in pieces] == [table.grown(_Bin(), [p])[0] <= budget for p in pieces]


class _PlainFirstFit(_Packer):
    """The packer's first fit as a loop over every open bin (what _Packer.place scans in C)."""

    def place(self, pieces: Sequence[_Piece]) -> bool:
        unit = self.costs.unit(pieces)
        room = self.costs.budget - unit[0]
        for b in self.open:
            if b.size <= room and self._try(b, pieces, False, unit):
                return True
        if len(self.bins) >= self.max_requests or not self._try(b := _Bin(), pieces, True, unit):
            return False
        self.bins.append(b)
        self.open.append(b)
        if len(self.open) > self._prune_at:
            self.open = [o for o in self.open if self.costs.budget - o.size >= self.smallest]
            self._prune_at = max(64, 2 * len(self.open))
        return True


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(20, 120)), min_size=200, max_size=400),
       st.integers(100, 250), st.sampled_from([10, 100, 1000]), st.sampled_from([5_000, 10**9]), st.integers(0, 60))
def test_first_fit_scanned_in_c_places_as_the_plain_loop(units: list[tuple[int, int]], budget: int,
                                                         max_requests: int, max_prompt: int, smallest: int) -> None:
    """Hundreds of small units in few-hundred-token requests: many open bins, dropped when full."""
    hunk = Hunk("a.py", 1, 0, 1, 0, "@@ -1,0 +1,0 @@", ())
    placed, pruned = [], False
    for packer_type in (_Packer, _PlainFirstFit):
        costs = _Costs(TemplateCost(base=30, per_file=5), budget, files=[8] * 6, paths=[3] * 6)
        packer = packer_type(costs, max_requests, max_prompt)
        packer.smallest = smallest
        took = [packer.place([_Piece(hunk, cost, file, order)]) for order, (file, cost) in enumerate(units)]
        placed.append((took, [[(p.file, p.order) for p in b.pieces] for b in packer.bins], packer.total))
        pruned = pruned or len(packer.open) < len(packer.bins)
    assert placed[0] == placed[1]
    assume(pruned)  # (examples where no bin was ever dropped prove less)


FILTER_PATHS = st.lists(st.sampled_from(["a", "b.PNG", "x.min.js", "vendor", "poetry.lock", "c.tar.gz", ".", "..",
                                         "", "node_modules", "x_pb2.py", "d.generated.ts", "e.snap", "f.map", "g"]),
                        min_size=1, max_size=4).map("/".join)


@settings(max_examples=500, deadline=None)
@given(FILTER_PATHS)
def test_rule_tables_match_as_rule_by_rule(path: str) -> None:
    for rules in (BINARY_RULES, DEFAULT_RULES):
        for candidate in (path, path.lower()):
            assert _RuleSet.of(rules).first_match(candidate) == _first_match(candidate, rules)


def test_filters_on_the_corpus() -> None:
    files = [f for case in JINJA_CASES for f in parse_diff((Path(case) / "pr.diff").read_bytes()).files]
    assert all(_changed_lines(f) == f.changed_lines for f in files)
    for rules in (BINARY_RULES, DEFAULT_RULES):
        assert all(_RuleSet.of(rules).first_match(f.path) == _first_match(f.path, rules) for f in files)
    tiny = ReviewSettings(max_file_lines=3)
    kept, skipped = apply_filters([FileDiff("big.py", "big.py", "modified", ())], tiny)
    assert kept == () and skipped[0].reason == "mode"
