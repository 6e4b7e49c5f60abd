"""One row of `review-bot eval`: a template run over every case with the model, scored; and the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.config import Settings
from bot.errors import InputError, ModelError
from bot.eval.cases import WINDOW, Case, CaseResult, Row, finding_spot, score
from bot.logsafe import one_line
from bot.progress import Progress
from bot.sources import ReviewInput
from bot.types import SourceInfo

GIVE_UP_AFTER = 5  # failures in a row, before any success, that stop a template's run


def model_row(template_name: str, cases: Sequence[Case], settings: Settings, env: Mapping[str, str],
              progress: Progress, cache: str | None = None, cache_only: bool = False) -> Row:
    from bot.backends import make_backend
    from bot.backends.base import Backend
    from bot.backends.cache import CachingBackend
    from bot.pipeline import fit_to_model, prepare, run
    from bot.run import load_stages

    template, estimator = load_stages(settings)
    plain = make_backend(settings, env)
    cached = (CachingBackend(plain, cache, f"{settings.model.api}:{settings.model_label}", read_only=cache_only)
              if cache else None)
    backend: Backend = cached or plain
    on_event = progress.model_event if progress.verbosity >= 1 else None
    results: list[CaseResult] = []
    failures_in_a_row, succeeded = 0, False
    for number, case in enumerate(cases, 1):
        if failures_in_a_row >= GIVE_UP_AFTER and not succeeded:
            results.append(CaseResult(case.name, error=f"not run: the first {GIVE_UP_AFTER} cases failed",
                                      fix_subject=case.fix_subject))
            continue
        # No title: the fix's subject names the bug, and the change under review is its reverse.
        review_input = ReviewInput(info=SourceInfo(kind="diff"), diff=case.diff)
        model_seconds = cached.model_seconds if cached is not None else 0.0
        try:
            fitted, counter = fit_to_model(settings, backend, estimator)
            estimated = sum(r.est_tokens for r in prepare(review_input, fitted, template, counter).requests)
            result = run(review_input, backend, settings, template, estimator, on_event=on_event)
        except (ModelError, InputError) as err:
            failures_in_a_row += 1
            results.append(CaseResult(case.name, error=one_line(err, limit=300), fix_subject=case.fix_subject))
            progress.info(f"eval {template_name} {number}/{len(cases)} {case.name}: failed ({err})")
            continue
        failures_in_a_row, succeeded = 0, True
        spots = [finding_spot(f, case.diff) for f in result.findings]
        outcome = score(case, spots, prompt_tokens=estimated, completion_tokens=result.stats.completion_tokens,
                        seconds=(cached.model_seconds - model_seconds if cached is not None
                                 else result.stats.elapsed_s),
                        partial=any(s.reason == "model_error" for s in result.skipped),
                        said=tuple({"path": f.path, "line": f.line, "side": f.side, "severity": f.severity,
                                    "message": f.message} for f in result.findings))
        results.append(outcome)
        progress.info(f"eval {template_name} {number}/{len(cases)} {case.name}: {len(spots)} findings, "
                      f"{'hit' if outcome.hit else 'miss'}")
    return Row(f"template {template_name}", "model", tuple(results))


def build_report(eval_set: str, cases: Sequence[Case], rows: Sequence[Row], settings: Settings) -> dict[str, Any]:
    return {"version": 1, "set": eval_set, "cases": len(cases), "window": WINDOW, "model": settings.model_label,
            "api": settings.model.api, "endpoint": settings.endpoint_url,
            "min_severity": settings.review.min_severity, "rows": [row.to_json() for row in rows]}
