"""Every body the bot posts, rendered by a CommonMark renderer: nothing live, nothing hidden.

Hypothesis writes adversarial model text and file names; each goes through the real path to
a posted body (sanitize -> comment_body, or the review body of GitHubReviewSink.payload), and
tests/render_check.py lists whatever GitHub would show as a live mention, reference, image,
raw HTML or marker. The list must be empty, and the markers read back must be only ours.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import ReviewSettings, Settings
from bot.diff.parse import parse_diff
from bot.findings.grounding import collect_findings
from bot.findings.sanitize import sanitize_message
from bot.github.api import GitHubApi, make_github
from bot.github.markers import fingerprints_in, head_in, is_partial, path_key, unreviewed_in
from bot.plan.tokens import CharEstimator
from bot.prompts.render import render_request
from bot.prompts.templates import load_template
from bot.sinks.github_review import GitHubReviewSink, comment_body
from bot.types import Batch, Completion, Finding, ParsedDiff, Request, RunResult, RunStats, Skipped, SourceInfo
from tests.cli_runner import run_main
from tests.github_helpers import BOT_TOKEN, READ_TOKEN, REPO, emulator, git_diff, git_history
from tests.render_check import render_problems
from tests.servers.github_server import GitHubServer
from tests.servers.model_server import ModelServer

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
# Issue 16 (defects 4, 5): where a line-based guess and CommonMark disagree on what is code, and
# links that show one target and go to another.
SHAPES = [
    "\n", "\n\n", "\u2028", "\u2029", "\r\n", " ", "  ", "    ", "- ", "* ", "1. ", "2) ", "> ", ">", "  - ",
    "```", "````", "~~~", "```suggestion", "```py", "``", "`", "\\", "|", "|-|-|\n", "---\n", "# ", "===\n",
    "[1]: https://evil.example/login", "[a]: <https://evil.example/a> \"GitHub\"\n", "[GH]:\n  https://evil.example\n",
    "[https://github.com/o/r/security/advisories/GHSA-1](https://evil.example/login)", "[a][1]", "[a]", "[1][]",
    "[GH]", "[a](<https://evil.example/x y>)", "<https://evil.example>", "<https://github.com@evil.example>",
    "[`https://github.com`](https://evil.example)", "](https://evil.example)", "[", "]", "(", ")", "<",
    "<a href=\"https://evil.example\">https://github.com</a>", "![t](https://evil.example/t.png)", "![t][1]",
    "[![t](https://github.com/b.svg)](https://evil.example)", "[x](javascript:alert(1))", "<mailto:a@b.example>",
    "@octocat", "#123", "GH-7", "<img src=x>", "<b>", "&#64;x", "word ", "x",
]
shapes = st.lists(st.sampled_from(SHAPES), max_size=30).map("".join)
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


@settings(max_examples=500, deadline=None)
@given(shapes)
def test_commonmark_shapes_render_harmless_and_settle(text: str) -> None:
    out = sanitize_message(text)
    assert render_problems(comment_body(_finding("a.py", out, "feedface0003"))) == [], out
    assert sanitize_message(out) == out


TEMPLATES = sorted(p.stem for p in Path(__file__).parents[1].joinpath("prompts").glob("*.j2")
                   if p.stem != "summary.md")
_DIFF = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,1 +1,3 @@\n keep = 0\n+x = 1\n+y = 2\n"


def _request(template_name: str) -> Request:
    hunks = tuple(h for f in parse_diff(_DIFF).files for h in f.hunks)
    return render_request(load_template(template_name, None), Batch(1, hunks, 0), SourceInfo(kind="diff"),
                          CharEstimator())


@pytest.mark.parametrize("template_name", TEMPLATES)
@settings(max_examples=150, deadline=None)
@given(text=shapes)
def test_every_templates_parser_posts_hostile_answers_harmless(template_name: str, text: str) -> None:
    """Each template's own parser reads the answer; every finding it gives, posted inline or
    listed in the review body, renders with nothing live and no disguised link."""
    request = _request(template_name)
    template = load_template(template_name, None)
    answer = text if template.parser == "pr-comment" else f"a.py:2: error: wrong {text}\na.py:3: warning: {text}\n"
    outcome = collect_findings([(request, Completion(answer, "stop"))], template.parser,
                               ReviewSettings(min_severity="info"))
    for finding in outcome.findings:
        assert render_problems(comment_body(finding)) == [], finding.message
    body = _sink().payload(_result(outcome.findings, ()), (), outcome.findings)["body"]
    assert render_problems(body) == [], body


@settings(max_examples=300, deadline=None)
@given(paths, texts)
def test_file_names_and_messages_render_harmless_in_the_review_body(path: str, text: str) -> None:
    finding = _finding(path, sanitize_message(text), "feedface0002")
    result = _result((finding,), (Skipped(path, None, "excluded"), Skipped(path, "@@ -1 +1 @@", "budget")))
    body = _sink().payload(result, (), (finding,))["body"]
    assert render_problems(body) == [], body
    assert fingerprints_in(body) == {"feedface0002"} and head_in(body) == HEAD
    assert unreviewed_in(body) == {path_key(path)}  # the budget skip; `excluded` is the base config's choice


# ---------------------------------------------------------------- through `review-bot review`

HOSTILE_COMMENTS = [
    # issue 16, defect 5: where the sanitiser thought a fence opened, CommonMark sees none
    "This is wrong, see x\u2028```\u2028@octocat <img src=https://evil.example/p.png> fixes #123 "
    "![t](https://evil.example/t.png)",
    # (a list or quote on the first line would follow the comment's "**warning**: " prefix: not one)
    "Wrong:\n\n- item\n  ```\n@octocat <img src=https://evil.example/p.png> fixes #123 ![t](https://evil.example/t.png)",
    "wrong:\n> quote\n> ```\n@octocat <img src=https://evil.example/p.png> fixes #123",
    "1. wrong\n\n   ~~~\n   x\n~~~\n@octocat <b>fixes</b> #123 ![t](https://evil.example/t.png)",
    "wrong\n    ```\n@octocat fixes #123 <img src=https://evil.example/p.png>",
    "wrong\u2029```\u2029@octocat fixes #123 <img src=https://evil.example/p.png>",
    # issue 16, defect 4: a link that shows one target and goes to another
    "Wrong, see [https://github.com/octo-org/octo-repo/security/advisories/GHSA-xxxx](https://evil.example/login)",
    "Wrong, see [the advisory][1].\n\n[1]: https://evil.example/login",
    "Wrong, see [GHSA-xxxx].\n\n[GHSA-xxxx]: https://evil.example/login \"GitHub advisory\"",
    "Wrong, see [https://github.com/advisories][].\n\n  [https://github.com/advisories]: <https://evil.example/login>",
    "Wrong: [![status](https://github.com/badge.svg)](https://evil.example/login)",
    "Wrong: [`https://github.com/octo-org/octo-repo`](https://evil.example/login)",
    "Wrong: <a href=\"https://evil.example/login\">https://github.com/login</a>",
    "Wrong: [a\n> b](https://evil.example/login)",
]


def _one_file_pull(srv: GitHubServer, tmp_path: Path, lines: int = 1) -> str:
    """A pull request adding `lines` lines to a.py (a real git diff); returns its head sha."""
    base = "".join(f"value_{i} = {i}\n" for i in range(1, 6))
    head = base + "".join(f"added_{i} = compute({i})\n" for i in range(1, lines + 1))
    v0, v1 = git_history(tmp_path / "repo", [{"a.py": base}, {"a.py": head}])
    srv.add_pull(REPO, 7, git_diff(tmp_path / "repo", v0, v1), base_sha=v0, head_sha=v1)
    return v0


def _review(srv: GitHubServer, model: ModelServer, tmp_path: Path, *extra: str,
            token: str = BOT_TOKEN) -> tuple[int, str, str, str]:
    summary = tmp_path / "summary.md"
    env = {"GITHUB_API_URL": srv.url, "GITHUB_TOKEN": token, "PATH": "/usr/bin:/bin",
           "GITHUB_STEP_SUMMARY": str(summary)}
    code, out, err = run_main(["review", "--repo", REPO, "--pr", "7", "--api", "hf", "--endpoint", model.url,
                               "--min-severity", "info", "--rpm", "6000", *extra], env)
    return code, out, err, summary.read_text(encoding="utf-8") if summary.exists() else ""


# Our own HTML in the job summary (bot.sinks.step_summary): not model text.
_OWN_SUMMARY_HTML = re.compile(r"^</?details>(?:<summary>Budget and timings</summary>)?$", re.MULTILINE)


@pytest.mark.parametrize("hostile", HOSTILE_COMMENTS)
def test_review_posts_hostile_pr_comment_text_harmless(tmp_path: Path, hostile: str) -> None:
    """`review --template starcoder2-pr` (multi-line comments): what GitHub renders of the
    posted comment, the review body and the job summary has nothing live and no disguised link."""
    with emulator() as srv, ModelServer(responder=lambda prompt, payload: hostile) as model:
        _one_file_pull(srv, tmp_path)
        code, _, err, summary = _review(srv, model, tmp_path, "--template", "starcoder2-pr")
        assert code == 0, err
        [comment] = srv.review_comments(REPO, 7)
        [review] = srv.reviews(REPO, 7)
        assert render_problems(comment["body"]) == [], comment["body"]
        assert render_problems(review["body"]) == [], review["body"]
        assert render_problems(_OWN_SUMMARY_HTML.sub("", summary)) == [], summary
        assert "Wrong" in comment["body"] or "wrong" in comment["body"]  # the words stay


def test_review_posts_hostile_diagnostics_harmless_inline_in_the_body_and_as_annotations(tmp_path: Path) -> None:
    """Findings over the inline cap are listed in the review body; a read-only token prints
    annotations: every place model text goes is sanitised the same way."""
    link = "[https://github.com/octo-org/octo-repo/security/advisories/GHSA-xxxx](https://evil.example/login)"

    def answer(prompt: str, payload: dict[str, Any]) -> str:
        return "".join(f"a.py:{n}: error: wrong value {n}, see {link} @octocat #12 <img src=x>\n"
                       for n in range(6, 6 + 34))

    config = "[review]\nmax_comments = 40\nmax_comments_per_file = 40\n"
    with emulator() as srv, ModelServer(responder=answer) as model:
        base = _one_file_pull(srv, tmp_path, lines=34)
        srv.add_file(REPO, base, ".github/review-bot.toml", config)
        code, _, err, summary = _review(srv, model, tmp_path)
        assert code == 0, err
        comments = srv.review_comments(REPO, 7)
        [review] = srv.reviews(REPO, 7)
        assert len(comments) == 30 and "Findings not placed on the diff" in review["body"]
        for body in [c["body"] for c in comments] + [review["body"], _OWN_SUMMARY_HTML.sub("", summary)]:
            assert render_problems(body) == [], body
            assert "evil.example/login" in body  # the real target is shown, not hidden
    with emulator() as srv, ModelServer(responder=answer) as model:
        base = _one_file_pull(srv, tmp_path / "read-only", lines=34)
        srv.add_file(REPO, base, ".github/review-bot.toml", config)
        code, out, err, _ = _review(srv, model, tmp_path / "read-only", token=READ_TOKEN)
        assert code == 0, err
        notes = [line for line in out.splitlines() if line.startswith("::error file=a.py")]
        assert len(notes) == 34
        for line in notes:
            assert "](https://evil" not in line and "<img" not in line and "@octocat" not in line
