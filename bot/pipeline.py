"""The one review pipeline: redact -> filter -> plan -> prompt -> model -> findings. No I/O of its own.

CI runs, dry runs and `prompts` all come through here; only the source and the sinks differ.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.backends.base import Backend, GenerationParams
from bot.backends.client import ModelEvent, run_requests
from bot.config import Settings
from bot.filters import apply_filters
from bot.findings import collect_findings
from bot.plan import TokenEstimator, make_plan, split_batch
from bot.prompts import Template, TemplateCost, render_request, template_overhead
from bot.redact import RedactedInput, mark_secret_findings, redact_input
from bot.sources import ReviewInput
from bot.types import Batch, Hunk, Request, RunResult, RunStats, Skipped


@dataclass(frozen=True)
class Prepared:
    """Everything decided before the first model call."""

    requests: tuple[Request, ...]
    skipped: tuple[Skipped, ...]
    files: int
    hunks: int
    request_budget: int
    overhead: TemplateCost  # the template's own cost, measured once; resplits reuse it
    redacted: RedactedInput  # the input as every later stage sees it: credentials replaced


def prepare(review_input: ReviewInput, settings: Settings, template: Template,
            estimator: TokenEstimator) -> Prepared:
    # First, so no credential reaches a prompt, a finding, a log line or an output.
    redacted = redact_input(review_input, settings.review.redact_secrets)
    review_input = redacted.review_input
    files = review_input.diff.files
    kept, filtered_out = apply_filters(files, settings.review)
    overhead = template_overhead(template, review_input.info, estimator)
    plan = make_plan(kept, settings, overhead, estimator)
    requests = tuple(render_request(template, batch, review_input.info, estimator) for batch in plan.batches)
    skipped = review_input.diff.skipped + review_input.skipped + filtered_out + plan.skipped
    hunks = sum(len(f.hunks) for f in files) + sum(1 for s in review_input.skipped if s.hunk is not None)
    return Prepared(requests=requests, skipped=skipped, files=len(files) + len(review_input.diff.skipped),
                    hunks=hunks, request_budget=plan.request_budget, overhead=overhead,
                    redacted=redacted)


def generation_params(settings: Settings, template: Template) -> GenerationParams:
    return GenerationParams(max_new_tokens=settings.model.max_new_tokens,
                            temperature=settings.model.temperature, top_p=settings.model.top_p,
                            stop=template.stop)


def run(review_input: ReviewInput, backend: Backend, settings: Settings, template: Template,
        estimator: TokenEstimator, on_event: Callable[[ModelEvent], None] | None = None,
        clock: Callable[[], float] = time.monotonic) -> RunResult:
    started = clock()
    prepared = prepare(review_input, settings, template, estimator)
    review_input = prepared.redacted.review_input  # resplit prompts must not see the originals

    def resplit(request: Request) -> Sequence[Request]:
        # The server said the prompt is too long: halve the request once and render the parts.
        budget = max(1, request.est_tokens // 2)
        batch = Batch(id=request.id, hunks=request.hunks, est_tokens=request.est_tokens)
        parts = split_batch(batch, estimator, budget, prepared.overhead)
        if len(parts) < 2:  # cannot be cut further: the client gives up on it
            return []
        return [render_request(template, part, review_input.info, estimator) for part in parts]

    outcome = run_requests(prepared.requests, backend, generation_params(settings, template), settings,
                           on_event=on_event, resplit=resplit)
    found = collect_findings(outcome.completions, template.parser, settings.review)
    findings = mark_secret_findings(found.findings, prepared.redacted.secret_lines)
    skipped = prepared.skipped + outcome.skipped
    reviewed = _count_reviewed(review_input, [r for r, _ in outcome.completions])
    stats = RunStats(
        files=prepared.files, hunks=prepared.hunks, hunks_reviewed=reviewed,
        requests=outcome.requests_sent, retries=outcome.retries, waited_s=outcome.waited_s,
        prompt_tokens=outcome.prompt_tokens, completion_tokens=outcome.completion_tokens,
        elapsed_s=clock() - started, dropped_ungrounded=found.dropped_ungrounded,
        dropped_capped=found.dropped_capped,
        dropped_below_severity=found.dropped_below_severity, dropped_echo=found.dropped_echo,
        secrets_redacted=prepared.redacted.count)
    return RunResult(findings=findings, skipped=skipped, stats=stats, source_info=review_input.info,
                     model=settings.model_label, template=template.name)


def _count_reviewed(review_input: ReviewInput, done: Sequence[Request]) -> int:
    """Original hunks with at least one part in a completed request (split parts count once)."""
    parts: dict[str, list[Hunk]] = {}
    for request in done:
        for part in request.hunks:
            parts.setdefault(part.path, []).append(part)
    count = 0
    for file in review_input.diff.files:
        for hunk in file.hunks:
            if any(_overlaps(hunk, part) for part in parts.get(hunk.path, ())):
                count += 1
    return count


def _overlaps(hunk: Hunk, part: Hunk) -> bool:
    new_end, part_new_end = hunk.new_start + hunk.new_len, part.new_start + part.new_len
    old_end, part_old_end = hunk.old_start + hunk.old_len, part.old_start + part.old_len
    return (part.new_start < new_end and hunk.new_start < part_new_end) or (
        part.old_start < old_end and hunk.old_start < part_old_end) or part == hunk
