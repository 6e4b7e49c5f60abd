"""[review] rank_by = "surprise": each finding scores the model's surprise at the added code near
it; the best `keep_best` stay. The rule on its own here, with a surprisal given per word (the
real model's is in tests/e2e/test_surprise_real_model.py), and its config check through the CLI."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from bot.diff.parse import parse_diff
from bot.findings.surprise import RADIUS, finding_score, line_surprise, most_surprising, new_side
from bot.types import Finding, Hunk
from tests.cli_runner import run_main

DIFF = """\
diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,4 +1,7 @@
 def add(a, b):
     return a + b
+
+def sub(a, b):
+    return a ODD b
{blank}
 def mul(a, b):
@@ -20,2 +23,3 @@ def div(a, b):
     return a / b
+# a plain comment
 x = 1
""".format(blank=" ")  # a context line holding nothing but its space


def hunks() -> tuple[Hunk, ...]:
    return parse_diff(DIFF).files[0].hunks


def by_word(text: str) -> Sequence[tuple[int, float]]:
    """A surprisal per word: 9 nats for ODD, 1 for any other word (the first word has none)."""
    data = text.encode("utf-8")
    words = [(m.start(), m.group()) for m in re.finditer(rb"\S+", data)]
    return [(at, 9.0 if word == b"ODD" else 1.0) for at, word in words[1:]]


def finding(line: int, side: str = "RIGHT", start_line: int | None = None) -> Finding:
    return Finding(path="calc.py", line=line, side=side, start_line=start_line, severity="warning",  # type: ignore[arg-type]
                   message="m", suggestion=None, fingerprint=f"f{line}{side}{start_line}")


def test_the_text_read_is_a_path_line_then_the_new_side_and_each_row_knows_its_line() -> None:
    text, rows = new_side(hunks()[0])
    assert text.splitlines()[0] == "# calc.py"
    assert text.splitlines()[1:] == ["def add(a, b):", "    return a + b", "", "def sub(a, b):",
                                     "    return a ODD b", "", "def mul(a, b):"]
    assert rows == [(1, False), (2, False), (3, True), (4, True), (5, True), (6, False), (7, False)]


def test_only_added_non_blank_lines_score_and_a_line_is_its_most_surprising_token() -> None:
    scores = line_surprise(hunks()[0], by_word)
    assert set(scores) == {4, 5}  # 3 is blank; 1, 2, 6 and 7 are context
    assert scores[5] == 9.0 and scores[4] == 1.0


def test_tokens_are_placed_on_lines_by_byte_offset_past_non_ascii_text() -> None:
    diff = DIFF.replace("+def sub(a, b):", "+def sub(a, b):  # é, ü, 日本")
    scores = line_surprise(parse_diff(diff).files[0].hunks[0], by_word)
    assert scores[5] == 9.0 and scores[4] == 1.0


def test_a_finding_scores_the_worst_added_line_within_the_radius() -> None:
    scores = {4: 1.0, 5: 9.0}
    assert finding_score(finding(5), scores) == 9.0
    assert finding_score(finding(5 + RADIUS), scores) == 9.0
    assert finding_score(finding(5 + RADIUS + 1), scores) is None
    assert finding_score(finding(9, start_line=4), scores) == 9.0  # a range: all of it, and the radius
    assert finding_score(finding(5, side="LEFT"), scores) is None  # a deleted line: no new code to read


def test_the_most_surprising_stay_in_their_own_order_and_each_hunk_is_read_once() -> None:
    read: list[str] = []

    def counting(text: str) -> Sequence[tuple[int, float]]:
        read.append(text)
        return by_word(text)

    findings = [finding(24), finding(1), finding(5), finding(4)]
    kept = most_surprising(findings, hunks(), counting, keep=2)
    assert [f.line for f in kept] == [5, 4]  # 5 and 4 share the ODD line's 9.0 within the radius
    assert len(read) == 2  # the first hunk once for three findings, the second once
    kept = most_surprising(findings, hunks(), by_word, keep=3)
    assert [f.line for f in kept] == [24, 5, 4]  # 24 scores 1.0; 1 (context, no added line near) nothing


def test_ties_go_to_the_earlier_finding_and_unscored_findings_come_last() -> None:
    findings = [finding(2, side="LEFT"), finding(24), finding(23)]
    assert [f.line for f in most_surprising(findings, hunks(), by_word, keep=1)] == [24]
    assert [f.line for f in most_surprising(findings, hunks(), by_word, keep=2)] == [24, 23]


def test_rank_by_surprise_over_http_is_a_config_error_that_says_what_to_do(tmp_path: Path) -> None:
    config = tmp_path / "review-bot.toml"
    config.write_text("[review]\nkeep_best = 2\nrank_by = \"surprise\"\n", encoding="utf-8")
    diff = tmp_path / "pr.diff"
    diff.write_text(DIFF, encoding="utf-8")
    code, _, err = run_main(["dry-run", "--diff", str(diff), "--config", str(config), "--api", "openai-chat",
                             "--endpoint", "http://127.0.0.1:9"])
    assert code == 2 and "rank_by = 'surprise'" in err and "llama-cpp" in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err


def test_an_unknown_rank_by_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "review-bot.toml"
    config.write_text("[review]\nrank_by = \"vibes\"\n", encoding="utf-8")
    code, _, err = run_main(["dry-run", "--diff", str(tmp_path / "none.diff"), "--config", str(config)])
    assert code == 2 and "rank_by" in err and "Traceback" not in err, err
