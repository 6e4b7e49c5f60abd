"""Packing: requests planned vs the lower bound ceil(total tokens / per-request budget).

Every corpus case (the jinja diffs and unidiff's samples) goes through filter -> plan with the
run budget lifted, once with StarCoder2's 16,384-token window and once with a 4,096-token one
(where packing matters). `total tokens` is the planner's own count of what must be sent
(`Plan.total_tokens`: every hunk listing, split parts included, with the template's per-hunk
cost); `per-request budget` is `Plan.request_budget` (window minus max_new_tokens, template and
safety margin). File headers are left out of the total, so the bound is a true lower bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bench import CORPUS, BenchConfig, Row
from bot.config import BudgetSettings, ModelSettings, Settings
from bot.diff.parse import parse_diff
from bot.errors import BotError
from bot.plan.filters import apply_filters
from bot.plan.packing import make_plan
from bot.plan.tokens import make_estimator
from bot.prompts.render import template_overhead
from bot.prompts.templates import load_template
from bot.types import FileDiff, SourceInfo

GOAL = 1.15  # planned requests within 15% of the lower bound, over the whole corpus
WINDOWS = (16_384, 4_096)
TEMPLATES = ("review", "review-instruct", "starcoder2-pr")
LIFTED = BudgetSettings(max_requests=1_000_000, max_prompt_tokens=10**12)


@dataclass(frozen=True)
class Case:
    name: str
    files: tuple[FileDiff, ...]  # after the filters
    hunks: int


@dataclass(frozen=True)
class Packed:
    planned: int
    bound: int
    total_tokens: int
    request_budget: int


def corpus_cases(root: Path = CORPUS) -> list[Case]:
    paths = sorted((root / "jinja").glob("*/pr.diff")) + sorted((root / "unidiff-samples").glob("*.diff"))
    if not paths:
        raise FileNotFoundError(f"no corpus diffs under {root}; set REVIEW_BOT_SHARED to the shared data folder")
    settings = Settings()
    cases = []
    for path in paths:
        name = path.parent.name if path.name == "pr.diff" else f"unidiff/{path.stem}"
        try:
            parsed = parse_diff(path.read_bytes())
        except BotError:
            continue  # not a reviewable diff at all (some unidiff samples are deliberately odd)
        kept, _ = apply_filters(parsed.files, settings.review)
        cases.append(Case(name, kept, sum(len(f.hunks) for f in kept)))
    return cases


def pack(case: Case, settings: Settings, template_name: str) -> Packed:
    template = load_template(template_name, None)
    estimator = make_estimator(settings.model)
    cost = template_overhead(template, SourceInfo(kind="diff"), estimator)
    plan = make_plan(case.files, settings, cost, estimator)
    bound = math.ceil(plan.total_tokens / plan.request_budget) if plan.total_tokens else 0
    return Packed(len(plan.batches), bound, plan.total_tokens, plan.request_budget)


def window_settings(window: int) -> Settings:
    return replace(Settings(), model=replace(ModelSettings(), context_window=window), budget=LIFTED)


def run(config: BenchConfig) -> list[Row]:
    cases = corpus_cases()
    rows = []
    for template in TEMPLATES:
        for window in WINDOWS:
            settings = window_settings(window)
            packed = {c.name: pack(c, settings, template) for c in cases if c.hunks}
            planned = sum(p.planned for p in packed.values())
            bound = sum(p.bound for p in packed.values())
            over = sorted((p.planned / p.bound, name) for name, p in packed.items() if p.planned > p.bound)
            worst = (f"worst {over[-1][1]}: {packed[over[-1][1]].planned} vs {packed[over[-1][1]].bound}"
                     if over else "none")
            detail: dict[str, object] = {"template": template, "context_window": window, "cases": {
                name: p.__dict__ for name, p in packed.items()}} if template == "review" else {
                "template": template, "context_window": window}
            rows.append(Row(
                family="packing", name=f"requests, {len(packed)} corpus cases, template {template}, "
                                       f"window {window}",
                value=planned, baseline=bound, baseline_name="sum of ceil(tokens / budget)", unit="requests",
                goal=GOAL,
                note=f"{template} @ {window}: {len(over)} of {len(packed)} cases above their bound ({worst})",
                detail=detail))
    return rows


def cases_table(rows: Sequence[Row]) -> list[str]:
    """Per-case figures of the `review` template, both windows: the cases that need more than
    one request, or more than their bound; the rest summed up in one line."""
    by_window = {r.detail["context_window"]: r.detail["cases"] for r in rows
                 if r.family == "packing" and r.detail.get("template") == "review" and "cases" in r.detail}
    if not by_window:
        return []
    windows = sorted(by_window, reverse=True)
    names = sorted(set().union(*(set(c) for c in by_window.values())))
    head = ["case", *[f"window {w}: planned / bound (budget)" for w in windows]]
    lines, trivial = [], 0
    for name in names:
        figures = [by_window[w].get(name) for w in windows]
        if all(f is not None and f["planned"] == f["bound"] <= 1 for f in figures):
            trivial += 1
            continue
        cells = [f"{f['planned']} / {f['bound']} ({f['request_budget']})" if f else "-" for f in figures]
        lines.append([name, *cells])
    widths = [max(len(r[i]) for r in (head, *lines)) for i in range(len(head))]
    out = ["Packing per case (template review):", "",
           "| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in lines]
    out.append(f"... and {trivial} more cases with one request each, at their bound of 1.")
    return out
