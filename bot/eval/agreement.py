"""The eval's "agreement of two samples" reviewer (`review-bot eval --agree-with CONFIG`).

Its findings are those of the first run (the template under --config) that a second,
independent sample of the same cases also reports (the same template under CONFIG: the same
model read the same change in other requests): the same file, within AGREEMENT_WINDOW lines
(bot.findings.agreement). Both runs are scored rows of their own; this row is made from their
per-case results only, so data flows one way: runs -> rows -> agreement row -> report.

It costs both runs: requests, prompt and completion tokens and seconds per case are the sums of
the two. Its answers dropped are the first run's, plus each of its findings the second sample
did not agree with (`unagreed`, with its text); the second sample's own drops are in its row.
A case fails when it failed in either run.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.eval.cases import Case, CaseResult, Row, score
from bot.findings.agreement import agreement

UNAGREED = "unagreed"


def agreement_row(name: str, first: Row, second: Row, cases: Sequence[Case]) -> Row:
    """The first row's findings that the second row's sample agrees with, scored per case."""
    by_name = {result.case: result for result in second.results}
    mine = {result.case: result for result in first.results}
    results = tuple(_agreed(case, mine.get(case.name), by_name.get(case.name)) for case in cases)
    return Row(name, "model", results, combines=(first.name, second.name))


def _agreed(case: Case, first: CaseResult | None, second: CaseResult | None) -> CaseResult:
    if first is None or first.error is not None:
        return CaseResult(case.name, error=first.error if first else "not in the first run",
                          fix_subject=case.fix_subject)
    if second is None or second.error is not None:
        return CaseResult(case.name, error=f"second sample: {second.error if second else 'not run'}",
                          fix_subject=case.fix_subject)
    keep = agreement(first.spots, second.spots)
    # spots and said are in the same order: one entry per finding of the run (bot.eval.run).
    kept_said = tuple(said for said, ok in zip(first.said, keep, strict=True) if ok)
    unagreed = tuple({"reason": UNAGREED, "text": f"{said['path']}:{said['line']}: {said['message']}"}
                     for said, ok in zip(first.said, keep, strict=True) if not ok)
    counts = dict(first.drop_counts)
    if unagreed:
        counts[f"dropped_{UNAGREED}"] = len(unagreed)
    return score(case, [spot for spot, ok in zip(first.spots, keep, strict=True) if ok],
                 prompt_tokens=first.prompt_tokens + second.prompt_tokens,
                 completion_tokens=first.completion_tokens + second.completion_tokens,
                 requests=first.requests + second.requests, seconds=first.seconds + second.seconds,
                 partial=first.partial or second.partial, said=kept_said,
                 dropped=first.dropped + unagreed, drop_counts=tuple(sorted(counts.items())))


__all__ = ["UNAGREED", "agreement_row"]
