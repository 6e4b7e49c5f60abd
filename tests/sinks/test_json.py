from __future__ import annotations

import json

from bot.sinks.json import JsonFormatter
from tests.sinks import finding, sample_result


def test_json_matches_the_documented_contract() -> None:
    out = JsonFormatter().render(sample_result())
    data = json.loads(out)
    assert list(data) == ["version", "source", "findings", "skipped", "stats"]
    assert data["version"] == 1
    assert data["source"] == {"kind": "pull_request", "repo": "octo/repo", "pr": 7,
                              "base_sha": "a" * 40, "head_sha": "b" * 40}
    assert list(data["findings"][0]) == ["path", "line", "side", "start_line", "severity", "message",
                                         "suggestion", "fingerprint"]
    assert data["findings"][1] == {"path": "src/a.py", "line": 10, "side": "RIGHT", "start_line": 8,
                                   "severity": "warning", "message": "loop runs past the end",
                                   "suggestion": None, "fingerprint": "bbbbbbbbbbbb"}
    assert data["skipped"] == [{"path": "poetry.lock", "hunk": None, "reason": "generated"},
                               {"path": "src/a.py", "hunk": "@@ -40,2 +41,3 @@", "reason": "budget"}]
    for key in ("files", "hunks", "hunks_reviewed", "requests", "retries", "prompt_tokens",
                "completion_tokens", "elapsed_s"):
        assert key in data["stats"]
    assert data["stats"]["hunks_reviewed"] == 9 and data["stats"]["elapsed_s"] == 3.2
    assert "untrusted" not in out  # PR title and body are not part of the output
    assert out.startswith("{\n  \"version\": 1,") and out.endswith("}\n")


def test_json_escapes_control_characters_and_never_starts_a_command_line() -> None:
    out = JsonFormatter().render(sample_result(finding("a\n::set-output name=x::y\u202e\x1b")))
    assert json.loads(out)["findings"][0]["message"] == "a\n::set-output name=x::y\u202e\x1b"
    assert all(not line.lstrip().startswith("::") for line in out.splitlines())
    assert "\u202e" not in out and "\x1b" not in out
