"""`review-bot eval` against the loopback model server: the plumbing, the scoring and the references.

The model here is a script (it names the first added line of the prompt), so these tests check
that every case reaches the model with every template, that findings are scored against the
labels, and that failures are counted; review quality itself needs a real StarCoder2 endpoint.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.diff.parse import parse_diff
from bot.errors import InputError
from bot.eval.cases import (
    TEMPLATES,
    Case,
    Label,
    chance_of_hit,
    every_changed_line_reviewer,
    finding_spot,
    load_cases,
    new_position,
    random_line_reviewer,
    score,
)
from bot.types import Finding
from tests.cli_runner import run_main
from tests.conftest import EVAL_SET, FIXTURES, FULL_CORPUS, JINJA_CORPUS
from tests.servers.model_server import Fault, ModelServer

CASES = 60
FILE = re.compile(r"^(?:\+\+\+ b/|File: )(\S+)", re.MULTILINE)
ADDED = re.compile(r"^\s*(\d+) \+ ", re.MULTILINE)
ROW_KEYS = {"name", "kind", "cases", "failed", "partial", "recall", "exact_recall", "chance_recall", "precision",
            "findings_per_case", "prompt_tokens_per_case", "completion_tokens_per_case", "seconds_per_case",
            "failures", "per_case", "same_file_recall", "every_line_precision", "requests_per_case", "dropped",
            "combines"}
REFERENCES = ("random line (1 per case, seed 0)", "every changed line")
COMPLETION_TEMPLATES = [t for t in TEMPLATES if t != "review-chat"]  # what api hf can send


def first_added_line(prompt: str, payload: dict[str, Any]) -> str:
    """A scripted model: a diagnostic on the prompt's first added line (a comment for starcoder2-pr)."""
    if "<pr>" in prompt:
        return "username_1: this looks wrong, the value may be None here"
    path = FILE.search(prompt)
    added = ADDED.search(prompt, path.end()) if path else None
    if path is None or added is None:
        return "No findings."
    message = f"{added.group(1)}: info: this added line may be wrong\n"
    # The `review` template ends with "PATH:" for the model to continue; others want the whole line.
    return message if prompt.endswith(f"\n{path.group(1)}:") else f"{path.group(1)}:{message}"


def eval_args(server: ModelServer, *extra: str) -> list[str]:
    return ["eval", "--set", str(EVAL_SET), "--api", "hf", "--endpoint", server.url, "-q", *extra]


@pytest.fixture(scope="module")
def json_report() -> tuple[dict[str, Any], list[str]]:
    with ModelServer(first_added_line) as server:
        code, out, err = run_main(eval_args(server, "--format", "json"))
        prompts = [r.prompt for r in server.requests]
    assert code == 0, err
    return json.loads(out), prompts


def test_every_template_reviews_all_60_cases_and_both_references_are_there(
        json_report: tuple[dict[str, Any], list[str]]) -> None:
    report, prompts = json_report
    assert report["version"] == 1 and report["cases"] == CASES and report["window"] == 3
    assert report["min_severity"] == "info"
    rows = {row["name"]: row for row in report["rows"]}
    assert list(rows) == [f"template {t}" for t in COMPLETION_TEMPLATES] + list(REFERENCES)
    for row in rows.values():
        assert set(row) == ROW_KEYS
        assert row["cases"] == CASES and row["failed"] == 0 and len(row["per_case"]) == CASES
        for key in ("recall", "chance_recall", "precision"):
            assert 0.0 <= row[key] <= 1.0, (row["name"], key)
    # Each template's prompts reached the model once per case (every eval diff fits one request).
    assert sum("$ bugcheck --diff" in p for p in prompts) == CASES
    assert sum("### Instruction" in p for p in prompts) == CASES
    assert sum("<pr>" in p for p in prompts) == CASES


def test_findings_on_labelled_lines_are_scored_as_hits(json_report: tuple[dict[str, Any], list[str]]) -> None:
    report, _ = json_report
    rows = {row["name"]: row for row in report["rows"]}
    review = rows["template review"]
    # The scripted model flags the first added line: a labelled line whenever the case adds any.
    adds = {c.name for c in load_cases(EVAL_SET) if any(ln.kind == "+" for f in c.diff.files for h in f.hunks
                                                        for ln in h.lines)}
    hits = {c["case"] for c in review["per_case"] if c["hit"]}
    assert hits == adds
    assert review["precision"] == 1.0 and review["findings_per_case"] == pytest.approx(len(adds) / CASES, abs=1e-3)
    said = [s for c in review["per_case"] for s in c["said"]]
    assert said and all(s["severity"] == "info" and s["side"] == "RIGHT" for s in said)
    # Every changed line is labelled in this set (the labels mark the whole reversed fix).
    assert rows["every changed line"]["recall"] == 1.0 and rows["every changed line"]["precision"] == 1.0


def test_markdown_table_has_a_row_per_template_and_reference() -> None:
    with ModelServer(first_added_line) as server:
        code, out, err = run_main(eval_args(server, "--limit", "4"))
    assert code == 0, err
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| reviewer | cases | failed | recall | exact-line recall | random-line chance | "
                               "same-file chance | precision | every-changed-line precision | findings/case")
    names = [line.split(" | ")[0][2:] for line in table[1:]]
    assert names == [f"template {t}" for t in COMPLETION_TEMPLATES] + list(REFERENCES)
    assert all(line.split(" | ")[1] == "4" for line in table[1:])


def test_a_failing_case_is_counted_and_listed_and_the_rest_still_run() -> None:
    cases = load_cases(EVAL_SET, limit=3)
    victim = cases[1]
    marker = victim.diff.files[0].hunks[0].header  # the hunk header with its section text
    assert not any(h.header == marker for c in (cases[0], cases[2]) for f in c.diff.files for h in f.hunks)
    with ModelServer(first_added_line) as server:
        server.fault_on_prompt(marker.split("@@")[-1].strip() or marker, Fault("forbidden"))
        code, out, err = run_main(eval_args(server, "--limit", "3", "--templates", "review", "--format", "json"))
    assert code == 0, err
    [row, *_] = json.loads(out)["rows"]
    assert row["failed"] == 1 and [f["case"] for f in row["failures"]] == [victim.name]
    assert "403" in row["failures"][0]["error"] or "access" in row["failures"][0]["error"]
    assert [c["error"] is None for c in row["per_case"]] == [True, False, True]


def test_a_model_that_refuses_everything_stops_after_five_cases_without_crashing() -> None:
    with ModelServer(first_added_line, token="needed") as server:
        code, out, err = run_main(eval_args(server, "--limit", "8", "--templates", "review", "--format", "json"))
        sent = len(server.requests)
    assert code == 0, err
    [row, *_] = json.loads(out)["rows"]
    assert row["failed"] == 8 and row["recall"] is None and row["precision"] is None
    assert sum(f["error"].startswith("not run") for f in row["failures"]) == 3
    assert sent == 5  # 401 is not retried; the last three cases were never sent


def test_min_severity_is_info_unless_given() -> None:
    with ModelServer(first_added_line) as server:
        code, out, _ = run_main(eval_args(server, "--limit", "3", "--templates", "review", "--format", "json",
                                          "--min-severity", "warning"))
    assert code == 0
    report = json.loads(out)
    assert report["min_severity"] == "warning" and report["rows"][0]["findings_per_case"] == 0


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run_main(["eval", "--set", str(tmp_path / "none")])[0] == 2
    assert run_main(["eval", "--set", str(EVAL_SET), "--format", "sarif"])[0] == 2
    corpus = str(FIXTURES / "corpus" / "werkzeug")
    for flags, says in ((["--haystack-files", "-1"], "--haystack-files -1: give 0 or more"),
                        (["--haystack-files", "4", "--haystack-hunks", "4"], "give one of them")):
        code, _, err = run_main(["eval", "--set", str(EVAL_SET), "--haystack", corpus, *flags])
        assert code == 2 and says in err and "Traceback" not in err
    case = tmp_path / "c1"
    case.mkdir()
    (case / "pr.diff").write_bytes((sorted(EVAL_SET.iterdir())[0] / "pr.diff").read_bytes())
    (case / "labels.json").write_text('{"labels": [{"path": "a.py", "line": 1, "kind": "moved"}]}')
    code, _, err = run_main(["eval", "--set", str(tmp_path)])
    assert code == 2 and "unknown label kind 'moved'" in err
    with pytest.raises(InputError):
        load_cases(EVAL_SET, limit=0)


# ---------------------------------------------------------------- scoring, without a model

DIFF = parse_diff(
    "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n"
    "@@ -10,6 +10,4 @@ def f():\n"
    " a\n"        # old 10, new 10
    "-b\n"        # old 11
    "-c\n"        # old 12
    "+B\n"        # new 11
    " d\n"        # old 13, new 12
    " e\n"        # old 14, new 13
    "-f\n"        # old 15: removed at the end of the hunk
)


def make_case(*labels: Label) -> Case:
    return Case("c", DIFF, labels, "fix")


def finding(line: int, side: str = "RIGHT", start: int | None = None) -> Finding:
    return Finding(path="m.py", line=line, side=side, start_line=start, severity="warning",  # type: ignore[arg-type]
                   message="m", suggestion=None, fingerprint="0" * 12)


def test_left_lines_sit_before_the_next_new_line() -> None:
    hunks = DIFF.files[0].hunks
    assert new_position(hunks, 11, "LEFT") == 11 and new_position(hunks, 12, "LEFT") == 11
    assert new_position(hunks, 13, "LEFT") == 12  # a context line keeps its new number
    assert new_position(hunks, 15, "LEFT") == 14  # after the last line: the hunk's end
    assert finding_spot(finding(13, "RIGHT", start=10), DIFF) == ("m.py", 10, 13)
    assert finding_spot(finding(15, "LEFT", start=11), DIFF) == ("m.py", 11, 14)


def test_the_window_is_three_lines_either_way_in_the_same_file() -> None:
    case = make_case(Label("m.py", 20, "added"))
    assert score(case, [("m.py", 17, 17)]).matched == 1
    assert score(case, [("m.py", 16, 16)]).matched == 0
    assert score(case, [("m.py", 23, 23), ("m.py", 24, 24), ("other.py", 20, 20)]).matched == 1
    assert score(case, [("m.py", 10, 17)]).hit  # a range counts from its nearest end
    assert not score(case, [("m.py", 10, 16)]).hit


def test_chance_of_a_hit_is_exact_for_a_small_case() -> None:
    # RIGHT lines 10..13 (four); a label at 20 is near 17..23: none of them. At 16: 13 only.
    assert chance_of_hit(make_case(Label("m.py", 20, "added")), 1) == 0.0
    assert chance_of_hit(make_case(Label("m.py", 16, "added")), 1) == pytest.approx(1 / 4)
    assert chance_of_hit(make_case(Label("m.py", 16, "added")), 2) == pytest.approx(1 - (3 / 4) * (2 / 3))
    assert chance_of_hit(make_case(Label("m.py", 11, "added")), 1) == 1.0
    assert chance_of_hit(make_case(Label("m.py", 16, "added")), 0) == 0.0


TWO_FILES = parse_diff(
    "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -10,6 +10,4 @@ def f():\n a\n-b\n-c\n+B\n d\n e\n-f\n"
    "diff --git a/o.py b/o.py\n--- a/o.py\n+++ b/o.py\n@@ -1,3 +1,4 @@\n p\n+q\n r\n s\n")


def test_random_line_chance_keeps_range_widths_and_same_file_chance_keeps_the_file() -> None:
    from bot.eval.cases import chances

    # RIGHT lines: m.py 10..13 and o.py 1..4 (eight). A label at m.py:16 is near 13..19.
    case = Case("c", TWO_FILES, (Label("m.py", 16, "added"),), "fix")
    # A two-line range at a random start n covers n, n+1: near from n = 12 (m.py 12 and 13).
    assert chances(case, [("m.py", 12, 13)]) == (pytest.approx(2 / 8), pytest.approx(2 / 4))
    # A one-line finding in the other file: anywhere in the diff 1/8 (m.py:13); in its own file never.
    assert chances(case, [("o.py", 2, 2)]) == (pytest.approx(1 / 8), 0.0)
    both = chances(case, [("o.py", 2, 2), ("m.py", 12, 13), ("m.py", 12, 13)])  # the same spot twice counts once
    assert both == (pytest.approx(1 - (7 / 8) * (6 / 8)), pytest.approx(2 / 4))
    assert chances(case, []) == (0.0, 0.0)
    result = score(case, [("m.py", 12, 13)])
    assert (result.chance, result.same_file, result.labels) == (pytest.approx(0.25), pytest.approx(0.5),
                                                                (("m.py", 16),))


def test_reference_reviewers() -> None:
    case = make_case(Label("m.py", 11, "added"))
    assert every_changed_line_reviewer(case) == [("m.py", 11, 11), ("m.py", 11, 11), ("m.py", 11, 11),
                                                 ("m.py", 14, 14)]
    draws = {random_line_reviewer(Case(f"case-{i}", DIFF, (), ""))[0] for i in range(40)}
    assert draws <= {("m.py", n, n) for n in (10, 11, 12, 13)} and len(draws) > 1
    assert random_line_reviewer(case) == random_line_reviewer(case)
    others = [Case(f"case-{i}", DIFF, (), "") for i in range(40)]
    assert [random_line_reviewer(c, seed=1) for c in others] != [random_line_reviewer(c) for c in others]


def test_the_shared_labels_are_where_their_kind_says() -> None:
    """Both kinds are new-file positions: an added line, or the new line right after a deletion."""
    cases = load_cases(EVAL_SET)
    assert len(cases) == CASES
    kinds = {label.kind for case in cases for label in case.labels}
    assert kinds == {"added", "removed-before"}
    for case in cases:
        for label in case.labels:
            hunks = [h for f in case.diff.files if f.path == label.path for h in f.hunks]
            if label.kind == "added":
                assert any(ln.kind == "+" and ln.new_no == label.line for h in hunks for ln in h.lines)
            else:
                assert any(new_position([h], ln.old_no, "LEFT") == label.line
                           for h in hunks for ln in h.lines if ln.kind == "-" and ln.old_no is not None)


# -- haystack and answer cache ------------------------------------------------------------------

HELDOUT = ("werkzeug", "requests")  # held-out sets (scripts/heldout_data.json), committed under tests/fixtures
SETS = {"jinja": (EVAL_SET, JINJA_CORPUS), **{name: (FIXTURES / "eval" / name, FIXTURES / "corpus" / name)
                                             for name in HELDOUT}}


@pytest.mark.parametrize("name", list(SETS))
def test_haystack_default_is_whole_file_decoys_with_random_line_chance_at_most_a_tenth(name: str) -> None:
    from bot.eval.cases import with_haystack
    from bot.eval.haystack import DECOY_CHANGED_LINES
    from bot.plan.packing import file_priority

    eval_set, corpus = SETS[name]
    if name == "jinja" and not FULL_CORPUS:
        pytest.skip(f"{corpus} is the vendored subset; the haystack draws from the whole corpus")
    cases = load_cases(eval_set)
    mixed = with_haystack(cases, str(corpus))
    alone = sum(chance_of_hit(c, 1) for c in cases) / len(cases)
    chance = sum(chance_of_hit(c, 1) for c in mixed) / len(mixed)
    assert chance <= 0.10 < alone
    again = with_haystack(cases, str(corpus))
    assert [c.diff for c in again] == [c.diff for c in mixed]  # seeded: the same pull requests every run
    low, high = DECOY_CHANGED_LINES
    for case, big in zip(cases, mixed, strict=True):
        own = {f.path for f in case.diff.files}
        assert [f for f in big.diff.files if f.path in own] == list(case.diff.files)
        others = [f for f in big.diff.files if f.path not in own]
        assert len(others) == 4
        for decoy in others:  # a whole file of a corpus commit, as a pull request carries it
            changed = sum(1 for h in decoy.hunks for ln in h.lines if ln.kind in "+-")
            assert low <= changed <= high and decoy.language and file_priority(decoy.path) < 2, (decoy.path, changed)
        assert len({f.path for f in big.diff.files}) == len(big.diff.files)
        assert big.labels == case.labels


def test_the_small_hunk_haystack_is_still_there_for_the_first_stored_rows() -> None:
    from bot.eval.cases import with_haystack

    if not FULL_CORPUS:
        pytest.skip(f"{JINJA_CORPUS} is the vendored subset")
    cases = load_cases(EVAL_SET)
    mixed = with_haystack(cases, str(JINJA_CORPUS), hunks=4)
    for case, big in zip(cases, mixed, strict=True):
        others = [f for f in big.diff.files if f.path not in {f.path for f in case.diff.files}]
        assert len(others) == 4 and all(len(f.hunks) == 1 and len(f.hunks[0].lines) <= 30 for f in others)
    with pytest.raises(InputError):
        with_haystack(cases, str(JINJA_CORPUS), hunks=4, files=4)


@pytest.mark.parametrize("name", HELDOUT)
def test_eval_runs_on_each_held_out_set_with_its_haystack(name: str) -> None:
    eval_set, corpus = SETS[name]
    with ModelServer(first_added_line) as server:
        code, out, err = run_main(["eval", "--set", str(eval_set), "--haystack", str(corpus), "--api", "hf",
                                   "--endpoint", server.url, "-q", "--templates", "review", "--limit", "3",
                                   "--format", "json"])
    assert code == 0, err
    row = json.loads(out)["rows"][0]
    assert row["cases"] == 3 and row["failed"] == 0 and row["findings_per_case"]
    assert 0 < row["chance_recall"] < 1 and 0 <= row["same_file_recall"] <= 1
    assert all(case["labels"] for case in row["per_case"])


def test_cached_answers_are_reused_and_keep_the_models_time(tmp_path: Path) -> None:
    with ModelServer(first_added_line) as server:
        args = eval_args(server, "--limit", "3", "--templates", "review", "--format", "json",
                         "--cache", str(tmp_path / "answers"))
        code, first, err = run_main(args)
        assert code == 0, err
        sent = len(server.requests)
        assert sent == 3 and len(list((tmp_path / "answers").glob("*.json"))) == 3
        code, second, err = run_main(args)
        assert code == 0, err
        assert len(server.requests) == sent  # every answer came from the cache
    one, two = (json.loads(out)["rows"][0] for out in (first, second))
    assert [c["said"] for c in one["per_case"]] == [c["said"] for c in two["per_case"]]
    assert two["seconds_per_case"] == one["seconds_per_case"]


def test_dropped_answers_are_counted_by_reason_with_their_text_and_printed_per_case() -> None:
    """What the model said that became no finding is visible: in JSON with its text, in markdown per case."""
    answers = iter(["The change looks risky to me, but I cannot say where.",
                    "{path}:99999: warning: a line far off this diff",
                    "{path}:{line}: warning: this added line may be wrong"])

    def model(prompt: str, payload: dict[str, Any]) -> str:
        path = FILE.search(prompt)
        added = ADDED.search(prompt, path.end()) if path else None
        assert path is not None and added is not None
        return next(answers).format(path=path.group(1), line=added.group(1))

    with ModelServer(model) as server:
        code, out, err = run_main(eval_args(server, "--limit", "3", "--templates", "review-instruct",
                                            "--format", "json"))
    assert code == 0, err
    row = json.loads(out)["rows"][0]
    first, second, third = row["per_case"]
    assert first["dropped"] == [{"reason": "unparsed", "text": "The change looks risky to me, but I cannot say where."}]
    assert [d["reason"] for d in second["dropped"]] == ["ungrounded"]
    assert second["dropped"][0]["text"].endswith(":99999: a line far off this diff")
    assert third["dropped"] == [] and len(third["said"]) == 1
    assert row["dropped"] == {"dropped_ungrounded": 1, "dropped_unparsed": 1}
    assert all(case["labels"] for case in row["per_case"])
    answers = iter(["The change looks risky to me, but I cannot say where.",
                    "{path}:99999: warning: a line far off this diff",
                    "{path}:{line}: warning: this added line may be wrong"])
    with ModelServer(model) as server:
        code, out, err = run_main(eval_args(server, "--limit", "3", "--templates", "review-instruct",
                                            "--format", "markdown"))
    assert code == 0, err
    table = [line for line in out.splitlines() if line.startswith("| template review-instruct")]
    assert table and table[0].endswith(" | ungrounded 1, unparsed 1 |")
    label = ",".join(str(n) for n in sorted({x["line"] for x in first["labels"]}))
    assert f"- {first['case']} [miss] fix: " in out and f"label: {first['labels'][0]['path']}:{label}" in out
    assert "  - dropped (unparsed): The change looks risky to me, but I cannot say where." in out
    assert "  - said " in out and ": this added line may be wrong" in out


def test_confirmation_requests_count_in_the_cost_columns(tmp_path: Path) -> None:
    """[review] confirm_findings sends one more request per finding: a row measured with it
    must say what it cost (it once reported only the planned review requests)."""
    config = tmp_path / "confirm.toml"
    config.write_text("[review]\nconfirm_findings = true\n", encoding="utf-8")

    def model(prompt: str, payload: dict[str, Any]) -> str:
        return "yes" if "Answer yes or no" in prompt else first_added_line(prompt, payload)

    rows = []
    for extra in ((), ("--config", str(config))):
        with ModelServer(model) as server:
            code, out, err = run_main(eval_args(server, "--limit", "3", "--templates", "review-instruct",
                                                "--format", "json", *extra))
            sent = len(server.requests)
        assert code == 0, err
        row = json.loads(out)["rows"][0]
        assert row["requests_per_case"] * 3 == sent
        rows.append(row)
    plain, confirmed = rows
    assert confirmed["findings_per_case"] == plain["findings_per_case"] > 0  # every "yes" keeps its finding
    assert confirmed["requests_per_case"] == plain["requests_per_case"] + confirmed["findings_per_case"]
    assert confirmed["prompt_tokens_per_case"] > plain["prompt_tokens_per_case"]
