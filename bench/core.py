"""Offline core: the pipeline before the model, as a ratio to unidiff's bare parse of the same text.

The pipeline is `pipeline.prepare` after `diff.parse_diff`: parse, redact, filter, plan, render.

Inputs: the largest diff in the shared corpus and a synthetic 20,000-line diff (deterministic).
Budgets are lifted so every hunk is planned and rendered: the figure covers the whole diff,
not the first 40 requests' worth. The template is loaded once (a run does that once too).
Both sides are timed best-of-N, interleaved, so a busy moment hurts neither side alone.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import unidiff

from bench import CORPUS, BenchConfig, Row, best_of
from bot.config import BudgetSettings, Settings
from bot.diff.parse import parse_diff
from bot.pipeline import Prepared, prepare
from bot.plan.filters import apply_filters
from bot.plan.packing import make_plan
from bot.plan.tokens import MemoCounter, TokenEstimator
from bot.prompts.render import TemplateCost, render_requests, template_overhead
from bot.prompts.templates import Template
from bot.run import load_stages
from bot.sources import ReviewInput
from bot.types import FileDiff, Plan, SourceInfo

GOAL = 3.0  # the whole offline pipeline within 3x of unidiff's bare parse
SYNTHETIC_LINES = 20_000
LIFTED = BudgetSettings(max_requests=1_000_000, max_prompt_tokens=10**12)


def largest_corpus_diff(root: Path = CORPUS) -> Path:
    diffs = sorted(root.rglob("*.diff"), key=lambda p: (-p.stat().st_size, str(p)))
    if not diffs:
        raise FileNotFoundError(f"no *.diff under {root}; set REVIEW_BOT_SHARED to the shared data folder")
    return diffs[0]


def synthetic_diff(total_lines: int = SYNTHETIC_LINES, seed: int = 20_000) -> str:
    """A git diff of exactly `total_lines` lines over many Python files (the same text on every call).

    Hunks mix context, deletions and additions like real edits: 3 context lines around 1-6
    deleted and 1-9 added lines, 5-25 hunks per file, line numbers increasing. The last file
    is a new one whose length makes the count exact.
    """
    rng = random.Random(seed)
    out: list[str] = []
    largest_hunk, last_file = 1 + 3 + 6 + 9 + 3, 6
    file_no = 0
    while len(out) + 4 + largest_hunk + last_file <= total_lines:
        file_no += 1
        path = f"src/pkg{file_no % 7}/module_{file_no:04d}.py"
        out += [f"diff --git a/{path} b/{path}", f"index {file_no:07x}..{file_no + 1:07x} 100644",
                f"--- a/{path}", f"+++ b/{path}"]
        old = new = 1 + rng.randrange(40)
        for _ in range(rng.randint(5, 25)):
            deleted, added = rng.randint(1, 6), rng.randint(1, 9)
            if len(out) + 1 + deleted + added + 6 + last_file > total_lines:
                break
            out.append(f"@@ -{old},{deleted + 6} +{new},{added + 6} @@ def function_{old}(self, item):")
            out += [" " + _code(rng, old + k) for k in range(3)]
            out += ["-" + _code(rng, old + 3 + k) for k in range(deleted)]
            out += ["+" + _code(rng, new + 3 + k, added=True) for k in range(added)]
            out += [" " + _code(rng, old + 3 + deleted + k) for k in range(3)]
            gap = rng.randint(5, 60)
            old += deleted + 6 + gap
            new += added + 6 + gap
    room = total_lines - len(out) - 5
    path = "src/pkg0/filler.py"
    out += [f"diff --git a/{path} b/{path}", "new file mode 100644", "--- /dev/null", f"+++ b/{path}",
            f"@@ -0,0 +1,{room} @@"]
    out += ["+" + _code(rng, k + 1, added=True) for k in range(room)]
    return "\n".join(out) + "\n"


def _code(rng: random.Random, number: int, added: bool = False) -> str:
    name = rng.choice(("value", "result", "items", "config", "buffer", "handle", "count", "name"))
    call = rng.choice(("compute", "lookup", "render", "validate", "parse", "merge", "open", "close"))
    text = f"    {name}_{number % 97} = {call}(item, {number}, key={name!r})"
    return text + ("  # changed" if added else "")


def run_pipeline(text: str, settings: Settings, template: Template, estimator: TokenEstimator) -> Prepared:
    """parse -> redact -> filter -> plan -> render: what `review-bot prompts` does, without the I/O."""
    review_input = ReviewInput(info=SourceInfo(kind="diff"), diff=parse_diff(text))
    return prepare(review_input, settings, template, estimator)


def _stages(text: str, settings: Settings, template: Template, estimator: TokenEstimator,
            repeats: int) -> dict[str, float]:
    """Best-of-N seconds of each stage on its own, in pipeline order, for telling where the time goes."""
    from bot.redact.scrub import redact_input

    info = SourceInfo(kind="diff")
    parse_s, parsed = best_of(lambda: parse_diff(text), repeats)
    review_input = ReviewInput(info=info, diff=parsed)
    redact_s, redacted = best_of(lambda: redact_input(review_input, settings.review.redact_secrets), repeats)
    files = redacted.review_input.diff.files
    filter_s, (kept, _) = best_of(lambda: apply_filters(files, settings.review), repeats)
    cost = template_overhead(template, info, estimator)
    # As prepare does: one memo per plan, which render then reads (each text counted once).
    plan_s, (plan, memo) = best_of(lambda: _plan(kept, settings, cost, estimator), repeats)
    render_s, _ = best_of(lambda: render_requests(template, plan.batches, info, memo), repeats)
    return {"parse": parse_s, "redact": redact_s, "filter": filter_s, "plan": plan_s, "render": render_s}


def _plan(files: list[FileDiff], settings: Settings, cost: TemplateCost,
          estimator: TokenEstimator) -> tuple[Plan, MemoCounter]:
    memo = MemoCounter(estimator)
    return make_plan(files, settings, cost, memo), memo


def measure(label: str, text: str, config: BenchConfig) -> Row:
    settings = replace(Settings(), budget=LIFTED)
    template, estimator = load_stages(settings)
    ours = bare = float("inf")
    prepared: Prepared | None = None
    for _ in range(config.repeats):  # interleaved, so drift in machine load hits both sides
        bare = min(bare, best_of(lambda: unidiff.PatchSet(text), 1)[0])
        seconds, prepared = best_of(lambda: run_pipeline(text, settings, template, estimator), 1)
        ours = min(ours, seconds)
    assert prepared is not None
    stages = _stages(text, settings, template, estimator, max(3, config.repeats // 2))
    split = ", ".join(f"{name} {seconds / bare:.2f}x" for name, seconds in stages.items())
    lines = text.count("\n")
    return Row(
        family="core", name=f"offline pipeline: {label} ({len(text) // 1024} KB, {lines} lines)",
        value=ours, baseline=bare, baseline_name="unidiff.PatchSet(text)", goal=GOAL,
        note=f"stages vs unidiff: {split}; {len(prepared.requests)} requests rendered",
        detail={"bytes": len(text), "lines": lines, "requests": len(prepared.requests),
                "hunks": prepared.hunks, "stages_s": {k: round(v, 6) for k, v in stages.items()},
                "repeats": config.repeats})


def run(config: BenchConfig) -> list[Row]:
    largest = largest_corpus_diff()
    corpus_text = largest.read_text(encoding="utf-8")
    rows = [measure(f"largest corpus diff {largest.parent.name}", corpus_text, config),
            measure("synthetic diff", synthetic_diff(), config)]
    return rows
