"""Hunk packing, and the run budget -> Plan (token counting: bot.plan.tokens; splitting: bot.plan.split).

A hunk costs what `hunk_text.hunk_listing` prints for it (the text every template is given),
plus the template's own per-hunk and per-file overhead measured by
`prompts.template_overhead`. Each sum is an upper bound of the rendered prompt, so no
request the planner makes exceeds `context_window - max_new_tokens`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import compress, repeat
from operator import le

from bot.config import Settings
from bot.diff.hunk_text import display_path, listing_length
from bot.errors import ConfigError
from bot.plan.priority import file_priority as file_priority  # its home before; callers import it here
from bot.plan.split import split_hunk as split_hunk  # its home before; callers import it here
from bot.plan.tokens import CharEstimator, TokenEstimator, listing_of
from bot.plan.tokens import count_many as _count_many
from bot.prompts.context import file_language
from bot.prompts.enclosing import no_context
from bot.prompts.render import TemplateCost
from bot.prompts.views import target_hunk
from bot.types import Batch, FileDiff, Hunk, Plan, Skipped

_Unit = tuple[int, set[int], int, int, int]  # pieces' cost, files, largest cost, tail and path (see _Costs.unit)


# ---------------------------------------------------------------- packing

@dataclass(slots=True)
class _Piece:
    hunk: Hunk
    cost: int
    file: int  # index of the file in input order
    order: int  # position inside that file
    tail: int = -1  # cost of its target_hunk, what a comment block shows of it (-1: cost)

    def __post_init__(self) -> None:  # a comment block never shows more than the hunk: its cost bounds it
        self.tail = self.cost if self.tail < 0 else min(self.tail, self.cost)


@dataclass
class _Bin:
    size: int = 0  # tokens of the hunks, file headers and target reserve; template excluded
    used: int = 0  # the same without the target reserve
    max_hunk: int = 0
    max_tail: int = 0
    max_path: int = 0
    files: set[int] = field(default_factory=set)
    pieces: list[_Piece] = field(default_factory=list)


@dataclass
class _Costs:
    """Everything the packer needs to price a set of pieces (see TemplateCost)."""

    template: TemplateCost
    budget: int
    files: list[int] = field(default_factory=list)  # header cost per file index
    paths: list[int] = field(default_factory=list)  # path tokens per file index

    def reserve(self, max_hunk: int, max_tail: int, max_path: int) -> int:
        t = self.template  # (all 0 for most templates: then so is the reserve)
        return t.target + t.target_repeats * max_hunk + t.target_tail_repeats * max_tail \
            + t.target_path_repeats * max_path

    def unit(self, pieces: Sequence[_Piece]) -> _Unit:  # summed once for every bin tried (maxima are >= 0)
        return (sum(p.cost for p in pieces), {p.file for p in pieces}, max((p.cost for p in pieces), default=0),
                max((p.tail for p in pieces), default=0), max((self.paths[p.file] for p in pieces), default=0))

    def grown(self, b: _Bin, pieces: Sequence[_Piece], unit: _Unit | None = None) -> tuple[int, int, int, int, int]:
        """(size, used, max_hunk, max_tail, max_path) of bin `b` with `pieces` (summed as `unit`) added."""
        cost, files, most, tail, path = unit or self.unit(pieces)
        used = b.used + cost + sum(self.files[f] for f in files - b.files)
        max_hunk, max_tail, max_path = max(b.max_hunk, most), max(b.max_tail, tail), max(b.max_path, path)
        return used + self.reserve(max_hunk, max_tail, max_path), used, max_hunk, max_tail, max_path

    def fits_alone(self, piece: _Piece) -> bool:  # grown(_Bin(), [piece])[0] <= budget, without a bin
        reserve = self.reserve(max(0, piece.cost), max(0, piece.tail), max(0, self.paths[piece.file]))
        return piece.cost + self.files[piece.file] + reserve <= self.budget


class _Packer:
    """First fit, in the order given, under both the request and the run budget."""

    def __init__(self, costs: _Costs, max_requests: int, max_prompt_tokens: int) -> None:
        self.costs = costs
        self.max_requests, self.max_prompt_tokens = max_requests, max_prompt_tokens
        self.bins: list[_Bin] = []
        self.open: list[_Bin] = []  # bins that may still take something
        self.sizes: list[int] = []  # of the open bins, in their order: scanned in C for one with room
        self.total = 0  # prompt tokens of all bins, template included
        self.smallest = 0  # cost of the cheapest piece still to place
        self._prune_at = 64

    def _try(self, b: _Bin, pieces: Sequence[_Piece], new: bool, unit: _Unit) -> bool:
        size, used, max_hunk, max_tail, max_path = self.costs.grown(b, pieces, unit)
        growth = size - b.size + (self.costs.template.base if new else 0)
        if size > self.costs.budget or self.total + growth > self.max_prompt_tokens:
            return False
        b.size, b.used, b.max_hunk, b.max_tail, b.max_path = size, used, max_hunk, max_tail, max_path
        b.files.update(unit[1])
        b.pieces.extend(pieces)
        self.total += growth
        return True

    def place(self, pieces: Sequence[_Piece]) -> bool:
        unit = self.costs.unit(pieces)
        room = self.costs.budget - unit[0]
        for at in compress(range(len(self.sizes)), map(le, self.sizes, repeat(room))):  # first fit, among
            if self._try(self.open[at], pieces, False, unit):  # the open bins with size <= room
                self.sizes[at] = self.open[at].size
                return True
        if len(self.bins) >= self.max_requests or not self._try(b := _Bin(), pieces, True, unit):
            return False
        self.bins.append(b)
        self.open.append(b)
        self.sizes.append(b.size)
        if len(self.open) > self._prune_at:
            # Drop bins that can't take even the cheapest piece: keeps the scan short.
            self.open = [o for o in self.open if self.costs.budget - o.size >= self.smallest]
            self.sizes = [o.size for o in self.open]
            self._prune_at = max(64, 2 * len(self.open))
        return True


# The per-request prompt cap when [budget] max_request_tokens is unset. In process, reading a
# token costs the same in one request or in several (the template prefix is evaluated once a run),
# and Qwen2.5-Coder-1.5B found nothing in whole 4-5k-token pull requests (0 of 12) but 3 of 6 with
# requests near 2k (issue 18; docs/quality.md has the curve on the held-out sets). Over HTTP each
# request also spends rate budget (max_requests, requests_per_minute), so servers get larger ones.
DEFAULT_MAX_REQUEST_TOKENS = {"llama-cpp": 2048}
DEFAULT_MAX_REQUEST_TOKENS_HTTP = 4096


def request_cap(settings: Settings) -> int | None:
    """The largest prompt one request may have, in tokens; None: no cap but the window."""
    cap = settings.budget.max_request_tokens
    if cap is None:
        cap = DEFAULT_MAX_REQUEST_TOKENS.get(settings.model.api, DEFAULT_MAX_REQUEST_TOKENS_HTTP)
    return cap or None


def _budget(settings: Settings, cost: TemplateCost) -> int:
    model = settings.model
    budget = settings.window - model.max_new_tokens - cost.base - settings.budget.safety_margin_tokens
    if budget <= 0:
        raise ConfigError(
            f"[model] context_window {settings.window} leaves no room for the diff after max_new_tokens "
            f"{model.max_new_tokens}, the template ({cost.base} tokens) and the safety margin "
            f"{settings.budget.safety_margin_tokens}; raise context_window or lower max_new_tokens")
    cap = request_cap(settings)
    if cap is not None and cap - cost.base < budget:
        if cap - cost.base <= 0:
            raise ConfigError(f"[budget] max_request_tokens {cap} leaves no room for the diff after the template "
                              f"({cost.base} tokens); raise it, or set 0 for no cap")
        budget = cap - cost.base  # the cap is on the whole prompt, template included
    return budget


def _as_cost(template_overhead: int | TemplateCost) -> TemplateCost:
    if isinstance(template_overhead, TemplateCost):
        return template_overhead
    return TemplateCost(base=template_overhead)


def _file_cost(cost: TemplateCost, estimator: TokenEstimator, path: str) -> tuple[int, int]:
    """(header cost, path tokens) of a file, with the language the prompt will name."""
    path_tokens = estimator.count(display_path(path))
    language = file_language(path)
    language_tokens = estimator.count(language) if language else 0
    header = cost.per_file + cost.path_repeats * path_tokens + cost.language_repeats * language_tokens
    return header, path_tokens


def _hunk_costs(hunks: Sequence[Hunk], estimator: TokenEstimator, cost: TemplateCost,
                context: Callable[[Hunk], str] = no_context) -> list[int]:
    """Each hunk's cost: its listing, and its read-only context ([review] context) when it has one."""
    extra = [0] * len(hunks)
    if context is not no_context and (cost.context or cost.context_repeats):
        extra = [cost.context_cost(c) for c in _count_many(estimator, [context(h) for h in hunks])]
    if type(estimator) is CharEstimator:  # counts only characters: no need to make the listings
        per_token = estimator.chars_per_token
        return [cost.per_hunk + math.ceil(listing_length(h) / per_token) + e for h, e in zip(hunks, extra, strict=True)]
    listing = listing_of(estimator)  # the memo's: render prints the same texts without making them again
    return [cost.per_hunk + c + e
            for c, e in zip(_count_many(estimator, [listing(h) for h in hunks]), extra, strict=True)]


def _tail_costs(hunks: Sequence[Hunk], estimator: TokenEstimator, cost: TemplateCost) -> list[int]:
    """What a comment block costs showing each hunk (its target_hunk, priced as a hunk is)."""
    if not cost.target_tail_repeats:
        return [-1] * len(hunks)  # no template prints it: the piece's own cost stands in
    return _hunk_costs([target_hunk(h) for h in hunks], estimator, cost)


def _pieces(hunks: Sequence[Hunk], hunk_costs: Sequence[int], file: int, costs: _Costs,
            estimator: TokenEstimator, context: Callable[[Hunk], str] = no_context) -> list[_Piece]:
    """The hunks of one file as pieces: whole when one fits a request alone, else split.

    A hunk that fits only without its context ([review] context) goes without it: as a copy, which
    the context (looked up by identity, bot.prompts.enclosing) does not know. Split parts have none.
    """
    cost = costs.template
    limit = max(_piece_limit(costs, file), 1)
    out: list[_Piece] = []
    tails = _tail_costs(hunks, estimator, cost)
    for hunk, hunk_cost, tail in zip(hunks, hunk_costs, tails, strict=True):
        whole = _Piece(hunk, hunk_cost, file, len(out), tail)
        if hunk_cost <= limit or costs.fits_alone(whole):
            out.append(whole)
            continue
        if context(hunk):
            bare = _Piece(replace(hunk), _hunk_costs([hunk], estimator, cost)[0], file, len(out), tail)
            if bare.cost <= limit or costs.fits_alone(bare):
                out.append(bare)
                continue
        parts = split_hunk(hunk, limit, estimator, cost.per_hunk)
        part_tails = _tail_costs([h for h, _ in parts], estimator, cost)
        for (part, part_cost), part_tail in zip(parts, part_tails, strict=True):
            out.append(_Piece(part, part_cost, file, len(out), part_tail))
    return out


def _piece_limit(costs: _Costs, file: int) -> int:
    """Largest piece that fits a request alone whatever it shows in a comment block."""
    t = costs.template
    room = costs.budget - costs.files[file] - t.target - t.target_path_repeats * costs.paths[file]
    return room // (1 + t.target_repeats + t.target_tail_repeats)


def _units(pieces: list[_Piece], costs: _Costs) -> list[list[_Piece]]:
    """A file's pieces in order, cut into runs that each fit one request (usually one run).

    A run fits when costs.grown(_Bin(), run) does: for the pieces of one file, its running
    sum and maximum plus the file's header and the target reserve.
    """
    units: list[list[_Piece]] = []
    used = largest = tail = 0
    for piece in pieces:
        header, path = costs.files[piece.file], max(0, costs.paths[piece.file])
        grown = costs.reserve(max(largest, piece.cost), max(tail, piece.tail), path)
        if units and used + piece.cost + header + grown <= costs.budget:
            units[-1].append(piece)
            used, largest, tail = used + piece.cost, max(largest, piece.cost), max(tail, piece.tail)
        else:
            units.append([piece])
            used, largest, tail = piece.cost, max(0, piece.cost), max(0, piece.tail)
    return units


def make_plan(files: Sequence[FileDiff], settings: Settings, template_overhead: int | TemplateCost,
              estimator: TokenEstimator, context: Callable[[Hunk], str] = no_context) -> Plan:
    """Pack the hunks of `files` into as few requests as fit, most important first.

    Source files come before tests, tests before docs and config, larger changes first. A
    file's hunks stay together and in order when they fit one request; a hunk too large for
    any request is split. What the run budget (max_requests, max_prompt_tokens) can't take
    is skipped with reason "budget"; a single line larger than a request, "too_large".
    `template_overhead` is bot.prompts.render.template_overhead(); a bare int is the template's fixed
    size, with default per-file and per-hunk costs. `context`: each hunk's read-only context, priced
    with it (a part of a split hunk has none).
    """
    cost = _as_cost(template_overhead)
    costs = _Costs(cost, _budget(settings, cost))
    skipped: list[Skipped] = []
    units: list[tuple[tuple[int, int, int], list[_Piece]]] = []
    total_tokens = 0
    all_costs, at = _hunk_costs([h for diff in files for h in diff.hunks], estimator, cost, context), 0  # one pass
    for index, diff in enumerate(files):
        file_cost, path_tokens = _file_cost(cost, estimator, diff.path)
        costs.files.append(file_cost)
        costs.paths.append(path_tokens)
        if not diff.hunks:
            continue
        hunk_costs, at = all_costs[at:at + len(diff.hunks)], at + len(diff.hunks)
        pieces = []
        for piece in _pieces(diff.hunks, hunk_costs, index, costs, estimator, context):
            if costs.fits_alone(piece):
                pieces.append(piece)
            else:
                skipped.append(Skipped(diff.path, piece.hunk.ref, "too_large", "one line is larger than a request"))
        total_tokens += sum(p.cost for p in pieces)
        priority = file_priority(diff.path)
        units.extend(((priority, -sum(p.cost for p in unit), index), unit) for unit in _units(pieces, costs))
    units.sort(key=lambda u: u[0])
    packer = _Packer(costs, settings.budget.max_requests, settings.budget.max_prompt_tokens)
    packer.smallest = min((p.cost for _, unit in units for p in unit), default=0)
    for _, unit in units:
        if packer.place(unit):
            continue
        for piece in unit:  # the run does not fit whole anywhere: fill the gaps hunk by hunk
            if not packer.place([piece]):
                skipped.append(Skipped(piece.hunk.path, piece.hunk.ref, "budget"))
    batches = tuple(_batch(i + 1, b) for i, b in enumerate(packer.bins))
    return Plan(batches=batches, skipped=tuple(skipped), request_budget=costs.budget,
                total_tokens=total_tokens)


def _batch(batch_id: int, b: _Bin) -> Batch:
    first_seen: dict[int, int] = {}
    for piece in b.pieces:
        first_seen.setdefault(piece.file, len(first_seen))
    pieces = sorted(b.pieces, key=lambda p: (first_seen[p.file], p.order))
    return Batch(id=batch_id, hunks=tuple(p.hunk for p in pieces), est_tokens=b.size)


def split_batch(batch: Batch, estimator: TokenEstimator, budget_tokens: int,
                template_overhead: int | TemplateCost = 0,
                context: Callable[[Hunk], str] = no_context) -> tuple[Batch, ...]:
    """Re-plan a batch the server found too long into parts of at most `budget_tokens` each.

    The limit is also at most half the batch, so a retry always sends less. Hunks keep their
    order; a hunk over the limit is split at line boundaries. A batch that can't be cut (one
    line) comes back unchanged, and the caller gives up on it. Parts share the batch's id.
    """
    cost = _as_cost(template_overhead)
    paths = list(batch.files)
    costs = _Costs(cost, 0)
    for path in paths:
        file_cost, path_tokens = _file_cost(cost, estimator, path)
        costs.files.append(file_cost)
        costs.paths.append(path_tokens)
    whole = _Bin()
    hunk_costs = _hunk_costs(batch.hunks, estimator, cost, context)
    all_pieces = [_Piece(h, c, paths.index(h.path), i, t) for i, (h, c, t) in
                  enumerate(zip(batch.hunks, hunk_costs, _tail_costs(batch.hunks, estimator, cost), strict=True))]
    costs.budget = max(1, min(budget_tokens, costs.grown(whole, all_pieces)[0] // 2))
    pieces: list[_Piece] = []
    for piece in all_pieces:
        for part in _pieces([piece.hunk], [piece.cost], piece.file, costs, estimator, context):
            part.order = len(pieces)
            pieces.append(part)
    groups: list[list[_Piece]] = []
    for piece in pieces:  # next fit: parts stay in the batch's order
        if groups and costs.grown(_Bin(), [*groups[-1], piece])[0] <= costs.budget:
            groups[-1].append(piece)
        else:
            groups.append([piece])
    if len(groups) < 2:
        if len(pieces) < 2:
            return (batch,)
        groups = [pieces[: len(pieces) // 2], pieces[len(pieces) // 2:]]
    return tuple(Batch(id=batch.id, hunks=tuple(p.hunk for p in g), est_tokens=costs.grown(_Bin(), g)[0])
                 for g in groups)
