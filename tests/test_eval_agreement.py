"""The "agreement of two samples" reviewer: `review-bot eval --agree-with CONFIG`.

A default finding is kept when a second sample (the same template under another config) has a
finding in the same file within 3 lines; the row costs both runs. Checked on the span rule
itself, on the row made from two runs' per-case results of real held-out cases, and end to end
against the loopback model server, then re-scored from the stored answers (--cache-only) with
nothing sent.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.eval.agreement import agreement_row
from bot.eval.cases import Row, load_cases, score
from bot.findings.agreement import agreement, agrees
from tests.cli_runner import run_main
from tests.conftest import FIXTURES
from tests.servers.model_server import ModelServer

WERKZEUG = FIXTURES / "eval" / "werkzeug"
CORPUS = FIXTURES / "corpus" / "werkzeug"
FILE = re.compile(r"^(?:\+\+\+ b/|File: )(\S+)", re.MULTILINE)
ADDED = re.compile(r"^\s*(\d+) \+ ", re.MULTILINE)


def test_a_finding_is_kept_when_the_other_sample_is_in_the_same_file_within_three_lines() -> None:
    others = [("a.py", 10, 10), ("b.py", 40, 44)]
    assert agrees(("a.py", 13, 13), others) and agrees(("a.py", 7, 7), others)
    assert not agrees(("a.py", 14, 14), others) and not agrees(("a.py", 6, 6), others)
    assert not agrees(("c.py", 10, 10), others)  # the same line in another file says nothing
    # Ranges: within 3 lines of the other's range, either end.
    assert agrees(("b.py", 47, 50), others) and agrees(("b.py", 30, 37), others)
    assert not agrees(("b.py", 48, 50), others) and not agrees(("b.py", 30, 36), others)
    assert agreement([("a.py", 11, 11), ("a.py", 20, 20), ("b.py", 42, 42)], others) == (True, False, True)
    assert agreement([("a.py", 11, 11)], []) == (False,)  # a silent second sample agrees with nothing


def _said(path: str, line: int, message: str) -> dict[str, Any]:
    return {"path": path, "line": line, "side": "RIGHT", "severity": "warning", "message": message}


def test_the_agreement_row_keeps_agreed_findings_adds_both_costs_and_names_what_it_dropped() -> None:
    first_case, second_case, third_case = load_cases(WERKZEUG, limit=3)
    label = first_case.labels[0]
    far = label.line + 40  # far from the label and from anything the second sample says
    near_label = (label.path, label.line, label.line)
    first = Row("template review-chat", "model", (
        score(first_case, [near_label, (label.path, far, far)], prompt_tokens=1000, completion_tokens=50,
              requests=2, seconds=10.0, said=(_said(label.path, label.line, "the check is gone"),
                                              _said(label.path, far, "unrelated")),
              drop_counts=(("dropped_unparsed", 1),)),
        score(second_case, [], prompt_tokens=800, completion_tokens=5, requests=1, seconds=4.0),
        score(third_case, [], error="model unreachable")))
    other = (label.path, label.line + 2, label.line + 2)  # the second sample names a line 2 below
    second = Row("template review-chat, qwen-r0.toml", "model", (
        score(first_case, [other], prompt_tokens=900, completion_tokens=40, requests=1, seconds=8.0,
              said=(_said(label.path, label.line + 2, "same place, other words"),),
              drop_counts=(("dropped_ungrounded", 3),), partial=True),
        score(second_case, [], error="model unreachable"),
        score(third_case, [], prompt_tokens=1, requests=1)))
    row = agreement_row("agreement", first, second, [first_case, second_case, third_case])
    one, two, three = row.results
    assert one.spots == (near_label,) and one.hit and one.matched == 1
    assert [s["message"] for s in one.said] == ["the check is gone"]
    assert (one.prompt_tokens, one.completion_tokens, one.requests, one.seconds) == (1900, 90, 3, 18.0)
    assert one.partial  # a request of the second sample failed
    # Its drops: the first run's counts and each finding the second sample did not agree with.
    assert dict(one.drop_counts) == {"dropped_unparsed": 1, "dropped_unagreed": 1}
    assert one.dropped == ({"reason": "unagreed", "text": f"{label.path}:{far}: unrelated"},)
    assert two.error == "second sample: model unreachable" and three.error == "model unreachable"
    data = row.to_json()
    assert data["combines"] == ["template review-chat", "template review-chat, qwen-r0.toml"]
    assert data["kind"] == "model" and data["failed"] == 2 and data["recall"] == 1.0
    assert data["requests_per_case"] == 3.0 and data["seconds_per_case"] == 18.0
    assert data["dropped"] == {"dropped_unagreed": 1, "dropped_unparsed": 1}


def two_samples(prompt: str, payload: dict[str, Any]) -> str:
    """A scripted model: the first sample names the prompt's first and last added lines, the
    second (temperature 0.7, the --agree-with config) only the first."""
    path = FILE.search(prompt)
    added = ADDED.findall(prompt, path.end()) if path else []
    if path is None or not added:
        return "No findings."
    first = f"{path.group(1)}:{added[0]}: warning: the first added line may be wrong"
    if payload["parameters"].get("temperature") == 0.7:
        return first
    return f"{first}\n{path.group(1)}:{added[-1]}: warning: the last added line may be wrong"


def _config(tmp_path: Path, name: str, temperature: float) -> str:
    path = tmp_path / name
    path.write_text(f"[model]\ntemperature = {temperature}\n\n[review]\nmin_severity = \"info\"\n", encoding="utf-8")
    return str(path)


def test_eval_agree_with_adds_an_agreement_row_that_rescores_from_stored_answers(tmp_path: Path) -> None:
    args = ["eval", "--set", str(WERKZEUG), "--haystack", str(CORPUS), "--limit", "3", "--templates", "review-instruct",
            "--api", "hf", "-q", "--format", "json", "--config", _config(tmp_path, "first.toml", 0.1),
            "--agree-with", _config(tmp_path, "second.toml", 0.7), "--cache", str(tmp_path / "answers")]
    with ModelServer(two_samples) as server:
        code, out, err = run_main([*args, "--endpoint", server.url])
        assert code == 0, err
        sent = len(server.requests)
        temperatures = sorted({r.json["parameters"].get("temperature") for r in server.requests})
    assert temperatures == [0.1, 0.7] and sent % 2 == 0  # both samples reached the model, the same requests
    report = json.loads(out)
    names = [row["name"] for row in report["rows"]]
    assert names[:3] == ["template review-instruct", "template review-instruct, second.toml",
                         "template review-instruct, agreement with second.toml"]
    first, second, agreed = report["rows"][:3]
    assert agreed["combines"] == names[:2] and not first["combines"] and not second["combines"]
    for key in ("requests_per_case", "prompt_tokens_per_case", "completion_tokens_per_case"):
        assert agreed[key] == pytest.approx(first[key] + second[key], abs=1e-3), key
    kept_total = dropped_total = 0
    for mine, theirs, both in zip(first["per_case"], second["per_case"], agreed["per_case"], strict=True):
        near = [s for s in mine["said"] if any(o["path"] == s["path"] and abs(o["line"] - s["line"]) <= 3
                                              for o in theirs["said"])]
        assert both["said"] == near
        assert [d["text"] for d in both["dropped"] if d["reason"] == "unagreed"] == [
            f"{s['path']}:{s['line']}: {s['message']}" for s in mine["said"] if s not in near]
        kept_total += len(near)
        dropped_total += len(mine["said"]) - len(near)
    # The scripted samples differ: something was kept (the first added lines) and something dropped.
    assert kept_total and dropped_total and agreed["dropped"]["dropped_unagreed"] == dropped_total
    assert agreed["findings_per_case"] < first["findings_per_case"]
    # From the stored answers alone: the same report, nothing sent.
    with ModelServer(two_samples) as server:
        code, again, err = run_main([*args, "--endpoint", server.url, "--cache-only"])
        assert code == 0, err
        assert server.requests == []
    assert json.loads(again)["rows"] == report["rows"]


def test_agree_with_a_missing_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    code, out, err = run_main(["eval", "--set", str(WERKZEUG), "--limit", "1", "--templates", "review-instruct",
                               "--api", "hf", "--endpoint", "http://127.0.0.1:9", "--agree-with",
                               str(tmp_path / "nope.toml")])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--agree-with" in err and "nope.toml" in err and "Traceback" not in err


def test_prompts_dir_flag_reads_templates_from_that_folder_for_both_samples(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    packaged = Path(__file__).resolve().parents[1] / "prompts" / "review-instruct.j2"
    head, tail = packaged.read_text(encoding="utf-8").rsplit("### Response", 1)  # the prompt's last line
    (prompts / "review-instruct.j2").write_text(f"{head}MARKER-FROM-PROMPTS-DIR\n### Response{tail}", encoding="utf-8")
    with ModelServer(two_samples) as server:
        code, _, err = run_main(["eval", "--set", str(WERKZEUG), "--limit", "1", "--templates", "review-instruct",
                                 "--api", "hf", "--endpoint", server.url, "-q", "--format", "json",
                                 "--config", _config(tmp_path, "first.toml", 0.1),
                                 "--agree-with", _config(tmp_path, "second.toml", 0.7),
                                 "--prompts-dir", str(prompts)])
        prompts_sent = [r.prompt for r in server.requests]
    assert code == 0, err
    assert prompts_sent and all("MARKER-FROM-PROMPTS-DIR" in p for p in prompts_sent)


def test_a_cache_only_run_keeps_no_pace_as_nothing_is_sent(tmp_path: Path) -> None:
    """`--cache-only` re-scores stored answers: the run's requests_per_minute (here 30: a wait of
    2 s before each request after the first of a case) is for a model, and none is asked."""
    paced = tmp_path / "paced.toml"
    paced.write_text("[model]\ntemperature = 0.1\n\n[budget]\nrequests_per_minute = 30\n\n"
                     "[review]\nmin_severity = \"info\"\n", encoding="utf-8")
    args = ["eval", "--set", str(WERKZEUG), "--haystack", str(CORPUS), "--limit", "2", "--templates", "review-instruct",
            "--api", "hf", "--format", "json", "-v", "--cache", str(tmp_path / "answers")]
    with ModelServer(two_samples) as server:
        code, out, err = run_main([*args, "--endpoint", server.url, "--config", _config(tmp_path, "free.toml", 0.1)])
        assert code == 0, err
        assert len(server.requests) >= 2 * 2  # two requests a case or more: a paced run would wait
    with ModelServer(two_samples) as server:
        code, again, err = run_main([*args, "--endpoint", server.url, "--config", str(paced), "--cache-only"])
        assert code == 0, err
        assert server.requests == []
    assert "requests_per_minute" not in err, err
    assert json.loads(again)["rows"] == json.loads(out)["rows"]
