"""`review-bot eval --set DIR`: review quality on a labelled set of bug-introducing changes.

Each case folder holds `pr.diff` (a change that introduces a bug: a fix, reversed) and
`labels.json` (`{"fix_subject", "labels": [{"path", "line", "kind"}]}`). Both label kinds are
new-file (RIGHT) positions: `added` is a line the change adds, `removed-before` the new line
before which the change removed lines (the fix's own lines). A finding on a deleted line
(LEFT) is placed the same way, at the new line its deleted line sat before.

A finding matches a label in the same file within +-WINDOW lines (a range finding: within
WINDOW of its range). Per reviewer: recall = cases with at least one matching finding /
cases reviewed; precision = matching findings / all findings; findings, estimated prompt
tokens, reported completion tokens and seconds per case. Two reviewers without a model read
the numbers against chance: one finding per case on a random commentable RIGHT line (seeded
per case), and a finding on every changed line. The `chance` column is the expected recall of
a reviewer placing the same number of findings per case on uniformly random RIGHT lines.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.config import Settings, parse_toml
from bot.errors import InputError, ModelError
from bot.eval_report import render_markdown
from bot.logsafe import one_line
from bot.progress import Progress
from bot.sources import ReviewInput
from bot.types import Finding, Hunk, ParsedDiff, SourceInfo

WINDOW = 3
TEMPLATES = ("review", "review-instruct", "starcoder2-pr", "review-chat")
LABEL_KINDS = ("added", "removed-before")
RANDOM_SEED = 0
GIVE_UP_AFTER = 5  # failures in a row, before any success, that stop a template's run

Spot = tuple[str, int, int]  # (path, first new line, last new line)


@dataclass(frozen=True)
class Label:
    path: str
    line: int
    kind: str


@dataclass(frozen=True)
class Case:
    name: str
    diff: ParsedDiff
    labels: tuple[Label, ...]  # distinct
    fix_subject: str


@dataclass(frozen=True)
class CaseResult:
    case: str
    spots: tuple[Spot, ...] = ()
    matched: int = 0  # findings within WINDOW of a label
    exact: int = 0  # findings on a labelled line itself
    chance: float = 0.0  # expected hit for as many random findings
    prompt_tokens: int = 0  # estimated, whatever the server reports
    completion_tokens: int = 0  # as the server reported (0 when it does not say)
    seconds: float = 0.0
    error: str | None = None  # the case failed
    partial: bool = False  # some of its requests failed
    said: tuple[dict[str, Any], ...] = ()  # the model's findings, for reading against the fix's subject
    fix_subject: str = ""

    @property
    def hit(self) -> bool:
        return self.matched > 0


@dataclass(frozen=True)
class Row:
    name: str
    kind: str  # "model" or "reference"
    results: tuple[CaseResult, ...]

    def to_json(self) -> dict[str, Any]:
        done = [r for r in self.results if r.error is None]
        findings = sum(len(r.spots) for r in done)

        def per_case(total: float) -> float | None:
            return round(total / len(done), 4) if done else None

        return {
            "name": self.name, "kind": self.kind, "cases": len(self.results),
            "failed": len(self.results) - len(done), "partial": sum(1 for r in done if r.partial),
            "recall": per_case(sum(1 for r in done if r.hit)),
            "exact_recall": per_case(sum(1 for r in done if r.exact)),
            "chance_recall": per_case(sum(r.chance for r in done)),
            "precision": round(sum(r.matched for r in done) / findings, 4) if findings else None,
            "findings_per_case": per_case(findings),
            "prompt_tokens_per_case": per_case(sum(r.prompt_tokens for r in done)) if self.kind == "model" else None,
            "completion_tokens_per_case": (per_case(sum(r.completion_tokens for r in done))
                                           if self.kind == "model" else None),
            "seconds_per_case": per_case(sum(r.seconds for r in done)) if self.kind == "model" else None,
            "failures": [{"case": r.case, "error": r.error} for r in self.results if r.error is not None],
            "per_case": [{"case": r.case, "fix_subject": r.fix_subject, "findings": len(r.spots),
                          "matched": r.matched, "hit": r.hit, "error": r.error, "said": list(r.said)}
                         for r in self.results],
        }


# ---------------------------------------------------------------- the labelled set

def with_haystack(cases: Sequence[Case], corpus_dir: str, hunks: int | None) -> list[Case]:
    """Each case inside unrelated hunks of the corpus (see bot.eval_haystack)."""
    from bot.eval_haystack import DEFAULT_HAYSTACK_HUNKS, haystack_diff, load_pool

    count = DEFAULT_HAYSTACK_HUNKS if hunks is None else hunks
    if count < 0:
        raise InputError(f"--haystack-hunks {count}: give 0 or more")
    pool = load_pool(corpus_dir)
    return [replace(case, diff=haystack_diff(case.name, case.diff, pool, count)) for case in cases]


def load_cases(folder: str | Path, limit: int | None = None, skip: int = 0) -> list[Case]:
    from bot.diff import parse_diff

    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"--set {folder}: no such folder; pass a folder of cases (each with pr.diff and "
                         "labels.json)")
    dirs = sorted(p for p in root.iterdir() if (p / "pr.diff").is_file() and (p / "labels.json").is_file())
    if not dirs:
        raise InputError(f"--set {folder}: no case folders with pr.diff and labels.json in it")
    if limit is not None:
        if limit < 1:
            raise InputError(f"--limit {limit}: give at least 1")
        dirs = dirs[:limit] if not skip else dirs[skip:skip + limit]
    elif skip:
        dirs = dirs[skip:]
    return [Case(d.name, parse_diff(_read(d / "pr.diff").encode()), *_labels(d)) for d in dirs]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None


def _labels(folder: Path) -> tuple[tuple[Label, ...], str]:
    where = folder / "labels.json"
    try:
        data = json.loads(_read(where))
        raw = data["labels"]
        labels = tuple(dict.fromkeys(Label(str(x["path"]), int(x["line"]), str(x["kind"])) for x in raw))
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{where}: expected {{\"labels\": [{{\"path\", \"line\", \"kind\"}}]}} "
                         f"({type(err).__name__}); fix the file or leave the case out") from None
    unknown = sorted({label.kind for label in labels} - set(LABEL_KINDS))
    if unknown:
        raise InputError(f"{where}: unknown label kind {unknown[0]!r}; expected one of {', '.join(LABEL_KINDS)}")
    return labels, str(data.get("fix_subject", ""))


# ---------------------------------------------------------------- scoring

def new_position(hunks: Sequence[Hunk], line: int, side: str) -> int:
    """A finding's line as a new-file position: LEFT lines sit before the next new line."""
    if side == "RIGHT":
        return line
    for hunk in hunks:
        for index, ln in enumerate(hunk.lines):
            if ln.old_no == line and ln.kind != "+":
                if ln.new_no is not None:
                    return ln.new_no
                later = (x.new_no for x in hunk.lines[index + 1:] if x.new_no is not None)
                return next(later, hunk.new_start + hunk.new_len)
    return line


def finding_spot(finding: Finding, diff: ParsedDiff) -> Spot:
    hunks = [h for f in diff.files if f.path == finding.path for h in f.hunks]
    last = new_position(hunks, finding.line, finding.side)
    first = new_position(hunks, finding.start_line, finding.side) if finding.start_line is not None else last
    return finding.path, min(first, last), max(first, last)


def near(spot: Spot, label: Label) -> bool:
    path, first, last = spot
    return path == label.path and first - WINDOW <= label.line <= last + WINDOW


def right_lines(diff: ParsedDiff) -> list[tuple[str, int]]:
    """Every commentable RIGHT line of the diff: where a random reviewer may comment."""
    return [(f.path, n) for f in diff.files for h in f.hunks for n in sorted(h.commentable("RIGHT"))]


def chance_of_hit(case: Case, k: int) -> float:
    """P(at least one of k distinct random RIGHT lines lies near a label) = 1 - C(M-H, k) / C(M, k)."""
    lines = right_lines(case.diff)
    m = len(lines)
    h = sum(1 for path, n in lines if any(near((path, n, n), label) for label in case.labels))
    if k <= 0 or m == 0:
        return 0.0
    miss = 1.0
    for j in range(min(k, m)):
        miss *= max(m - h - j, 0) / (m - j)
    return 1.0 - miss


def on_label(spot: Spot, label: Label) -> bool:
    path, first, last = spot
    return path == label.path and first <= label.line <= last


def score(case: Case, spots: Sequence[Spot], **extra: Any) -> CaseResult:
    matched = sum(1 for spot in spots if any(near(spot, label) for label in case.labels))
    exact = sum(1 for spot in spots if any(on_label(spot, label) for label in case.labels))
    return CaseResult(case=case.name, spots=tuple(spots), matched=matched, exact=exact,
                      chance=chance_of_hit(case, len(set(spots))), fix_subject=case.fix_subject, **extra)


# ---------------------------------------------------------------- reviewers without a model

def random_line_reviewer(case: Case, seed: int = RANDOM_SEED) -> list[Spot]:
    """One finding on a random commentable RIGHT line; the draw depends only on seed and case."""
    lines = right_lines(case.diff)
    if not lines:
        return []
    path, line = random.Random(f"{seed}:{case.name}").choice(lines)
    return [(path, line, line)]


def every_changed_line_reviewer(case: Case) -> list[Spot]:
    """A finding on every added line and on every deleted line (placed as a LEFT finding would be)."""
    spots: list[Spot] = []
    for file in case.diff.files:
        for hunk in file.hunks:
            for ln in hunk.lines:
                if ln.kind == "+" and ln.new_no is not None:
                    spots.append((file.path, ln.new_no, ln.new_no))
                elif ln.kind == "-" and ln.old_no is not None:
                    n = new_position([hunk], ln.old_no, "LEFT")
                    spots.append((file.path, n, n))
    return spots


def reference_rows(cases: Sequence[Case]) -> list[Row]:
    return [Row(f"random line (1 per case, seed {RANDOM_SEED})", "reference",
                tuple(score(c, random_line_reviewer(c)) for c in cases)),
            Row("every changed line", "reference", tuple(score(c, every_changed_line_reviewer(c)) for c in cases))]


# ---------------------------------------------------------------- reviewers with a model

def eval_settings(args: argparse.Namespace, env: Mapping[str, str], template: str) -> Settings:
    """The user's settings for one template; min_severity info unless a flag or the config sets it."""
    from bot.cli import settings_from_args

    settings = settings_from_args(argparse.Namespace(**{**vars(args), "template": template}), env)
    if args.min_severity is None and not _config_sets_severity(settings):
        settings = replace(settings, review=replace(settings.review, min_severity="info"))
    return settings


def _config_sets_severity(settings: Settings) -> bool:
    if not settings.config_path:
        return False
    try:
        text = Path(settings.config_path).read_text(encoding="utf-8")
    except OSError:
        return False
    review = parse_toml(text, settings.config_path).get("review", {})
    return isinstance(review, dict) and "min_severity" in review


def model_row(template_name: str, cases: Sequence[Case], settings: Settings, env: Mapping[str, str],
              progress: Progress, cache: str | None = None, cache_only: bool = False) -> Row:
    from bot.backends import make_backend
    from bot.backends.base import Backend
    from bot.backends.cache import CachingBackend
    from bot.commands import load_stages
    from bot.pipeline import fit_to_model, prepare, run

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
            results.append(CaseResult(case.name, error=one_line(str(err)), fix_subject=case.fix_subject))
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


# ---------------------------------------------------------------- output

def build_report(eval_set: str, cases: Sequence[Case], rows: Sequence[Row], settings: Settings) -> dict[str, Any]:
    return {"version": 1, "set": eval_set, "cases": len(cases), "window": WINDOW, "model": settings.model_label,
            "api": settings.model.api, "endpoint": settings.endpoint_url,
            "min_severity": settings.review.min_severity, "rows": [row.to_json() for row in rows]}


def eval_command(args: argparse.Namespace, env: Mapping[str, str], progress: Progress) -> int:
    from bot.cli import dump_json, write_output

    names = _template_names(args, env)
    cases = load_cases(args.eval_set, args.limit, skip=args.skip)
    if args.haystack:
        cases = with_haystack(cases, args.haystack, args.haystack_hunks)
    settings_for: dict[str, Settings] = {name: eval_settings(args, env, name) for name in names}
    first = settings_for[names[0]]
    if first.output.format not in ("text", "markdown", "json"):
        raise InputError(f"--format {first.output.format}: eval writes text, markdown or json")
    where = "" if first.model.api == "llama-cpp" else f" at {first.endpoint_url}"
    mixed = f", each inside unrelated hunks of {args.haystack}" if args.haystack else ""
    progress.info(f"eval: {len(cases)} cases from {args.eval_set}, templates {', '.join(names)}, "
                  f"model {first.model_label}{where}{mixed}")
    if args.cache_only and not args.cache:
        raise InputError("--cache-only needs --cache DIR: the folder of stored answers to score")
    rows = [model_row(name, cases, settings_for[name], env, progress, args.cache, args.cache_only) for name in names]
    rows += reference_rows(cases)
    report = build_report(str(args.eval_set), cases, rows, first)
    write_output(dump_json(report) if first.output.format == "json" else render_markdown(report), first)
    return 0


def _template_names(args: argparse.Namespace, env: Mapping[str, str]) -> list[str]:
    if args.templates:
        names = list(dict.fromkeys(n.strip() for n in args.templates.split(",") if n.strip()))
        if not names:
            raise InputError("--templates: give at least one template name, e.g. review,starcoder2-pr")
        return names
    if getattr(args, "template", None):
        return [args.template]
    # By default every packaged template the chosen api can send: chat ones need a chat api.
    from bot.backends import API_MODES
    from bot.prompts import load_template

    modes = API_MODES.get(eval_settings(args, env, TEMPLATES[0]).model.api, frozenset())
    return [name for name in TEMPLATES if load_template(name, None).mode in modes]


__all__ = ["Case", "CaseResult", "Label", "Row", "TEMPLATES", "WINDOW", "chance_of_hit", "eval_command",
           "every_changed_line_reviewer", "finding_spot", "load_cases", "new_position", "random_line_reviewer",
           "reference_rows", "score"]
