"""The review body and job summary (summary.md.j2): counts, skipped parts, budget used.

Every path and message is escaped here, before the template sees it, so a repository's
own summary template can't print untrusted text raw either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.config import Settings
from bot.findings.sanitize import md_code, md_text
from bot.prompts.templates import Template, find_template, make_environment
from bot.types import Finding, RunResult, Skipped

SUMMARY_TEMPLATE = "summary.md"
_SUMMARY_ITEMS = 20  # paths listed per skip reason
_SUMMARY_OVERFLOW = 30  # findings listed that could not be inline comments


def _skipped_groups(skipped: Sequence[Skipped]) -> list[dict[str, Any]]:
    by_reason: dict[str, dict[str, int]] = {}
    for item in skipped:
        paths = by_reason.setdefault(item.reason, {})
        paths[item.path] = paths.get(item.path, 0) + (1 if item.hunk is not None else 0)
    groups = []
    for reason, paths in by_reason.items():
        shown = [md_code(path) + (f" ({hunks} hunk{'s' if hunks > 1 else ''})" if hunks else "")
                 for path, hunks in list(paths.items())[:_SUMMARY_ITEMS]]
        groups.append({"reason": md_text(reason), "count": sum(max(h, 1) for h in paths.values()),
                       "paths": shown, "more": max(len(paths) - _SUMMARY_ITEMS, 0)})
    return groups


def render_summary(result: RunResult, settings: Settings, overflow: Sequence[Finding] = ()) -> str:
    """The review body / job summary (summary.md.j2): counts, what was skipped, budget used.

    Every path and message is escaped here, before the template sees it, so a repository's
    own summary template can't print untrusted text raw either.
    """
    counts = {severity: 0 for severity in ("error", "warning", "info")}
    for finding in result.findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    stats = result.stats
    context = {
        "total": len(result.findings),
        "counts": [{"severity": s, "count": n} for s, n in counts.items()],
        "files": stats.files, "hunks": stats.hunks, "hunks_reviewed": stats.hunks_reviewed,
        "model": md_code(result.model or settings.model.model),
        "template": md_code(result.template or settings.review.template or ""),
        "skipped": _skipped_groups(result.skipped),
        "budget": {"requests": stats.requests, "max_requests": settings.budget.max_requests,
                   "prompt_tokens": f"{stats.prompt_tokens:,}",
                   "completion_tokens": f"{stats.completion_tokens:,}",
                   "retries": stats.retries, "waited_s": f"{stats.waited_s:.1f}"},
        "dropped_ungrounded": stats.dropped_ungrounded, "dropped_capped": stats.dropped_capped,
        "overflow": [{"location": md_code(f"{f.path}:{f.line}"), "severity": f.severity,
                      "message": md_text(f.message)} for f in overflow[:_SUMMARY_OVERFLOW]],
        "overflow_more": max(len(overflow) - _SUMMARY_OVERFLOW, 0),
    }
    env = make_environment(settings.review.prompts_dir)
    jinja, _, origin = find_template(env, SUMMARY_TEMPLATE, settings.review.prompts_dir)
    return Template(name=SUMMARY_TEMPLATE, parser="", stop=(), origin=origin, jinja=jinja).render(**context)
