"""Answer parsers against the prompts that produce the answers: primers, PR comments, odd paths."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bot.config import ReviewSettings
from bot.diff.parse import parse_diff
from bot.findings.answers import parse_answer
from bot.findings.grounding import collect_findings
from bot.plan.tokens import CharEstimator
from bot.prompts.render import render_request
from bot.prompts.templates import load_template
from bot.types import Batch, Completion, Request, SourceInfo
from tests.cli_runner import run_main
from tests.github_helpers import BOT_TOKEN, REPO, emulator, git_diff, git_history
from tests.servers.github_server import GitHubServer
from tests.servers.model_server import ModelServer

DIFF = """\
diff --git a/src/app.py b/src/app.py
--- a/src/app.py
+++ b/src/app.py
@@ -10,2 +12,4 @@ def main():
 ctx12
-old13
+new13
+    handle = open(path)
+    return compute(value)
"""
ODD_PATHS = """\
diff --git a/docs/my notes.py b/docs/my notes.py
--- a/docs/my notes.py
+++ b/docs/my notes.py
@@ -1,1 +1,2 @@
 keep
+added = 1
diff --git a/lib/c:d.py b/lib/c:d.py
--- a/lib/c:d.py
+++ b/lib/c:d.py
@@ -4,1 +4,2 @@
 keep
+other = 2
"""
SOURCE = SourceInfo(kind="diff", title="Open the file", body="Reads the value from a file.")
LIFTED = ReviewSettings(min_severity="info", max_comments=100, max_comments_per_file=100)


def request_for(diff: str, template_name: str) -> Request:
    hunks = tuple(h for f in parse_diff(diff).files for h in f.hunks)
    template = load_template(template_name, None)
    return render_request(template, Batch(1, hunks, 0), SOURCE, CharEstimator())


def findings(request: Request, answer: str, parser: str = "diagnostics") -> list[tuple[object, ...]]:
    outcome = collect_findings([(request, Completion(answer, finish_reason="stop"))], parser, LIFTED)
    return [(f.path, f.line, f.side, f.message) for f in outcome.findings]


def test_pr_comment_answer_is_the_models_words_not_the_prompts_last_line() -> None:
    request = request_for(DIFF, "starcoder2-pr")
    assert request.prompt.endswith("<pr_comment>username_1:")  # the real prompt, not ""
    found = findings(request, " This handle leaks on the error path", "pr-comment")
    assert found == [("src/app.py", 15, "RIGHT", "This handle leaks on the error path")]
    [raw] = parse_answer(" This handle leaks on the error path", "pr-comment", request)
    assert raw.severity == "warning" and "compute" not in raw.message


def test_a_model_that_repeats_the_primed_path_keeps_its_first_finding() -> None:
    request = request_for(DIFF, "review")
    assert request.prompt.endswith("src/app.py:")
    whole = "src/app.py:14: warning: the file is never closed\nsrc/app.py:15: error: value is undefined\n"
    continued = "14: warning: the file is never closed\nsrc/app.py:15: error: value is undefined\n"
    bulleted = "- src/app.py:14: warning: the file is never closed\n- src/app.py:15: error: value is undefined"
    expected = [("src/app.py", 14, "RIGHT", "the file is never closed"),
                ("src/app.py", 15, "RIGHT", "value is undefined")]
    assert findings(request, whole) == findings(request, continued) == findings(request, bulleted) == expected


def test_an_off_diff_new_line_is_dropped_and_counted_not_moved_to_the_old_side() -> None:
    request = request_for(DIFF, "review")
    # new lines of the hunk are 12-15; 11 is not on it, and old line 11 (old13 is line 11) is deleted
    outcome = collect_findings([(request, Completion("11: error: off the diff\n", "stop"))], "diagnostics",
                               LIFTED)
    assert outcome.findings == () and outcome.dropped_ungrounded == 1


def test_paths_with_a_space_or_a_colon_are_found() -> None:
    request = request_for(ODD_PATHS, "review")
    answer = ("docs/my notes.py:2: warning: unused name\n`lib/c:d.py`:5: error: shadows a builtin\n"
              "lib/c:d.py line 5: error: said twice\nother file.py:3: error: not in this request\n")
    outcome = collect_findings([(request, Completion(answer, "stop"))], "diagnostics", LIFTED)
    assert [(f.path, f.line, f.message) for f in outcome.findings] == [
        ("docs/my notes.py", 2, "unused name"), ("lib/c:d.py", 5, "said twice"),
        ("lib/c:d.py", 5, "shadows a builtin")]
    assert outcome.dropped_ungrounded == 1  # "other file.py": read, counted, never placed


def test_markdown_shapes_under_a_heading_name_their_file() -> None:
    request = request_for(ODD_PATHS, "review")
    answer = ("Here is what I found.\n\n### `lib/c:d.py`\n- **Line 5**: `other` shadows the module\n"
              "- L4 - keep is fine\n\n**docs/my notes.py**\n1. Line 2: `added` is never used\n"
              "```\ndocs/my notes.py:2: error: fenced finding\n```\n")
    assert findings(request, answer) == [
        ("docs/my notes.py", 2, "RIGHT", "`added` is never used"),
        ("docs/my notes.py", 2, "RIGHT", "fenced finding"),
        ("lib/c:d.py", 4, "RIGHT", "keep is fine"),
        ("lib/c:d.py", 5, "RIGHT", "`other` shadows the module")]


def test_no_findings_is_a_whole_answer() -> None:
    request = request_for(DIFF, "review-instruct")
    answer = ("No findings.\n\nThe change opens a file and returns compute(value). Line 14: the handle "
              "is opened.\n")
    assert findings(request, answer) == []


def test_a_path_less_line_in_a_multi_file_answer_is_counted_never_guessed() -> None:
    request = request_for(ODD_PATHS, "review-instruct")
    outcome = collect_findings([(request, Completion("Line 2: error: which file?\n", "stop"))], "diagnostics",
                               LIFTED)
    assert outcome.findings == () and outcome.dropped_ungrounded == 1


def test_the_formats_placeholder_for_the_path_is_read_as_no_path() -> None:
    # Qwen2.5-Coder-1.5B wrote "PATH:23: ERROR: ..." in a five-file pull request (haystack eval).
    request = request_for(ODD_PATHS, "review-chat")
    outcome = collect_findings([(request, Completion(
        "PATH:5: ERROR: `other = 2` shadows the module\n<path>:2: warning: `added` unused\n"
        "FILE:1: error: a context line in the first file\nPATH:9: error: on no file's changed line\n", "stop"))],
        "diagnostics", LIFTED)
    assert [(f.path, f.line, f.message) for f in outcome.findings] == [
        ("docs/my notes.py", 1, "a context line in the first file"),
        ("docs/my notes.py", 2, "`added` unused"), ("lib/c:d.py", 5, "`other = 2` shadows the module")]
    assert outcome.dropped_ungrounded == 1


def test_the_quoted_code_places_a_finding_the_number_only_breaks_ties() -> None:
    request = request_for(DIFF, "review-chat")  # new lines: 12 ctx12, 13 new13, 14 handle = ..., 15 return ...
    answer = ("src/app.py:15: warning: `handle = open(path)` is never closed\n"  # one off: the quote wins
              "src/app.py:14: error: `compute(value)` uses an undefined name\n"  # quote on 15
              "src/app.py:13: info: `new13` looks odd\n"  # number and quote agree
              "src/app.py:12: warning: `nowhere()` is not in the diff\n"  # quote off the diff: the number
              "src/app.py:40: error: `ctx12` context only\n")  # no added line has it: a context line does
    assert [(line, message) for _, line, _, message in findings(request, answer)] == [
        (12, "`ctx12` context only"), (12, "`nowhere()` is not in the diff"), (13, "`new13` looks odd"),
        (14, "`handle = open(path)` is never closed"), (15, "`compute(value)` uses an undefined name")]


# ---------------------------------------------------------------- through `review-bot review`

_NESTED = {"a.py": "r = 0", "a/a.py": "r = 1", "b/a.py": "r = 2"}  # every file adds its line 12
_NAMED = [  # what the model writes -> the file it means (issue 16, defect 8: an exact name wins)
    ("b/a.py", "b/a.py"), ("a/a.py", "a/a.py"), ("a.py", "a.py"), ("`b/a.py`", "b/a.py"),
    ("/b/a.py", "b/a.py"), ("./a/a.py", "a/a.py"), ("b/b/a.py", "b/a.py"), ("a/a/a.py", "a/a.py"),
    ("b/a.py (line", "b/a.py"),
]


def _nested_pull(srv: GitHubServer, tmp_path: Path) -> str:
    base = "".join(f"v{i} = {i}\n" for i in range(1, 11))
    v0, v1 = git_history(tmp_path / "repo", [
        {path: base for path in _NESTED},
        {path: base + f"extra = 11\n{code}\nend = 13\n" for path, code in _NESTED.items()}])
    srv.add_pull(REPO, 7, git_diff(tmp_path / "repo", v0, v1), base_sha=v0, head_sha=v1)
    return v0


def _named_answer(prompt: str, payload: dict[str, Any]) -> str:
    lines = []
    for i, (written, meant) in enumerate(_NAMED):
        where = f"{written} 12)" if written.endswith("(line") else f"{written}:12"
        lines.append(f"{where}: error: `{_NESTED[meant]}` is wrong ({i})")
    return "\n".join(lines) + "\n"


def test_review_places_a_finding_on_the_file_its_path_names_exactly(tmp_path: Path) -> None:
    with emulator() as srv, ModelServer(responder=_named_answer) as model:
        base = _nested_pull(srv, tmp_path)
        srv.add_file(REPO, base, ".github/review-bot.toml", "[review]\nmax_comments_per_file = 20\n")
        code, _, err = run_main(["review", "--repo", REPO, "--pr", "7", "--api", "hf", "--endpoint", model.url,
                                 "--rpm", "6000"], {"GITHUB_API_URL": srv.url, "GITHUB_TOKEN": BOT_TOKEN})
        assert code == 0, err
        placed = sorted((c["path"], c["line"], re.search(r"\((\d+)\)", c["body"]).group(1))  # type: ignore[union-attr]
                        for c in srv.review_comments(REPO, 7))
        assert placed == sorted((meant, 12, str(i)) for i, (_, meant) in enumerate(_NAMED))


def test_review_never_moves_a_finding_to_a_file_of_another_request(tmp_path: Path) -> None:
    """One file a request: `b/a.py:12` in the request about a.py names another file of the diff."""
    def answer(prompt: str, payload: dict[str, Any]) -> str:
        return "b/a.py:12: error: `r = 2` is wrong\n" if "+++ b/a.py\n" in prompt else ""

    with emulator() as srv, ModelServer(responder=answer) as model:
        base = _nested_pull(srv, tmp_path)
        srv.add_file(REPO, base, ".github/review-bot.toml", "[model]\ncontext_window = 900\nmax_new_tokens = 64\n")
        code, out, err = run_main(["review", "--repo", REPO, "--pr", "7", "--api", "hf", "--endpoint", model.url,
                                   "--rpm", "6000", "--dry-run", "--format", "json"],
                                  {"GITHUB_API_URL": srv.url, "GITHUB_TOKEN": BOT_TOKEN})
        assert code == 0, err
        assert len(model.requests) == 3 and all(r.prompt.count("\n+++ b/") == 1 for r in model.requests)
        assert [(f["path"], f["line"]) for f in json.loads(out)["findings"]] == []
