"""SARIF 2.1.0 structure, checked by hand against the fields the spec and GitHub require."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.sinks.sarif import SarifFormatter
from tests.sinks import finding, sample_result

LEVELS = {"error", "warning", "note", "none"}


def check_sarif(doc: dict) -> None:
    assert doc["version"] == "2.1.0"
    assert doc["$schema"].endswith("sarif-2.1.0.json")
    assert isinstance(doc["runs"], list) and len(doc["runs"]) == 1
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "review-bot"
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert len(set(rule_ids)) == len(rule_ids)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in LEVELS
    for result in run["results"]:
        assert result["ruleId"] in rule_ids
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in LEVELS
        assert isinstance(result["message"]["text"], str) and result["message"]["text"]
        assert len(result["locations"]) == 1
        physical = result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert uri and not uri.startswith("/") and " " not in uri
        if "region" in physical:
            region = physical["region"]
            assert isinstance(region["startLine"], int) and region["startLine"] >= 1
            assert region.get("endLine", region["startLine"]) >= region["startLine"]
        assert all(isinstance(v, str) for v in result["partialFingerprints"].values())


def test_sarif_required_fields_and_values() -> None:
    doc = json.loads(SarifFormatter().render(sample_result()))
    check_sarif(doc)
    results = doc["runs"][0]["results"]
    by_line = {r["message"]["text"].split("\n")[0]: r for r in results}
    error = by_line["`x` may be None here"]
    assert error["level"] == "error" and error["ruleId"] == "review-bot/error"
    assert error["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}
    assert error["partialFingerprints"] == {"reviewBot/v1": "aaaaaaaaaaaa"}
    ranged = by_line["loop runs past the end"]
    assert ranged["locations"][0]["physicalLocation"]["region"] == {"startLine": 8, "endLine": 10}
    left = by_line["this check was still needed"]
    assert "region" not in left["locations"][0]["physicalLocation"]  # no such line in the head tree
    assert "line 5 of the old file" in left["message"]["text"]
    notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes][0] == "skipped poetry.lock (generated)"


def test_sarif_info_is_note_and_paths_are_uris() -> None:
    doc = json.loads(SarifFormatter().render(sample_result(
        finding("style nit", path="docs/my file#1.md", severity="info"), skipped=())))
    check_sarif(doc)
    [result] = doc["runs"][0]["results"]
    assert result["level"] == "note"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "docs/my%20file%231.md"


def test_sarif_empty_run_is_valid() -> None:
    empty = replace(sample_result(), findings=(), skipped=())
    doc = json.loads(SarifFormatter().render(empty))
    check_sarif(doc)
    assert doc["runs"][0]["results"] == []
