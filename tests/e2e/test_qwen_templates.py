"""`review-bot dry-run` in process with a real code model, once per template.

Qwen2.5-Coder-1.5B-Instruct (32k context) reviews one labelled bug of the jinja eval set with
each packaged template, through the command line, as a user would run it. Whatever it says,
the run completes and every finding sits on a line of the diff GitHub takes a comment on;
the templates that draw findings from this model (review, review-chat, starcoder2-pr, as the
recorded answers in tests/fixtures/real_answers show) must give at least one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from unidiff import PatchSet

from tests.conftest import EVAL_SET

CASE = EVAL_SET / "60a7e775d4"  # one hunk in jinja2/debug.py: `locals = ctx.get_all()` loses a copy()
GIVES_FINDINGS = {"review", "review-chat", "starcoder2-pr"}


def right_lines(diff_text: str) -> dict[str, set[int]]:
    lines: dict[str, set[int]] = {}
    for patched in PatchSet(diff_text):
        for hunk in patched:
            for line in hunk:
                if line.target_line_no is not None:
                    lines.setdefault(patched.path, set()).add(line.target_line_no)
    return lines


@pytest.mark.parametrize("template", ["review", "review-instruct", "starcoder2-pr", "review-chat"])
def test_dry_run_in_process_with_a_real_code_model(template: str, qwen_model_path: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "review-bot.toml"
    config.write_text('[model]\nmax_new_tokens = 128\ntemperature = 0.0\n[review]\nmin_severity = "info"\n',
                      encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no token, no endpoint, no api: nothing but flags
    child = subprocess.run(
        [sys.executable, "-m", "bot", "dry-run", "--diff", str(CASE / "pr.diff"), "--config", str(config),
         "--api", "llama-cpp", "--model-path", str(qwen_model_path), "--template", template, "--format", "json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert child.returncode == 0, child.stderr[-3000:]
    assert "Traceback" not in child.stderr
    result = json.loads(child.stdout)
    stats = result["stats"]
    assert stats["requests"] == 1 and stats["hunks_reviewed"] == stats["hunks"] == 1
    assert stats["prompt_tokens"] > 0
    commentable = right_lines((CASE / "pr.diff").read_text(encoding="utf-8"))
    for finding in result["findings"]:
        assert finding["side"] == "RIGHT" and finding["line"] in commentable[finding["path"]], finding
        assert finding["message"].strip()
    if template in GIVES_FINDINGS:
        assert result["findings"], f"{template}: no findings; stderr:\n{child.stderr[-2000:]}"
    with capsys.disabled():
        print(f"\n[qwen {template}] findings={len(result['findings'])} prompt_tokens={stats['prompt_tokens']} "
              f"completion_tokens={stats['completion_tokens']} elapsed={stats['elapsed_s']:.1f}s "
              + "; ".join(f"{f['path']}:{f['line']} {f['message'][:80]}" for f in result["findings"]))
