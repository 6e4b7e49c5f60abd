"""Parsing model output, grounding it on the diff, merging, severity floor, caps, fingerprints."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import ReviewSettings
from bot.diff.parse import parse_diff
from bot.errors import ConfigError
from bot.findings.grounding import (
    RawFinding,
    collect_findings,
    fingerprint,
    ground,
    parse_completion,
)
from bot.prompts.views import comment_target
from bot.types import Completion, Hunk, Request
from tests.conftest import JINJA_CASES

DIFF = """\
diff --git a/src/app.py b/src/app.py
index 1111111..2222222 100644
--- a/src/app.py
+++ b/src/app.py
@@ -10,6 +10,8 @@ def main():
 ctx10
 ctx11
-old12
+new12
+new13
+new14
 ctx13
 ctx14
 ctx15
@@ -40,4 +42,2 @@ def tail():
 ctx40
-del41
-del42
 ctx43
@@ -50,2 +49,0 @@ def gone():
-del50
-del51
diff --git a/docs/guide.md b/docs/guide.md
index 1111111..2222222 100644
--- a/docs/guide.md
+++ b/docs/guide.md
@@ -1,2 +1,3 @@
 # Guide
+Install with pip.
 Run it.
"""
FILES = {f.path: f for f in parse_diff(DIFF).files}
APP = Request(1, FILES["src/app.py"].hunks, prompt="", est_tokens=0)
BOTH = Request(2, FILES["src/app.py"].hunks + FILES["docs/guide.md"].hunks, prompt="", est_tokens=0)
LIFTED = ReviewSettings(min_severity="info", max_comments=10_000, max_comments_per_file=10_000)


def kept(text: str, request: Request = APP, parser: str = "diagnostics") -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for raw in parse_completion(text, parser, request):
        f = ground(raw, request)
        if f is not None:
            out.append((f.path, f.line, f.side, f.start_line, f.severity, f.message))
    return out


# (model output, findings kept after grounding) for a one-file request
SINGLE_FILE_CASES = [
    ("src/app.py:12: error: off by one", [("src/app.py", 12, "RIGHT", None, "error", "off by one")]),
    ("Sure! Here is my review of the change.\n\nsrc/app.py:13: warning: unused variable\n"
     "I hope this helps.\n```python\nnew13 = 1\n```",
     [("src/app.py", 13, "RIGHT", None, "warning", "unused variable")]),
    ("  - src/app.py:12: error: bullet\n  * src/app.py:13: note: star\n  1. src/app.py:14: info: numbered",
     [("src/app.py", 12, "RIGHT", None, "error", "bullet"), ("src/app.py", 13, "RIGHT", None, "info", "star"),
      ("src/app.py", 14, "RIGHT", None, "info", "numbered")]),
    ("`src/app.py`:12: warning: ticks\n`src/app.py:13`: warning: ticked location\n"
     "**src/app.py:14**: error: bold",
     [("src/app.py", 12, "RIGHT", None, "warning", "ticks"),
      ("src/app.py", 13, "RIGHT", None, "warning", "ticked location"),
      ("src/app.py", 14, "RIGHT", None, "error", "bold")]),
    ("./src/app.py:12: warning: dot\nb/src/app.py:13: warning: b prefix\na/src/app.py:14: warning: a prefix",
     [("src/app.py", 12, "RIGHT", None, "warning", "dot"),
      ("src/app.py", 13, "RIGHT", None, "warning", "b prefix"),
      ("src/app.py", 14, "RIGHT", None, "warning", "a prefix")]),
    # invented columns; missing severity; unknown severity word kept in the message
    ("src/app.py:12:5: error: with column\nsrc/app.py:13:1-4: warning: col range\n"
     "src/app.py:14: missing severity\nsrc/app.py:15: typo: recieve",
     [("src/app.py", 12, "RIGHT", None, "error", "with column"),
      ("src/app.py", 13, "RIGHT", None, "warning", "col range"),
      ("src/app.py", 14, "RIGHT", None, "warning", "missing severity"),
      ("src/app.py", 15, "RIGHT", None, "warning", "typo: recieve")]),
    # missing path with exactly one file in the request
    ("11:11: error: no path with column\n12: warning: no path\n13: just chatter without severity",
     [("src/app.py", 11, "RIGHT", None, "error", "no path with column"),
      ("src/app.py", 12, "RIGHT", None, "warning", "no path")]),
    ("src/app.py:12: [ERROR] bracketed\nsrc/app.py:13: Critical: maps to error\nsrc/app.py:14: nit: style",
     [("src/app.py", 12, "RIGHT", None, "error", "bracketed"),
      ("src/app.py", 13, "RIGHT", None, "error", "maps to error"),
      ("src/app.py", 14, "RIGHT", None, "info", "style")]),
    # ranges: same hunk and side kept; reversed order sorted; past the hunk -> one line
    ("src/app.py:12-14: warning: range\nsrc/app.py:14,12: warning: reversed\n"
     "src/app.py:16-30: warning: runs past the hunk\nsrc/app.py:5-13: warning: starts before it\n"
     "src/app.py:12-12: warning: one-line range",
     [("src/app.py", 14, "RIGHT", 12, "warning", "range"),
      ("src/app.py", 14, "RIGHT", 12, "warning", "reversed"),
      ("src/app.py", 16, "RIGHT", None, "warning", "runs past the hunk"),
      ("src/app.py", 13, "RIGHT", None, "warning", "starts before it"),
      ("src/app.py", 12, "RIGHT", None, "warning", "one-line range")]),
    ("src/app.py: line 12: error: spelled out\nLine 13: warning: no path, spelled out",
     [("src/app.py", 12, "RIGHT", None, "error", "spelled out"),
      ("src/app.py", 13, "RIGHT", None, "warning", "no path, spelled out")]),
    # wrong paths and lines outside the diff are not findings
    ("src/other.py:12: error: wrong file\nsrc/App.py:12: error: wrong case\napp.py:12: error: partial path\n"
     "src/app.py:1: error: above the hunk\nsrc/app.py:30: error: between hunks\n"
     "src/app.py:999: error: far away\nsrc/app.py:0: error: zero", []),
    # numbers are new-file lines (the listing numbers only those): an old line's number that is
    # not a new line on the diff is dropped, never moved to the old side
    ("src/app.py:41: warning: deleted line\nsrc/app.py:50: error: deleted-only hunk\n"
     "src/app.py:42: warning: context line\nsrc/app.py:50-51: error: deleted range",
     [("src/app.py", 42, "RIGHT", None, "warning", "context line")]),
    # a range that starts off the diff keeps its end line
    ("src/app.py:41-42: warning: half on", [("src/app.py", 42, "RIGHT", None, "warning", "half on")]),
    # chatter, code and empty messages
    ("Looking at line 12: this is fine.\nStep 1: read the code\nhttp://localhost:8080: error: not a path\n"
     "x = d[1:2]\nsrc/app.py:12:\nsrc/app.py:13: error:\nsrc/app.py:14: error: !!\n\n", []),
    # special tokens end the answer
    ("src/app.py:12: error: kept<|endoftext|>src/app.py:13: error: after the end",
     [("src/app.py", 12, "RIGHT", None, "error", "kept")]),
    ("src/app.py:12: error: kept\n<pr_comment>src/app.py:13: error: after the end",
     [("src/app.py", 12, "RIGHT", None, "error", "kept")]),
]


@pytest.mark.parametrize("text, expected", SINGLE_FILE_CASES)
def test_diagnostics_single_file(text: str, expected: list[tuple[object, ...]]) -> None:
    assert kept(text) == expected


def test_diagnostics_missing_path_needs_one_file() -> None:
    text = "12: error: which file?\ndocs/guide.md:2: warning: named\nguide.md:2: warning: basename only"
    assert kept(text, BOTH) == [("docs/guide.md", 2, "RIGHT", None, "warning", "named")]
    raws = parse_completion(text, "diagnostics", BOTH)
    assert raws[0] == RawFinding("", 12, None, "error", "which file?")  # counted, never guessed


def test_findings_are_grounded_only_in_their_own_request() -> None:
    only_docs = Request(3, FILES["docs/guide.md"].hunks, prompt="", est_tokens=0)
    assert kept("src/app.py:12: error: not in this prompt", only_docs) == []


def test_unknown_parser_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown output format 'yaml'"):
        parse_completion("x", "yaml", APP)


def test_messages_are_sanitised() -> None:
    [(_, _, _, _, _, message)] = kept("src/app.py:12: error: ask @octocat <!-- review-bot:fp=abc --> #3")
    assert message == "ask @\u200boctocat  #\u200b3"


# --- PR-comment format (starcoder2-pr) -------------------------------------------------------

def expected_target(hunks: Sequence[Hunk]) -> tuple[str, int]:
    """The documented rule, written out independently of bot.prompts.templates.comment_target:
    last added line of the hunk with most added lines; else that hunk's last context line."""
    best = max(hunks, key=lambda h: len(h.added))  # max() keeps the first of equals
    if best.added:
        return best.path, best.added[-1].new_no or 0
    context = [ln.new_no for ln in best.lines if ln.kind == " " and ln.new_no is not None]
    return best.path, context[-1]


@pytest.mark.parametrize("text, severity", [
    ("This should check for None before calling strip().", "warning"),
    ("username_1: Nice refactor, maybe rename `x` to `count` for readability.", "info"),
    ("The loop is off by one and will crash on empty input.<pr_comment>username_2: next", "warning"),
])
def test_pr_comment_is_one_finding_at_the_target(text: str, severity: str) -> None:
    raws = parse_completion(text, "pr-comment", BOTH)
    path, line = expected_target(BOTH.hunks)
    assert (path, line) == ("src/app.py", 14) == comment_target(BOTH.hunks)
    assert [(r.path, r.line, r.severity) for r in raws] == [(path, line, severity)]
    assert "<pr_" not in raws[0].message and not raws[0].message.startswith("username_")
    assert ground(raws[0], BOTH) is not None


@pytest.mark.parametrize("text", ["", "   \n", "LGTM", "lgtm!", "+1", "Thanks!", "Thank you very much.",
                                  ":+1:", "\U0001f44d", "Looks good to me", "<pr_comment>real text later"])
def test_pr_comment_trivial_text_is_no_finding(text: str) -> None:
    assert parse_completion(text, "pr-comment", BOTH) == []


def test_pr_comment_long_text_cut() -> None:
    raws = parse_completion("This is wrong. " * 500, "pr-comment", APP)
    assert len(raws) == 1 and len(raws[0].message) <= 1500


def test_pr_comment_on_deleted_only_hunks_uses_context_line() -> None:
    hunks = FILES["src/app.py"].hunks[1:2]  # context + deletions only
    [raw] = parse_completion("This removal breaks callers.", "pr-comment", Request(4, hunks, "", 0))
    assert (raw.path, raw.line) == expected_target(hunks) == ("src/app.py", 43)


# --- collect: merge, severity floor, caps, counts ----------------------------------------------

def collect(*texts: str, review: ReviewSettings = LIFTED, request: Request = BOTH):
    return collect_findings([(request, Completion(t)) for t in texts], "diagnostics", review)


def test_collect_counts_and_sorts() -> None:
    out = collect("docs/guide.md:2: info: msg b\nsrc/app.py:14: error: msg a\nsrc/app.py:12: warning: msg c\n"
                  "src/app.py:999: error: off\nnope.py:1: error: off")
    assert [(f.path, f.line) for f in out.findings] == [("docs/guide.md", 2), ("src/app.py", 12),
                                                          ("src/app.py", 14)]
    assert out.dropped_ungrounded == 2 and out.dropped_capped == 0 and out.dropped_below_severity == 0


def test_duplicates_merge_across_completions_keeping_worst_severity() -> None:
    out = collect("src/app.py:12: warning: Off  by one", "src/app.py:12: error: off by one\n"
                  "./src/app.py:12: info: OFF BY ONE", "src/app.py:12: warning: something else")
    assert [(f.line, f.severity, f.message) for f in out.findings] == [
        (12, "error", "Off  by one"), (12, "warning", "something else")]


def test_same_fingerprint_merges_even_on_another_line() -> None:
    diff = ("diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,0 +1,3 @@\n"
            "+return None\n+x = 1\n+  return   None\n")
    request = Request(1, parse_diff(diff).files[0].hunks, "", 0)
    out = collect("a.py:1: warning: dead code\na.py:3: warning: Dead code\na.py:2: warning: unused x",
                  request=request)
    assert [f.line for f in out.findings] == [1, 2]
    # across requests too: the fingerprint names the code, not the line
    out = collect_findings([(request, Completion("a.py:1: warning: dead code")),
                            (request, Completion("a.py:3: warning: dead code"))], "diagnostics", LIFTED)
    assert [f.line for f in out.findings] == [1]


def test_one_remark_on_several_lines_of_a_hunk_is_one_finding() -> None:
    out = collect("src/app.py:13: warning: may be None\nsrc/app.py:12: warning: May be None\n"
                  "src/app.py:14: warning: may be  none\ndocs/guide.md:2: warning: may be None")
    assert [(f.path, f.line) for f in out.findings] == [("docs/guide.md", 2), ("src/app.py", 13)]


def test_messages_that_echo_the_prompt_are_dropped() -> None:
    prompt = ("Report only real problems: wrong logic, wrong API use, unhandled errors or None, "
              "off-by-one, resource leaks.\nsrc/app.py:")
    request = replace(APP, prompt=prompt)
    out = collect_findings([(request, Completion(
        "12: warning: wrong logic, wrong API use, unhandled errors or None\n"
        "src/app.py:13: error: Off-by-one\nsrc/app.py:14: error: the loop stops one short"))],
        "diagnostics", LIFTED)
    assert [(f.line, f.message) for f in out.findings] == [(14, "the loop stops one short")]
    assert out.dropped_echo == 2


def test_min_severity_floor() -> None:
    review = replace(LIFTED, min_severity="warning")
    out = collect("src/app.py:12: info: msg a\nsrc/app.py:13: warning: msg b\nsrc/app.py:14: error: msg c",
                  review=review)
    assert [f.severity for f in out.findings] == ["warning", "error"]
    assert out.dropped_below_severity == 1
    out = collect("src/app.py:12: info: msg a\nsrc/app.py:13: warning: msg b",
                  review=replace(LIFTED, min_severity="error"))
    assert out.findings == () and out.dropped_below_severity == 2


def test_caps_keep_the_most_severe_then_by_position() -> None:
    text = ("src/app.py:10: info: msg a\nsrc/app.py:11: warning: msg b\nsrc/app.py:12: error: msg c\n"
            "src/app.py:13: warning: msg d\ndocs/guide.md:1: warning: msg e\ndocs/guide.md:2: error: msg f")
    out = collect(text, review=replace(LIFTED, max_comments_per_file=2))
    assert [(f.path, f.line) for f in out.findings] == [("docs/guide.md", 1), ("docs/guide.md", 2),
                                                          ("src/app.py", 11), ("src/app.py", 12)]
    assert out.dropped_capped == 2
    out = collect(text, review=replace(LIFTED, max_comments=3))  # both errors, then the first warning
    assert [(f.path, f.line) for f in out.findings] == [("docs/guide.md", 1), ("docs/guide.md", 2),
                                                          ("src/app.py", 12)]
    assert out.dropped_capped == 3
    assert collect(text, review=replace(LIFTED, max_comments=0)).findings == ()


# --- fingerprint -------------------------------------------------------------------------------

def test_fingerprint_is_short_hex_and_ignores_whitespace_and_case() -> None:
    fp = fingerprint("a.py", "    x = 1", "Unused  variable")
    assert re.fullmatch(r"[0-9a-f]{12}", fp)
    assert fp == fingerprint("a.py", "x   =  1  ", "unused variable")
    assert fp != fingerprint("b.py", "x = 1", "unused variable")
    assert fp != fingerprint("a.py", "x = 2", "unused variable")
    assert fp != fingerprint("a.py", "x = 1", "unused variable 2")


def test_fingerprint_survives_the_line_moving() -> None:
    def one(start: int) -> str:
        diff = (f"diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -{start},1 +{start},2 @@\n"
                f" keep\n+value = compute( )\n")
        request = Request(1, parse_diff(diff).files[0].hunks, "", 0)
        [finding] = collect(f"m.py:{start + 1}: warning: compute may raise", request=request).findings
        return finding.fingerprint

    assert one(3) == one(40)


# --- the real corpus ---------------------------------------------------------------------------

def _oracle_line(text: str | None, number: int) -> str | None:
    lines = (text or "").split("\n")
    return lines[number - 1].rstrip("\r") if 0 < number <= len(lines) else None


@pytest.mark.parametrize("case", JINJA_CASES, ids=[c.name for c in JINJA_CASES])
def test_corpus_grounding(case: Path) -> None:
    oracle = json.loads((case / "oracle.json").read_text(encoding="utf-8"))["files"]
    parsed = parse_diff((case / "pr.diff").read_bytes())
    results: list[tuple[Request, Completion]] = []
    planted: set[tuple[str, int, str]] = set()
    for n, f in enumerate(x for x in parsed.files if x.hunks):
        request = Request(n, f.hunks, prompt="", est_tokens=0)
        right = f.commentable("RIGHT")
        out = ["Sure, here is my review:", "", "```diff", "+ some: 12: code", "```"]
        for h in f.hunks:
            for i, ln in enumerate(h.added[:6]):
                message = f"issue {len(planted)} here"
                style = i % 4
                loc = {0: f"{f.path}:{ln.new_no}", 1: f"- `{f.path}`:{ln.new_no}:7",
                       2: f"./{f.path}:{ln.new_no}", 3: f"{ln.new_no}"}[style]
                out.append(f"{loc}: error: {message}")
                planted.add((f.path, ln.new_no or 0, message))
            for ln in [x for x in h.lines if x.kind == "-" and x.old_no not in right][:2]:
                # an old line's number, which the prompt never shows: not moved to the old side
                out.append(f"{f.path}:{ln.old_no}: warning: planted old number {ln.old_no}")
        outside = max(right | f.commentable("LEFT")) + 50
        out += [f"{f.path}:{outside}: error: planted outside the diff",
                f"{f.path}x:{min(right or {1})}: error: planted wrong path",
                f"nope/{f.path}:{min(right or {1})}: error: planted wrong dir",
                "I think the rest looks fine. Line 3: nothing."]
        results.append((request, Completion("\n".join(out))))
    outcome = collect_findings(results, "diagnostics", LIFTED)
    request_hunks = {r.hunks[0].path: r.hunks for r, _ in results}
    for finding in outcome.findings:
        assert "planted" not in finding.message or finding.side == "RIGHT"
        assert finding.side == "RIGHT"
        entry = oracle[finding.path]
        expected_text = entry["new"] if finding.side == "RIGHT" else entry["old"]
        side_no = "new_no" if finding.side == "RIGHT" else "old_no"
        hunk_text = next(ln.text for h in request_hunks[finding.path] for ln in h.lines
                         if getattr(ln, side_no) == finding.line
                         and ln.kind != ("-" if finding.side == "RIGHT" else "+"))
        assert _oracle_line(expected_text, finding.line) == hunk_text.rstrip("\r")
    reported = {(f.path, f.line, f.message) for f in outcome.findings}
    assert len(reported & planted) >= 0.95 * len(planted)
    assert outcome.dropped_ungrounded >= 3 * len(results)


def test_a_line_cut_by_the_token_limit_is_no_finding() -> None:
    cut = "src/app.py:12: warning: leaks the handle\nsrc/app.py:13: error: divides by ze"
    out = collect_findings([(BOTH, Completion(cut, finish_reason="length"))], "diagnostics", LIFTED)
    assert [(f.line, f.message) for f in out.findings] == [(12, "leaks the handle")]
    whole = collect_findings([(BOTH, Completion(cut, finish_reason="stop"))], "diagnostics", LIFTED)
    assert len(whole.findings) == 2
