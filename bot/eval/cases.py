"""The cases of `review-bot eval --set DIR` and their scores: review quality on a labelled set
of bug-introducing changes.

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

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.errors import InputError
from bot.types import Finding, Hunk, ParsedDiff

WINDOW = 3
TEMPLATES = ("review", "review-instruct", "starcoder2-pr", "review-chat")
LABEL_KINDS = ("added", "removed-before")
RANDOM_SEED = 0

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
    # (path, text at the head) of the changed files, from the case's head.json.gz when it has one
    # ([review] context = "function" reads them; with a haystack, the decoys' too)
    head_files: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CaseResult:
    case: str
    spots: tuple[Spot, ...] = ()
    matched: int = 0  # findings within WINDOW of a label
    exact: int = 0  # findings on a labelled line itself
    chance: float = 0.0  # expected hit for as many random findings (ranges: of the same widths)
    same_file: float = 0.0  # expected hit for the same findings at random places in their own files
    prompt_tokens: int = 0  # estimated, whatever the server reports
    completion_tokens: int = 0  # as the server reported (0 when it does not say)
    seconds: float = 0.0
    error: str | None = None  # the case failed
    partial: bool = False  # some of its requests failed
    said: tuple[dict[str, Any], ...] = ()  # the model's findings, for reading against the fix's subject
    fix_subject: str = ""
    labels: tuple[tuple[str, int], ...] = ()  # (path, new line) the fix touched
    requests: int = 0  # model requests the case was planned into
    dropped: tuple[dict[str, Any], ...] = ()  # answers or findings the parser dropped: {"reason", "text"}
    drop_counts: tuple[tuple[str, int], ...] = ()  # (reason, count), the run's dropped_* counters

    @property
    def hit(self) -> bool:
        return self.matched > 0


@dataclass(frozen=True)
class Row:
    name: str
    kind: str  # "model" or "reference"
    results: tuple[CaseResult, ...]
    combines: tuple[str, ...] = ()  # the rows this one is made of (an agreement of two samples)

    def to_json(self) -> dict[str, Any]:
        done = [r for r in self.results if r.error is None]
        findings = sum(len(r.spots) for r in done)
        model = self.kind == "model"

        def per_case(total: float) -> float | None:
            return round(total / len(done), 4) if done else None

        dropped: dict[str, int] = {}
        for r in done:
            for reason, count in r.drop_counts:
                dropped[reason] = dropped.get(reason, 0) + count
        return {
            "name": self.name, "kind": self.kind, "combines": list(self.combines), "cases": len(self.results),
            "failed": len(self.results) - len(done), "partial": sum(1 for r in done if r.partial),
            "recall": per_case(sum(1 for r in done if r.hit)),
            "exact_recall": per_case(sum(1 for r in done if r.exact)),
            "chance_recall": per_case(sum(r.chance for r in done)),
            "same_file_recall": per_case(sum(r.same_file for r in done)),
            "precision": round(sum(r.matched for r in done) / findings, 4) if findings else None,
            "findings_per_case": per_case(findings),
            "requests_per_case": per_case(sum(r.requests for r in done)) if model else None,
            "prompt_tokens_per_case": per_case(sum(r.prompt_tokens for r in done)) if model else None,
            "completion_tokens_per_case": per_case(sum(r.completion_tokens for r in done)) if model else None,
            "seconds_per_case": per_case(sum(r.seconds for r in done)) if model else None,
            "dropped": dict(sorted(dropped.items())) if model else None,
            "failures": [{"case": r.case, "error": r.error} for r in self.results if r.error is not None],
            "per_case": [{"case": r.case, "fix_subject": r.fix_subject, "findings": len(r.spots),
                          "matched": r.matched, "hit": r.hit, "error": r.error,
                          "labels": [{"path": p, "line": n} for p, n in r.labels], "said": list(r.said),
                          "dropped": list(r.dropped)}
                         for r in self.results],
        }


# ---------------------------------------------------------------- the labelled set

def with_haystack(cases: Sequence[Case], corpus_dir: str, hunks: int | None = None,
                  files: int | None = None) -> list[Case]:
    """Each case inside unrelated decoys of the corpus (see bot.eval.haystack): `files` whole file
    diffs (the default), or `hunks` small hunks (the first haystack's, for its stored rows)."""
    from bot.eval.haystack import DEFAULT_HAYSTACK_FILES, haystack_diff, load_pool

    if hunks is not None and files is not None:
        raise InputError("--haystack-hunks and --haystack-files: give one of them")
    whole = hunks is None
    count = (DEFAULT_HAYSTACK_FILES if files is None else files) if whole else hunks
    assert count is not None
    if count < 0:
        raise InputError(f"--haystack-{'files' if whole else 'hunks'} {count}: give 0 or more")
    pool = load_pool(corpus_dir, whole_files=whole)
    origin = {id(file): name for name, file in pool}  # which corpus commit each decoy came from
    heads: dict[str, dict[str, str]] = {}
    out = []
    for case in cases:
        diff = haystack_diff(case.name, case.diff, pool, count, whole_files=whole)
        decoys = [(origin[id(f)], f.path) for f in diff.files if id(f) in origin]
        for name in {name for name, _ in decoys} - set(heads):
            heads[name] = dict(read_head_files(Path(corpus_dir) / name))
        extra = tuple((path, heads[name][path]) for name, path in decoys if path in heads[name])
        out.append(replace(case, diff=diff, head_files=case.head_files + extra))
    return out


HEAD_FILES = "head.json.gz"  # {"commit": SHA, "files": {path: text}}, gzip'd (scripts/build_shared_data.py)


def read_head_files(folder: Path) -> tuple[tuple[str, str], ...]:
    """The head texts a case or corpus folder stores (none when it has no head.json.gz)."""
    import gzip

    where = folder / HEAD_FILES
    if not where.is_file():
        return ()
    try:
        files = json.loads(gzip.decompress(where.read_bytes()).decode("utf-8"))["files"]
        return tuple((str(path), str(text)) for path, text in sorted(files.items()))
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise InputError(f"{where}: expected gzip'd JSON {{\"files\": {{path: text}}}} ({type(err).__name__}); "
                         "rebuild it with scripts/build_shared_data.py or delete it") from None


def load_cases(folder: str | Path, limit: int | None = None, skip: int = 0) -> list[Case]:
    from bot.diff.parse import parse_diff

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
    return [Case(d.name, parse_diff(_read(d / "pr.diff").encode()), *_labels(d), head_files=read_head_files(d))
            for d in dirs]


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


def _share_near(case: Case, starts: Sequence[tuple[str, int]], path: str | None, width: int) -> float:
    """Share of the start lines (of file `path`, or all) where a range of `width` lines lies near a label."""
    places = [(p, n) for p, n in starts if path is None or p == path]
    if not places:
        return 0.0
    hits = sum(1 for p, n in places if any(near((p, n, n + width - 1), label) for label in case.labels))
    return hits / len(places)


def chances(case: Case, spots: Sequence[Spot]) -> tuple[float, float]:
    """(random-line chance, same-file chance) of a reviewer giving these findings.

    Random-line: the same findings, each with its width, at random commentable RIGHT lines of
    the whole diff (one-line findings as k distinct lines, exactly; a range independently).
    Same-file: each finding kept in its own file with its width, at a random position there;
    a reviewer whose hits come from choosing the file, not the line, scores near it.
    """
    distinct = sorted(set(spots))
    starts = right_lines(case.diff)
    single = sum(1 for _, first, last in distinct if first == last)
    miss = 1.0 - chance_of_hit(case, single)
    same_miss = 1.0
    shares: dict[tuple[str | None, int], float] = {}  # many findings share a file and a width

    def share(path: str | None, width: int) -> float:
        if (path, width) not in shares:
            shares[path, width] = _share_near(case, starts, path, width)
        return shares[path, width]

    for path, first, last in distinct:
        width = last - first + 1
        if width > 1:
            miss *= 1.0 - share(None, width)
        same_miss *= 1.0 - share(path, width)
    return 1.0 - miss, (1.0 - same_miss) if distinct else 0.0


def on_label(spot: Spot, label: Label) -> bool:
    path, first, last = spot
    return path == label.path and first <= label.line <= last


def score(case: Case, spots: Sequence[Spot], **extra: Any) -> CaseResult:
    matched = sum(1 for spot in spots if any(near(spot, label) for label in case.labels))
    exact = sum(1 for spot in spots if any(on_label(spot, label) for label in case.labels))
    chance, same_file = chances(case, spots)
    return CaseResult(case=case.name, spots=tuple(spots), matched=matched, exact=exact, chance=chance,
                      same_file=same_file, fix_subject=case.fix_subject,
                      labels=tuple(sorted({(label.path, label.line) for label in case.labels})), **extra)


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


__all__ = ["Case", "CaseResult", "Label", "Row", "TEMPLATES", "WINDOW", "chance_of_hit", "every_changed_line_reviewer",
           "finding_spot", "load_cases", "new_position", "random_line_reviewer", "reference_rows", "score"]
