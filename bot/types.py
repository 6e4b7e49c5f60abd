"""Frozen value types passed between the pipeline's stages.

Stages exchange only these; none of them holds a connection, a file or a setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeVar

LineKind = Literal["+", "-", " "]
Side = Literal["LEFT", "RIGHT"]
Severity = Literal["error", "warning", "info"]
FileStatus = Literal["added", "modified", "removed", "renamed", "copied", "binary", "mode"]
SourceKind = Literal["diff", "git", "pull_request"]

_T = TypeVar("_T")


def stored_at_once(cls: type[_T], **fields: object) -> _T:
    """`cls(**fields)` for a frozen dataclass without slots, its fields stored in one dict update: the
    dataclass's __init__ sets them one object.__setattr__ call at a time (measured: a sixth of reading
    a plain file's hunks, a third of making rendering's hunk views). The caller passes every field;
    nothing checks that here (tests/test_diff_fast.py and tests/test_core_fast.py compare with `cls(...)`)."""
    made = object.__new__(cls)
    made.__dict__.update(fields)
    return made


SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error")
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2}

# Reasons a part of the diff was not reviewed. Skips are data, never exceptions.
SKIP_REASONS = (
    "excluded",  # include/exclude globs
    "binary",
    "generated",  # lockfiles, minified, generated or vendored files
    "too_large",  # size caps, or GitHub sent no patch
    "deleted",  # nothing left to comment on
    "mode",  # mode-only or submodule change: no text to review
    "unparsable",  # the diff of this file is malformed
    "budget",  # run budget (requests or tokens) spent
    "time_budget",  # the run's wall-clock budget (budget.max_minutes) left no time for this request
    "model_error",  # the model refused or failed this request for good
    "incremental",  # reviewed already at an earlier head
    "draft",
)


@dataclass(frozen=True, slots=True)  # slots: a large diff has 10^5 of them (see bot.diff.parse._make_lines)
class Line:
    kind: LineKind
    old_no: int | None
    new_no: int | None
    text: str  # without the leading '+', '-' or ' ' and without the line ending


@dataclass(frozen=True)
class Hunk:
    path: str
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    header: str  # "@@ -a,b +c,d @@ section" as in the diff
    lines: tuple[Line, ...]

    @property
    def ref(self) -> str:
        """Short stable name for the hunk, used in skips and logs."""
        return f"@@ -{self.old_start},{self.old_len} +{self.new_start},{self.new_len} @@"

    def commentable(self, side: Side) -> frozenset[int]:
        """Line numbers GitHub accepts a comment on, for one side of this hunk."""
        if side == "RIGHT":
            return frozenset(ln.new_no for ln in self.lines if ln.kind != "-" and ln.new_no is not None)
        return frozenset(ln.old_no for ln in self.lines if ln.kind != "+" and ln.old_no is not None)

    @property
    def added(self) -> tuple[Line, ...]:
        return tuple(ln for ln in self.lines if ln.kind == "+")


@dataclass(frozen=True)
class FileDiff:
    path: str  # new path ("old" path for a removed file)
    old_path: str | None
    status: FileStatus
    hunks: tuple[Hunk, ...]
    language: str | None = None
    is_binary: bool = False
    is_submodule: bool = False

    def commentable(self, side: Side) -> frozenset[int]:
        lines: set[int] = set()
        for hunk in self.hunks:
            lines |= hunk.commentable(side)
        return frozenset(lines)

    @property
    def changed_lines(self) -> int:
        return sum(1 for h in self.hunks for ln in h.lines if ln.kind != " ")


@dataclass(frozen=True)
class Skipped:
    path: str
    hunk: str | None  # Hunk.ref, or None for the whole file
    reason: str  # one of SKIP_REASONS
    detail: str = ""  # a short human explanation; never untrusted text

    def to_json(self) -> dict[str, str | None]:
        return {"path": self.path, "hunk": self.hunk, "reason": self.reason}


@dataclass(frozen=True)
class SourceInfo:
    kind: SourceKind
    repo: str | None = None
    pr: int | None = None
    base_sha: str | None = None
    head_sha: str | None = None
    # Untrusted: the PR's own words. Only ever rendered as data inside prompts.
    title: str = ""
    body: str = ""

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "repo": self.repo, "pr": self.pr,
                "base_sha": self.base_sha, "head_sha": self.head_sha}


@dataclass(frozen=True)
class ParsedDiff:
    files: tuple[FileDiff, ...]
    skipped: tuple[Skipped, ...] = ()  # files whose diff could not be parsed


@dataclass(frozen=True)
class Batch:
    """Hunks the planner packed into one model request, before rendering."""

    id: int
    hunks: tuple[Hunk, ...]
    est_tokens: int  # estimated tokens of the rendered hunks, template overhead excluded

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(h.path for h in self.hunks))


@dataclass(frozen=True)
class Plan:
    batches: tuple[Batch, ...]
    skipped: tuple[Skipped, ...]
    request_budget: int  # prompt tokens one request may carry
    total_tokens: int  # estimated tokens of everything that was planned or skipped for budget


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Request:
    id: int
    hunks: tuple[Hunk, ...]
    # A completion template's prompt; for a chat template, its messages one after another
    # (what logs show and what is counted), while `messages` is what a chat backend sends.
    prompt: str
    est_tokens: int  # estimated tokens of the whole prompt
    messages: tuple[ChatMessage, ...] = ()

    @property
    def is_chat(self) -> bool:
        return bool(self.messages)

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(h.path for h in self.hunks))


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str | None = None  # "stop", "length", ... as the server says; None if unknown
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    # The first answer token's likeliest tokens, (text, probability), likeliest first, when asked for
    # (GenerationParams.first_token_top) and the backend can tell; else empty.
    first_token: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    side: Side
    start_line: int | None
    severity: Severity
    message: str  # sanitised
    suggestion: str | None
    fingerprint: str

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "side": self.side, "start_line": self.start_line,
                "severity": self.severity, "message": self.message, "suggestion": self.suggestion,
                "fingerprint": self.fingerprint}


@dataclass(frozen=True)
class RunStats:
    files: int = 0
    hunks: int = 0
    hunks_reviewed: int = 0
    requests: int = 0
    retries: int = 0
    waited_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    elapsed_s: float = 0.0
    dropped_ungrounded: int = 0
    dropped_capped: int = 0
    dropped_below_severity: int = 0
    dropped_echo: int = 0  # messages that only repeated the prompt's instructions
    dropped_vacuous: int = 0  # messages that claimed nothing ("`x` should be `x`", only code, "None")
    dropped_unconfirmed: int = 0  # findings the model said no to when asked again ([review] confirm_findings)
    dropped_outranked: int = 0  # findings the model ranked below the kept ones ([review] keep_best)
    secrets_redacted: int = 0  # credentials replaced before anything left the machine

    def to_json(self) -> dict[str, object]:
        return {"files": self.files, "hunks": self.hunks, "hunks_reviewed": self.hunks_reviewed,
                "requests": self.requests, "retries": self.retries, "waited_s": round(self.waited_s, 3),
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "elapsed_s": round(self.elapsed_s, 3), "dropped_ungrounded": self.dropped_ungrounded,
                "dropped_capped": self.dropped_capped,
                "dropped_below_severity": self.dropped_below_severity, "dropped_echo": self.dropped_echo,
                "dropped_vacuous": self.dropped_vacuous, "dropped_unconfirmed": self.dropped_unconfirmed,
                "dropped_outranked": self.dropped_outranked, "secrets_redacted": self.secrets_redacted}


@dataclass(frozen=True)
class RunResult:
    findings: tuple[Finding, ...]
    skipped: tuple[Skipped, ...]
    stats: RunStats
    source_info: SourceInfo
    model: str = ""
    template: str = ""

    def to_json(self) -> dict[str, object]:
        return {"version": 1, "source": self.source_info.to_json(),
                "findings": [f.to_json() for f in self.findings],
                "skipped": [s.to_json() for s in self.skipped],
                "stats": self.stats.to_json()}
