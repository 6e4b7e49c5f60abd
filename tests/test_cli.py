"""The command line's contract: exit codes, one-line errors, stdout vs stderr, formats."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.cli_runner import run_main
from tests.conftest import CORPUS, REPO_ROOT
from tests.servers.model_server import Fault, ModelServer

CASE = CORPUS / "jinja" / "2b9035e2df"  # one file, one hunk: requirements/dev.txt
GOOD_FILE = """diff --git a/ok.py b/ok.py
index 1111111..2222222 100644
--- a/ok.py
+++ b/ok.py
@@ -1,2 +1,3 @@
 a = 1
+b = 2
 c = 3
"""


def run(argv: list[str], env: Mapping[str, str] | None = None, stdin: bytes | None = None) -> tuple[int, str, str]:
    """The CLI as a subprocess: what a user sees, tracebacks included."""
    done = subprocess.run([sys.executable, "-m", "bot", *argv], input=stdin, capture_output=True,
                          cwd=REPO_ROOT, env={"PATH": "/usr/bin:/bin", **(env or {})}, timeout=120)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def one_clear_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    errors = [line for line in lines if line.startswith("review-bot: error:")]
    assert len(errors) == 1, err
    return errors[0]


@pytest.mark.parametrize(("text", "expected"), [
    ("hello, this is not a diff\n", "not a unified diff"),
    ("", "empty"),
    (GOOD_FILE.replace("+b = 2\n", ""), "ok.py"),  # counts disagree with the lines
    (GOOD_FILE.rsplit(" c = 3\n", 1)[0], "ok.py"),  # truncated hunk
])
def test_bad_diff_input_exits_2_with_one_line(tmp_path: Path, text: str, expected: str) -> None:
    diff = tmp_path / "bad.diff"
    diff.write_text(text)
    for argv in (["prompts", "--diff", str(diff)], ["dry-run", "--diff", str(diff)]):
        code, out, err = run(argv)
        assert code == 2
        assert expected in one_clear_line(err)
        assert out == ""


def test_one_broken_file_is_skipped_and_the_rest_reviewed(tmp_path: Path) -> None:
    broken = GOOD_FILE.replace("ok.py", "broken.py").replace("+b = 2\n", "")
    diff = tmp_path / "mixed.diff"
    diff.write_text(broken + GOOD_FILE)
    code, out, err = run(["prompts", "--diff", str(diff), "--format", "json"])
    assert code == 0, err
    data = json.loads(out)
    assert [r["files"] for r in data["requests"]] == [["ok.py"]]
    assert data["skipped"] == [{"path": "broken.py", "hunk": None, "reason": "unparsable"}]


def test_prompts_reads_stdin_and_reports_the_plan_on_stderr() -> None:
    code, out, err = run(["prompts", "--diff", "-"], stdin=(CASE / "pr.diff").read_bytes())
    assert code == 0
    assert "requirements/dev.txt" in out and "tox==3.19.0" in out
    assert "requests planned" in err


@pytest.mark.parametrize(("config", "expected"), [
    ("[model]\nmax_new_tokens = 'many'\n", "max_new_tokens"),
    ("[review]\nbogus = 1\n", "bogus"),
    ("[nope]\n", "[nope]"),
    ("[model\n", "not valid TOML"),
    # api defaults to llama-cpp
    ("[model]\nendpoint = 'http://127.0.0.1:8080'\n", "set api = 'hf', 'openai' or 'openai-chat'"),
    ("[model]\ngguf = 'starcoder2-3b.Q4_K_M.gguf'\n", "expected REPO/FILE.gguf@REVISION"),
])
def test_config_errors_name_the_file_and_key(tmp_path: Path, config: str, expected: str) -> None:
    path = tmp_path / "review-bot.toml"
    path.write_text(config)
    code, out, err = run(["prompts", "--diff", str(CASE / "pr.diff"), "--config", str(path)])
    assert code == 2
    line = one_clear_line(err)
    assert expected in line and str(path) in line


def test_usage_error_exits_2() -> None:
    code, _, err = run(["dry-run", "--format", "yaml"])
    assert code == 2 and "Traceback" not in err


def _responder(prompt: str, payload: dict[str, object]) -> str:
    return "\nrequirements/dev.txt:27: error: tox 3.19 drops a flag used in tox.ini\n"


def test_fail_on_sets_exit_1_and_formats_print_to_stdout(tmp_path: Path) -> None:
    with ModelServer(responder=_responder) as srv:
        common = ["dry-run", "--diff", str(CASE / "pr.diff"), "--api", "hf", "--endpoint", srv.url]
        code, out, err = run_main([*common, "--fail-on", "error", "-q"])
        assert code == 1 and "requirements/dev.txt:27: error:" in out and err == ""
        assert run_main([*common, "--fail-on", "never"])[0] == 0
        target = tmp_path / "out.sarif"
        code, out, _ = run_main([*common, "--format", "sarif", "--output", str(target)])
        assert code == 0 and out == ""
        assert json.loads(target.read_text())["version"] == "2.1.0"


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("fault", ["unauthorized", "not_found", "gone", "refused"])
def test_model_refusals_exit_3_naming_endpoint_and_fix(fault: str) -> None:
    token = "hf_secretsecretsecretsecret0123"
    with ModelServer(responder=_responder) as srv:
        endpoint = f"http://127.0.0.1:{_refused_port()}" if fault == "refused" else srv.url
        if fault != "refused":
            srv.script([Fault(fault)] * 10)  # type: ignore[arg-type]
        code, out, err = run(["dry-run", "--diff", str(CASE / "pr.diff"), "--api", "hf", "--endpoint", endpoint, "-q"],
                             env={"HF_TOKEN": token})
    assert code == 3
    line = one_clear_line(err)
    assert endpoint.split("//")[1] in line
    assert token not in err + out
    hint = {"unauthorized": "HF_TOKEN", "not_found": "--endpoint", "gone": "router", "refused": "running"}[fault]
    assert hint in line, line


@pytest.mark.parametrize("fmt", ["sarif", "markdown", "github"])
def test_prompts_refuses_formats_it_cannot_print(fmt: str) -> None:
    code, out, err = run_main(["prompts", "--diff", str(CASE / "pr.diff"), "--format", fmt], {"PATH": "/usr/bin"})
    assert code == 2 and out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "--format" in lines[0] and fmt in lines[0], err


def test_missing_model_token_is_a_configuration_error() -> None:
    code, out, err = run_main(["dry-run", "--diff", str(CASE / "pr.diff"), "--api", "hf",
                               "--endpoint", "https://router.huggingface.co/hf-inference/models/{model}"],
                              {"PATH": "/usr/bin"})
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.startswith("review-bot: error:")]
    assert len(lines) == 1 and "HF_TOKEN is not set" in lines[0]


def test_the_error_path_reads_no_workspace_config_in_github_mode(tmp_path: Path) -> None:
    from bot.cli import _token_env_name, build_parser

    config = tmp_path / "review-bot.toml"
    config.write_text('[model]\ntoken_env = "WORKSPACE_TOKEN"\n', encoding="utf-8")
    parser = build_parser()
    local = parser.parse_args(["dry-run", "--diff", "x.diff", "--config", str(config)])
    assert _token_env_name(local, {}) == "WORKSPACE_TOKEN"  # a local run: its config is the workspace's
    for argv in (["review", "--config", str(config)],
                 ["dry-run", "--repo", "o/r", "--pr", "1", "--config", str(config)]):
        # GitHub mode: --config names a file at the base commit; the workspace may be the PR's head.
        assert _token_env_name(parser.parse_args(argv), {}) == "HF_TOKEN"


def _unwritable(tmp_path: Path) -> Path:
    """A place this process cannot create a file in: a read-only folder, or for root (whom
    permissions do not stop) sysfs, which refuses new files to everyone."""
    if os.geteuid() == 0:
        return Path("/sys/review-bot-out.json")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    return folder / "out.json"


@pytest.mark.parametrize("where", ["missing folder", "not writable", "a directory"])
def test_a_bad_output_is_refused_before_the_model_is_asked(tmp_path: Path, where: str) -> None:
    """Issue 17 item 4: the findings must not be lost after the model has run."""
    output = {"missing folder": tmp_path / "no" / "such" / "out.json", "not writable": _unwritable(tmp_path),
              "a directory": tmp_path}[where]
    with ModelServer(responder=_responder) as srv:
        for command in (["dry-run", "--api", "hf", "--endpoint", srv.url], ["prompts"]):
            code, out, err = run([*command, "--diff", str(CASE / "pr.diff"), "--output", str(output)])
            assert code == 2 and out == ""
            line = one_clear_line(err)
            assert f"--output {output}" in line, line
        assert srv.requests == []
    assert not (tmp_path / "no").exists()


def test_a_good_output_is_left_as_it_was_until_the_findings_are_written(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    with ModelServer(responder=_responder, token="hf_right") as srv:
        code, _, err = run(["dry-run", "--diff", str(CASE / "pr.diff"), "--api", "hf", "--endpoint", srv.url,
                            "--output", str(target)], env={"HF_TOKEN": "hf_wrong"})
    assert code == 3, err  # the model refused: the file is not truncated by the check
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
