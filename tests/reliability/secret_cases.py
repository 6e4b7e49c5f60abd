"""Scoring the redactor on the labelled credential cases of `../shared/secrets/cases.jsonl`.

Each case is a few added lines of one file. A true positive counts as caught when no
8-character window of its secret (outside the `exempt` ranges: public structure such as PEM
markers) survives redaction; a false positive counts as flagged when redaction reports a
credential in it. The cases come from gitleaks' and detect-secrets' own rule tests: as
published (`asis`), or each secret placed in seven line shapes, five where a name says what
the value is and two where nothing does (a call argument, a Bearer header).

Issue 16's shapes come from tests/fixtures/secrets/issue16.jsonl: the same secrets split over
literals, joined by `+`, below their name, in a JavaScript concatenation, as a Docker registry
login in base64 (all counted as named), and as a file's name (a group of its own, `path`: the
redactor's output ends with the paths it shows), with negatives of those shapes.

A deterministic fifth of the secrets (by a hash of the value, so every shape of one secret
lands on the same side) is held out: patterns are tuned on the rest only, and both are reported.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.diff.parse import parse_diff
from bot.redact.scrub import redact_input
from bot.sources import ReviewInput
from bot.types import SourceInfo
from tests.conftest import JINJA_CASES, REPO_ROOT, SHARED

CASES_FILE = SHARED / "secrets" / "cases.jsonl"
# Issue 16's shapes (split values, a token in a file name, a registry login in base64), built from
# the shared secrets by tests/fixtures/secrets/build_issue16.py, scored with them.
SPLIT_CASES_FILE = REPO_ROOT / "tests" / "fixtures" / "secrets" / "issue16.jsonl"
NAMED_SHAPES = frozenset({"env_named", "py_named", "yaml_named", "json_named", "sh_api_hdr",
                          "py_split_named", "py_concat_named", "py_dict_below", "js_concat_lines", "k8s_registry"})
PATH_SHAPES = frozenset({"path"})  # a secret as a file's name: only a token's own shape can tell
BARE_SHAPES = frozenset({"py_bare_call", "py_bearer_hdr"})
WINDOW = 8
HELD_OUT_SHARE = 5  # one case in five (by hash) is held out
# The targets of issue 12: recall of named and bare secrets, and flagged gitleaks negatives.
MIN_NAMED = 0.98
MIN_BARE = 0.90
MAX_FP = 48
MIN_LINES_PER_S = 50_000

Redactor = Callable[[str, Sequence[str]], tuple[list[str], bool]]  # (path, lines) -> (lines out, flagged)


@dataclass(frozen=True)
class Case:
    src: str
    rule: str
    label: str
    ctx: str
    path: str
    lines: tuple[str, ...]
    secret: str | None
    exempt: tuple[tuple[int, int], ...]

    @property
    def held_out(self) -> bool:
        key = self.secret if self.secret is not None else "\n".join(self.lines)
        return hashlib.sha256(key.encode("utf-8")).digest()[0] % HELD_OUT_SHARE == 0

    @property
    def group(self) -> str:
        """named, bare, asis, path (true positives); fp (gitleaks' negatives as published) or fp-other."""
        if self.label == "fp":
            return "fp" if self.src == "gl" and self.ctx == "asis" else "fp-other"
        if self.ctx in PATH_SHAPES:
            return "path"
        return "named" if self.ctx in NAMED_SHAPES else "bare" if self.ctx in BARE_SHAPES else "asis"


def load_cases(path: Path = CASES_FILE, extra: Path | None = SPLIT_CASES_FILE) -> list[Case]:
    """The shared cases, then (by default) issue 16's shapes from tests/fixtures."""
    return _read_cases(path) + (_read_cases(extra) if extra is not None and extra.is_file() else [])


def _read_cases(path: Path) -> list[Case]:
    cases = []
    with path.open(encoding="utf-8") as handle:
        for raw in handle:
            item = json.loads(raw)
            cases.append(Case(src=item["src"], rule=item["rule"], label=item["label"], ctx=item["ctx"],
                              path=item["path"], lines=tuple(item["lines"]), secret=item.get("secret"),
                              exempt=tuple(tuple(r) for r in item.get("exempt") or ())))  # type: ignore[misc]
    return cases


def leaked(case: Case, out: Sequence[str]) -> bool:
    """Whether some 8-character window of the secret is still in `out`.

    Windows made only of public structure (the `exempt` ranges, such as PEM markers, and the
    line breaks between them and the body) are no part of the secret.
    """
    secret = case.secret or ""
    public = {i for a, b in case.exempt for i in range(a, b)} | {i for i, c in enumerate(secret) if c == "\n"}
    text = "\n".join(out)
    for i in range(len(secret) - WINDOW + 1):
        if all(j in public for j in range(i, i + WINDOW)):
            continue
        if secret[i:i + WINDOW] in text:
            return True
    return False


def diff_input(path: str, lines: Sequence[str]) -> ReviewInput:
    """A diff adding `lines` to `path` (a new file)."""
    body = "\n".join("+" + line for line in lines)
    text = f"diff --git a/{path} b/{path}\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{body}\n"
    return ReviewInput(info=SourceInfo(kind="diff"), diff=parse_diff(text))


def bot_redactor(path: str, lines: Sequence[str]) -> tuple[list[str], bool]:
    """The project's redactor on a one-hunk diff that adds `lines` to `path`; the paths it shows
    come last in its output (a secret in a file's name must not survive either)."""
    redacted = redact_input(diff_input(path, lines), enabled=True)
    files = redacted.review_input.diff.files
    out = [ln.text for f in files for h in f.hunks for ln in h.lines] + [f.path for f in files]
    return out, redacted.count > 0


@dataclass
class Score:
    caught: Counter[str] = field(default_factory=Counter)  # group -> caught (tp) or flagged (fp)
    total: Counter[str] = field(default_factory=Counter)
    unscored: int = 0  # true positives without a secret value to look for
    missed: list[Case] = field(default_factory=list)

    def rate(self, group: str) -> float:
        return self.caught[group] / self.total[group] if self.total[group] else 1.0

    def line(self, name: str) -> str:
        return (f"{name}: named {self.rate('named'):.1%} ({self.caught['named']}/{self.total['named']}), "
                f"bare {self.rate('bare'):.1%} ({self.caught['bare']}/{self.total['bare']}), "
                f"as published {self.rate('asis'):.1%} ({self.caught['asis']}/{self.total['asis']}), "
                f"file names {self.rate('path'):.1%} ({self.caught['path']}/{self.total['path']}), "
                f"fp {self.caught['fp']}/{self.total['fp']} (other negatives {self.caught['fp-other']}/"
                f"{self.total['fp-other']})")

    def meets(self) -> bool:
        return self.rate("named") >= MIN_NAMED and self.rate("bare") >= MIN_BARE


def score(cases: Iterable[Case], redactor: Redactor = bot_redactor) -> Score:
    result = Score()
    for case in cases:
        if case.label == "tp" and not case.secret:
            result.unscored += 1
            continue
        out, flagged = redactor(case.path, case.lines)
        group = case.group
        result.total[group] += 1
        if case.label == "tp":
            if leaked(case, out):
                result.missed.append(case)
            else:
                result.caught[group] += 1
        elif flagged:
            result.caught[group] += 1
            result.missed.append(case)
    return result


def split(cases: Sequence[Case]) -> tuple[list[Case], list[Case]]:
    """(tuned, held out)."""
    return [c for c in cases if not c.held_out], [c for c in cases if c.held_out]


def corpus_flagged() -> tuple[int, int]:
    """(credentials flagged, diff lines) over the jinja corpus: ordinary code with no credential in it."""
    flagged = lines = 0
    for case in JINJA_CASES:
        raw = (case / "pr.diff").read_bytes()
        redacted = redact_input(ReviewInput(info=SourceInfo(kind="diff"), diff=parse_diff(raw)), enabled=True)
        flagged += redacted.count
        lines += raw.count(b"\n")
    return flagged, lines


def throughput(repeat: int = 3) -> tuple[float, int]:
    """(diff lines parsed and redacted per CPU second, lines per pass) over the jinja corpus; best of `repeat`.

    Parsing is included, as in the issue's measure: it is what a run pays before the first prompt. CPU
    time, not wall time: the machines that run this share their cores, and waiting is not work.
    """
    raws = [(c / "pr.diff").read_bytes() for c in JINJA_CASES]
    lines = sum(raw.count(b"\n") for raw in raws)
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for raw in raws:
            redact_input(ReviewInput(info=SourceInfo(kind="diff"), diff=parse_diff(raw)), enabled=True)
        best = min(best, time.process_time() - started)
    return lines / best, lines
