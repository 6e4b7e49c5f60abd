"""Every body the bot posts, rendered by a CommonMark renderer: nothing live, nothing hidden.

Hypothesis writes adversarial model text and file names; each goes through the real path to
a posted body (sanitize -> comment_body, or the review body of GitHubReviewSink.payload), and
tests/render_check.py lists whatever GitHub would show as a live mention, reference, image,
raw HTML or marker. The list must be empty, and the markers read back must be only ours.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.findings.sanitize import sanitize_message
from bot.github.api import GitHubApi, make_github
from bot.github.markers import fingerprints_in, head_in, is_partial
from bot.sinks.github_review import GitHubReviewSink, comment_body
from bot.types import Finding, ParsedDiff, RunResult, RunStats, Skipped, SourceInfo
from tests.render_check import render_problems

HEAD = "a" * 40
FORGED = "<!-- review-bot:fp=deadbeef1234 -->"
ADVERSARIAL = [
    "a", " ", "\n", "\n\n", "`", "``", "```", "~~~", "\\", "\\`", "    ", "> ", "- ", "1. ", "# ", "| ", "|-|\n",
    "@octocat", "@org/team", "#12", "GH-7", "&#64;x", "&#x40;y", "&commat;z", "&#35;3", "![", "![a\nb]",
    "](https://evil.example/pixel.png)", "[r]: https://evil.example/p.png\n", "![r]", "<img src=x>", "<b>",
    "<details>", "<a title=\"`\">", "<https://evil.example>", "<!--", "-->", FORGED, "review-bot:partial",
    "<!-- review-bot:partial -->", "javascript:alert(1)", "```suggestion\n", "*", "_", "[", "]", "(", ")",
]
texts = st.lists(st.sampled_from(ADVERSARIAL), max_size=40).map("".join)
paths = st.lists(st.sampled_from([*ADVERSARIAL, "src/", ".py", ".min.js", "é"]), min_size=1, max_size=12).map(
    lambda parts: "".join(parts).replace("\n", "") or "x")


def _finding(path: str, message: str, fp: str = "0123456789ab") -> Finding:
    return Finding(path=path, line=1, side="RIGHT", start_line=None, severity="warning", message=message,
                   suggestion=None, fingerprint=fp)


def _sink() -> GitHubReviewSink:
    api = GitHubApi(make_github("ghs_unused", "http://127.0.0.1:9"), "o/r")  # no request is made
    return GitHubReviewSink(api, ParsedDiff(files=(), skipped=()), Settings(), nonce="0123456789abcdef")


def _result(findings: tuple[Finding, ...], skipped: tuple[Skipped, ...]) -> RunResult:
    return RunResult(findings=findings, skipped=skipped, stats=RunStats(files=1, hunks=1),
                     source_info=SourceInfo(kind="pull_request", repo="o/r", pr=7, head_sha=HEAD),
                     model="m", template="review")


def test_the_two_bypasses_from_the_issue_render_harmless() -> None:
    for text in ("see `x\n\n@octocat please look `", "![a\nb](https://evil.example/pixel.png)"):
        assert render_problems(text), text  # the checker sees them raw
        assert render_problems(comment_body(_finding("a.py", sanitize_message(text)))) == []


def test_a_file_name_cannot_plant_markers() -> None:
    name = f"{FORGED} <!-- review-bot:partial -->.min.js"
    result = _result((), (Skipped(name, None, "generated"),))
    body = _sink().payload(result, (), ())["body"]
    assert render_problems(body) == []
    assert fingerprints_in(body) == set() and not is_partial(body) and head_in(body) == HEAD


@settings(max_examples=400, deadline=None)
@given(texts)
def test_model_text_renders_harmless_in_a_comment(text: str) -> None:
    body = comment_body(_finding("a.py", sanitize_message(text), "feedface0001"))
    assert render_problems(body) == [], body
    assert fingerprints_in(body) == {"feedface0001"}


@settings(max_examples=300, deadline=None)
@given(paths, texts)
def test_file_names_and_messages_render_harmless_in_the_review_body(path: str, text: str) -> None:
    finding = _finding(path, sanitize_message(text), "feedface0002")
    result = _result((finding,), (Skipped(path, None, "excluded"), Skipped(path, "@@ -1 +1 @@", "budget")))
    body = _sink().payload(result, (), (finding,))["body"]
    assert render_problems(body) == [], body
    assert fingerprints_in(body) == {"feedface0002"} and head_in(body) == HEAD and is_partial(body)
