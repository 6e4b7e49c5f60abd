"""One row of `review-bot eval`: a template run over every case with the model, scored; and the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from bot.backends.base import Backend, GenerationParams, Prompt
from bot.config import Settings
from bot.errors import InputError, ModelError
from bot.eval.cases import WINDOW, Case, CaseResult, Row, every_changed_line_reviewer, finding_spot, score
from bot.logsafe import one_line
from bot.plan.tokens import TokenEstimator
from bot.progress import Progress
from bot.sources import ReviewInput
from bot.types import Completion, Request, SourceInfo

UNPACED = 1e9  # requests a minute: the pace of a re-scoring run (--cache-only), which sends nothing
GIVE_UP_AFTER = 5  # failures in a row, before any success, that stop a template's run


def model_row(template_name: str, cases: Sequence[Case], settings: Settings, env: Mapping[str, str],
              progress: Progress, cache: str | None = None, cache_only: bool = False) -> Row:
    from bot.backends import make_backend
    from bot.backends.cache import CachingBackend
    from bot.pipeline import fit_to_model, prepare, run, screen
    from bot.run import load_stages

    if cache_only:  # nothing is sent, so there is no pace to keep: stored answers are read at once
        settings = replace(settings, budget=replace(settings.budget, requests_per_minute=UNPACED))
    template, estimator = load_stages(settings)
    plain = make_backend(settings, env)
    cached = (CachingBackend(plain, cache, f"{settings.model.api}:{settings.model_label}", read_only=cache_only)
              if cache else None)
    backend = Recorder(cached or plain)
    on_event = progress.model_event if progress.verbosity >= 1 else None
    results: list[CaseResult] = []
    failures_in_a_row, succeeded = 0, False
    for number, case in enumerate(cases, 1):
        if failures_in_a_row >= GIVE_UP_AFTER and not succeeded:
            results.append(CaseResult(case.name, error=f"not run: the first {GIVE_UP_AFTER} cases failed",
                                      fix_subject=case.fix_subject))
            continue
        # No title: the fix's subject names the bug, and the change under review is its reverse.
        # Head files only matter with [review] context = "function" (bot.pipeline.screen drops them otherwise).
        review_input = ReviewInput(info=SourceInfo(kind="diff"), diff=case.diff, head_files=case.head_files)
        model_seconds = cached.model_seconds if cached is not None else 0.0
        try:
            fitted, counter = fit_to_model(settings, backend, estimator)
            # Redacted and filtered once: the plan read here is the one run() makes from it.
            screened = screen(review_input, fitted)
            planned = prepare(review_input, fitted, template, counter, screened).requests
            backend.answers.clear()
            backend.scored.clear()
            result = run(review_input, backend, settings, template, estimator, on_event=on_event, screened=screened)
        except (ModelError, InputError) as err:
            failures_in_a_row += 1
            results.append(CaseResult(case.name, error=one_line(err, limit=300), fix_subject=case.fix_subject))
            progress.info(f"eval {template_name} {number}/{len(cases)} {case.name}: failed ({err})")
            continue
        failures_in_a_row, succeeded = 0, True
        spots = [finding_spot(f, case.diff) for f in result.findings]
        dropped = dropped_answers(planned, backend.answers, template.parser)
        counts = {k: v for k, v in result.stats.to_json().items() if k.startswith("dropped_") and v}
        unparsed = sum(1 for d in dropped if d["reason"] == "unparsed")
        if unparsed:
            counts["dropped_unparsed"] = unparsed  # answers with words but no location: the run counts none
        # Answers to prompts the plan did not hold (confirmations, re-split parts) cost too.
        planned_prompts = {r.messages or r.prompt for r in planned}
        extra = [(p, c) for p, c in backend.answers if (p if isinstance(p, str) else tuple(p)) not in planned_prompts]
        prompt_tokens = (sum(r.est_tokens for r in planned) + sum(_tokens(p, c, counter) for p, c in extra)
                         + sum(counter.count(text) for text in backend.scored))
        outcome = score(case, spots, prompt_tokens=prompt_tokens,
                        completion_tokens=result.stats.completion_tokens, requests=len(planned) + len(extra),
                        dropped=tuple(dropped), drop_counts=tuple(sorted(counts.items())),
                        seconds=(cached.model_seconds - model_seconds if cached is not None
                                 else result.stats.elapsed_s),
                        partial=any(s.reason == "model_error" for s in result.skipped),
                        said=tuple({"path": f.path, "line": f.line, "side": f.side, "severity": f.severity,
                                    "message": f.message} for f in result.findings))
        results.append(outcome)
        progress.info(f"eval {template_name} {number}/{len(cases)} {case.name}: {len(spots)} findings, "
                      f"{'hit' if outcome.hit else 'miss'}")
    return Row(f"template {template_name}", "model", tuple(results))


def _tokens(prompt: Prompt, completion: Completion, counter: TokenEstimator) -> int:
    """A prompt's tokens as the model counted them, else as the planner counts them."""
    if completion.prompt_tokens is not None:
        return completion.prompt_tokens
    return counter.count(prompt if isinstance(prompt, str) else "".join(m.content for m in prompt))


class Recorder:
    """The eval's backend: passes every request on and keeps each answer with what was sent,
    so the eval can show what the parser dropped (the pipeline only counts it)."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = inner.name
        self.modes = getattr(inner, "modes", frozenset({"completion"}))
        self.answers: list[tuple[Prompt, Completion]] = []
        self.scored: list[str] = []

    def context_limit(self) -> int | None:
        limit = getattr(self.inner, "context_limit", None)
        return limit() if callable(limit) else None

    def __getattr__(self, name: str) -> Any:
        if name in ("count_tokens", "close", "model_seconds", "endpoint", "scores_text"):
            return getattr(self.inner, name)
        raise AttributeError(name)

    def complete(self, prompt: Prompt, params: GenerationParams, **options: Any) -> Completion:
        completion = self.inner.complete(prompt, params, **options)
        self.answers.append((prompt, completion))
        return completion

    def token_surprisal(self, text: str) -> tuple[tuple[int, float], ...]:
        scored: tuple[tuple[int, float], ...] = self.inner.token_surprisal(text)  # type: ignore[attr-defined]
        self.scored.append(text)  # read by the model, answered by no text: prompt tokens all the same
        return scored


_NOTHING = ("no findings", "no issues", "no bugs", "nothing to report")


def dropped_answers(requests: Sequence[Request], answers: Sequence[tuple[Prompt, Completion]],
                    parser: str) -> list[dict[str, str]]:
    """What the model said that became no finding: answers with text but no location the parser
    reads ("unparsed"), and locations off the request's diff ("ungrounded"), each with its text."""
    from bot.findings.grounding import ground, parse_completion

    by_prompt: dict[object, Request] = {(r.messages or r.prompt): r for r in requests}
    known = [(by_prompt.get(prompt if isinstance(prompt, str) else tuple(prompt)), completion)
             for prompt, completion in answers]
    out: list[dict[str, str]] = []
    # In plan order: with concurrent requests the answers arrive in any order, and a report of
    # the same stored answers must read the same.
    for request, completion in sorted(((r, c) for r, c in known if r is not None), key=lambda rc: rc[0].id):
        text = completion.text.strip()
        if not text:
            continue
        raws = parse_completion(completion.text, parser, request)
        if not raws and not any(text.lower().startswith(n) for n in _NOTHING):
            out.append({"reason": "unparsed", "text": one_line(text, limit=400)})
        for raw in raws:
            if ground(raw, request) is None:
                out.append({"reason": "ungrounded", "text": one_line(f"{raw.path}:{raw.line}: {raw.message}",
                                                                     limit=400)})
    return out


def row_json(row: Row, cases: Sequence[Case]) -> dict[str, Any]:
    """A row of the report, with the precision of a finding on every changed line of the cases it
    reviewed beside it (bench/eval/pr_agent/score.py makes its rows with this too)."""
    by_name = {case.name: case for case in cases}
    data = row.to_json()
    done = [by_name[r.case] for r in row.results if r.error is None and r.case in by_name]
    every = [score(c, every_changed_line_reviewer(c)) for c in done]
    findings = sum(len(r.spots) for r in every)
    data["every_line_precision"] = round(sum(r.matched for r in every) / findings, 4) if findings else None
    return data


def build_report(eval_set: str, cases: Sequence[Case], rows: Sequence[Row], settings: Settings) -> dict[str, Any]:
    out = [row_json(row, cases) for row in rows]
    return {"version": 1, "set": eval_set, "cases": len(cases), "window": WINDOW, "model": settings.model_label,
            "api": settings.model.api, "endpoint": settings.endpoint_url,
            "min_severity": settings.review.min_severity, "rows": out}
