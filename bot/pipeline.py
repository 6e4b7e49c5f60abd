"""The one review pipeline: redact -> filter -> plan -> prompt -> model -> findings. No I/O of its own.

CI runs, dry runs and `prompts` all come through here; only the source and the sinks differ.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from bot.backends.base import Backend, GenerationParams, InputTooLongError, KnowsContext, check_mode, scores_text
from bot.backends.client import ModelRunOutcome, run_requests
from bot.backends.events import ModelEvent
from bot.config import Settings
from bot.errors import ConfigError
from bot.findings.confirm import CONFIRM_PARAMS, confirmation_requests, denies
from bot.findings.grounding import collect_findings
from bot.findings.rank import RANK_PARAMS, best, candidates, ranking_requests
from bot.findings.surprise import most_surprising
from bot.plan.filters import apply_filters
from bot.plan.packing import make_plan, split_batch
from bot.plan.tokens import CountingEstimator, MemoCounter, TokenEstimator
from bot.prompts.context import PromptOptions
from bot.prompts.enclosing import HeadContext, no_context, wants_head_file
from bot.prompts.render import TemplateCost, render_request, render_requests, template_overhead
from bot.prompts.templates import Template
from bot.redact.scrub import RedactedInput, mark_secret_findings, redact_input
from bot.sources import ReviewInput
from bot.types import Batch, FileDiff, Finding, Hunk, Request, RunResult, RunStats, Skipped


@dataclass(frozen=True)
class Prepared:
    """Everything decided before the first model call."""

    requests: tuple[Request, ...]
    skipped: tuple[Skipped, ...]
    files: int
    hunks: int
    request_budget: int
    overhead: TemplateCost  # the template's own cost, measured once; resplits reuse it
    options: PromptOptions  # what the settings add to the template's variables; resplits reuse them
    redacted: RedactedInput  # the input as every later stage sees it: credentials replaced


@dataclass(frozen=True)
class Screened:
    """The input after redaction and the filters: what is left to plan, and what was left out."""

    redacted: RedactedInput
    kept: tuple[FileDiff, ...]
    filtered_out: tuple[Skipped, ...]

    @property
    def needs_model(self) -> bool:
        """Whether a run will ask the model anything: some hunk is left after redaction and the filters.

        Decided before a model is made, fetched or loaded (a lock file or binary-only diff needs
        none, offline or not). Nothing left means no request with any model, and the same plan
        (no batches, the same skips) whatever the model's window or vocabulary.
        """
        return any(f.hunks for f in self.kept)


def screen(review_input: ReviewInput, settings: Settings) -> Screened:
    # Head files only serve [review] context = "function", and only for the files it reads (the
    # predicate the GitHub source fetches by): the others are dropped before redaction, so with
    # "diff" nothing of them is read or redacted.
    if review_input.head_files:
        wanted = settings.review.context == "function"
        paths = {f.path for f in review_input.diff.files if wanted and wants_head_file(f)}
        review_input = replace(review_input, head_files=tuple(
            (path, text) for path, text in review_input.head_files if path in paths))
    # Redaction first, so no credential reaches a prompt, a finding, a log line or an output.
    redacted = redact_input(review_input, settings.review.redact_secrets)
    kept, filtered_out = apply_filters(redacted.review_input.diff.files, settings.review)
    return Screened(redacted, kept, filtered_out)


def prepare(review_input: ReviewInput, settings: Settings, template: Template,
            estimator: TokenEstimator, screened: Screened | None = None) -> Prepared:
    """`screened`: screen(review_input, settings) when the caller has it already (redaction, the
    costly part on a hostile diff, then runs once per run)."""
    # Each text counted once for plan and render (the memo lives for this call only).
    estimator = MemoCounter(estimator)
    screened = screened or screen(review_input, settings)
    redacted, kept, filtered_out = screened.redacted, screened.kept, screened.filtered_out
    review_input = redacted.review_input
    files = review_input.diff.files
    # [review] context: each hunk's enclosing def or class from the (redacted) head file, priced by the plan.
    head = HeadContext(dict(review_input.head_files), (h for f in kept for h in f.hunks)) \
        if review_input.head_files else None
    options = PromptOptions(point_at_removals=settings.review.point_at_removals,
                            context=head if head else no_context)
    overhead = template_overhead(template, review_input.info, estimator, options)
    plan = make_plan(kept, settings, overhead, estimator, options.context)
    requests = render_requests(template, plan.batches, review_input.info, estimator, options)
    skipped = review_input.diff.skipped + review_input.skipped + filtered_out + plan.skipped
    hunks = sum(len(f.hunks) for f in files) + sum(1 for s in review_input.skipped if s.hunk is not None)
    return Prepared(requests=requests, skipped=skipped, files=len(files) + len(review_input.diff.skipped),
                    hunks=hunks, request_budget=plan.request_budget, overhead=overhead, options=options,
                    redacted=redacted)


def generation_params(settings: Settings, template: Template) -> GenerationParams:
    return GenerationParams(max_new_tokens=settings.model.max_new_tokens,
                            temperature=settings.model.temperature, top_p=settings.model.top_p,
                            stop=template.stop)


def fit_to_model(settings: Settings, backend: Backend | KnowsContext,
                 estimator: TokenEstimator) -> tuple[Settings, TokenEstimator]:
    """The settings and token counter for the model at hand, before anything is planned.

    The context window: what the model itself says (a GGUF's trained context, which the
    in-process backend never exceeds; what a server advertises when the settings name no
    window), capped by the settings. Token counts: the model's own vocabulary when the
    backend has it, unless the settings name a tokenizer file.
    """
    window = settings.model.context_window
    count_tokens = getattr(backend, "count_tokens", None)
    in_process = callable(count_tokens)
    if isinstance(backend, KnowsContext) and (window is None or in_process):
        limit = backend.context_limit()
        if limit:
            window = min(window or limit, limit)
    if window != settings.model.context_window:
        settings = replace(settings, model=replace(settings.model, context_window=window))
    if count_tokens is not None and in_process and not settings.model.tokenizer_file:
        estimator = CountingEstimator(count_tokens)
    return settings, estimator


def _part_budget(request: Request, refusal: InputTooLongError | None, settings: Settings,
                 overhead: TemplateCost) -> int:
    """Hunk tokens a part of a refused request may carry: half of it, or less when the server
    stated its limit and what it counted (in our estimate's units)."""
    budget = max(1, request.est_tokens // 2)
    if refusal is not None and refusal.limit:
        counted = refusal.prompt_tokens or request.est_tokens
        allowed = refusal.limit - settings.model.max_new_tokens - settings.budget.safety_margin_tokens
        in_our_units = int(allowed * request.est_tokens / max(counted, 1)) - overhead.base
        budget = max(1, min(budget, in_our_units))
    return budget


def run(review_input: ReviewInput, backend: Backend, settings: Settings, template: Template,
        estimator: TokenEstimator, on_event: Callable[[ModelEvent], None] | None = None,
        clock: Callable[[], float] = time.monotonic, deadline: float | None = None,
        screened: Screened | None = None) -> RunResult:
    """`deadline`: the time.monotonic() by which model requests must have ended (budget.max_minutes);
    `screened`: the input already redacted and filtered (see prepare)."""
    started = clock()
    check_mode(backend, template.mode, template.name)
    settings, estimator = fit_to_model(settings, backend, estimator)
    prepared = prepare(review_input, settings, template, estimator, screened)
    review_input = prepared.redacted.review_input  # resplit prompts must not see the originals

    def resplit(request: Request, refusal: InputTooLongError | None) -> Sequence[Request]:
        # The server said the prompt is too long: re-plan it once, smaller, and render the parts.
        budget = _part_budget(request, refusal, settings, prepared.overhead)
        batch = Batch(id=request.id, hunks=request.hunks, est_tokens=request.est_tokens)
        parts = split_batch(batch, estimator, budget, prepared.overhead, prepared.options.context)
        if len(parts) < 2:  # cannot be cut further: the client gives up on it
            return []
        return [render_request(template, part, review_input.info, estimator, prepared.options) for part in parts]

    outcome = run_requests(prepared.requests, backend, generation_params(settings, template), settings,
                           on_event=on_event, resplit=resplit, deadline=deadline)
    found = collect_findings(outcome.completions, template.parser, settings.review)
    findings = mark_secret_findings(found.findings, prepared.redacted.secret_lines)
    checks: list[ModelRunOutcome] = []
    confirmed = findings
    if settings.review.confirm_findings and findings:
        confirmed, check = _confirm(findings, outcome, backend, settings, template, estimator, on_event)
        checks += [check] if check else []
    kept, read = confirmed, 0
    if 0 < settings.review.keep_best < len(confirmed) and settings.review.rank_by == "surprise":
        kept, read = _most_surprising(confirmed, review_input, backend, estimator, settings.review.keep_best)
    elif 0 < settings.review.keep_best < len(confirmed):
        kept, check = _rank(confirmed, [outcome, *checks], backend, settings, template, estimator, on_event)
        checks += [check] if check else []
    findings = kept
    skipped = prepared.skipped + outcome.skipped
    reviewed = _count_reviewed(review_input, [r for r, _ in outcome.completions])
    extra = _sum_outcomes(checks)
    stats = RunStats(
        files=prepared.files, hunks=prepared.hunks, hunks_reviewed=reviewed,
        requests=outcome.requests_sent + extra.requests_sent, retries=outcome.retries + extra.retries,
        waited_s=outcome.waited_s + extra.waited_s, prompt_tokens=outcome.prompt_tokens + extra.prompt_tokens + read,
        completion_tokens=outcome.completion_tokens + extra.completion_tokens,
        elapsed_s=clock() - started, dropped_ungrounded=found.dropped_ungrounded,
        dropped_capped=found.dropped_capped,
        dropped_below_severity=found.dropped_below_severity, dropped_echo=found.dropped_echo,
        dropped_vacuous=found.dropped_vacuous,
        dropped_unconfirmed=len(found.findings) - len(confirmed), dropped_outranked=len(confirmed) - len(kept),
        secrets_redacted=prepared.redacted.count)
    return RunResult(findings=findings, skipped=skipped, stats=stats, source_info=review_input.info,
                     model=settings.model_label, template=template.name)


def _confirm(findings: tuple[Finding, ...], outcome: ModelRunOutcome, backend: Backend, settings: Settings,
             template: Template, estimator: TokenEstimator,
             on_event: Callable[[ModelEvent], None] | None) -> tuple[tuple[Finding, ...], ModelRunOutcome | None]:
    """[review] confirm_findings: one short yes/no request per finding, within what is left of
    max_requests; a finding the model answers no to is dropped (bot.findings.confirm)."""
    left = settings.budget.max_requests - outcome.requests_sent
    hunks = [h for request, _ in outcome.completions for h in request.hunks]  # what the model saw
    first_id = max((r.id for r, _ in outcome.completions), default=0) + 1
    asked = confirmation_requests(findings[:max(left, 0)], hunks, template.is_chat, estimator, first_id)
    if not asked:
        return findings, None
    budget = replace(settings, budget=replace(settings.budget, max_requests=len(asked)))
    checks = run_requests([r for _, r in asked], backend, CONFIRM_PARAMS, budget, on_event=on_event)
    answers = {request.id: completion for request, completion in checks.completions}
    denied = {f for f, r in asked if r.id in answers and denies(answers[r.id], settings.review.confirm_min_yes)}
    return tuple(f for f in findings if f not in denied), checks


def _rank(findings: tuple[Finding, ...], before: Sequence[ModelRunOutcome], backend: Backend, settings: Settings,
          template: Template, estimator: TokenEstimator,
          on_event: Callable[[ModelEvent], None] | None) -> tuple[tuple[Finding, ...], ModelRunOutcome | None]:
    """[review] keep_best: the model ranks the run's findings (bot.findings.rank); the best stay.
    Needs its two requests within what `before` (the review, the confirmations) left of max_requests;
    without them, or without both answers, nothing is dropped."""
    hunks = [h for request, _ in before[0].completions for h in request.hunks]  # what the review showed
    first_id = max((r.id for outcome in before for r, _ in outcome.completions), default=0) + 1
    listed = candidates(findings)
    asked = ranking_requests(listed, hunks, template.is_chat, estimator, first_id)
    if not asked or settings.budget.max_requests - sum(o.requests_sent for o in before) < len(asked):
        return findings, None
    budget = replace(settings, budget=replace(settings.budget, max_requests=len(asked)))
    checks = run_requests(asked, backend, RANK_PARAMS, budget, on_event=on_event)
    if len(checks.completions) < len(asked):  # a failed answer would score its order's places as nothing
        return findings, checks
    answers = [completion for _, completion in checks.completions]
    return best(findings, listed, answers, settings.review.keep_best), checks


def _most_surprising(findings: tuple[Finding, ...], review_input: ReviewInput, backend: Backend,
                     estimator: TokenEstimator, keep: int) -> tuple[tuple[Finding, ...], int]:
    """[review] keep_best with rank_by = "surprise": the findings on the code the model least
    expected stay (bot.findings.surprise); each hunk of the (redacted) input is read whole. Also
    the tokens the model read to score them: they are prompt tokens of the run (RunStats)."""
    if not scores_text(backend):
        raise ConfigError(f"[review] rank_by = 'surprise' needs the model's probabilities of a text's tokens, "
                          f"which api {backend.name!r} does not give; use api 'llama-cpp' or rank_by = 'list'")
    hunks = [hunk for file in review_input.diff.files for hunk in file.hunks]
    read = 0

    def surprisal(text: str) -> Sequence[tuple[int, float]]:
        nonlocal read
        read += estimator.count(text)
        scored: Sequence[tuple[int, float]] = backend.token_surprisal(text)  # type: ignore[attr-defined]
        return scored

    return most_surprising(findings, hunks, surprisal, keep), read


def _sum_outcomes(outcomes: Sequence[ModelRunOutcome]) -> ModelRunOutcome:
    """The cost of the extra requests (confirmation, ranking), summed for RunStats."""
    return ModelRunOutcome((), (), sum(o.requests_sent for o in outcomes), sum(o.retries for o in outcomes),
                           sum(o.waited_s for o in outcomes), sum(o.prompt_tokens for o in outcomes),
                           sum(o.completion_tokens for o in outcomes))


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
