"""Offline checks of the workflows and the composite action (actionlint and zizmor run in
scripts/lint_workflows.sh; these hold the rules we rely on without any download)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import DEFAULT_GGUF
from tests.conftest import REPO_ROOT

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
FILES = [*WORKFLOWS, REPO_ROOT / "action.yml"]
_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$")
_RUN = re.compile(r"^(\s*)(?:-\s+)?run:\s*(.*)$")


def run_blocks(text: str) -> list[str]:
    """The text of every `run:` script (inline or block scalar)."""
    lines = text.splitlines()
    blocks: list[str] = []
    for i, line in enumerate(lines):
        match = _RUN.match(line)
        if not match:
            continue
        first = match.group(2)
        if first not in ("|", ">", "|-", ">-"):
            blocks.append(first)
            continue
        key_column = line.index("run:")
        body = []
        for following in lines[i + 1:]:
            if following.strip() and len(following) - len(following.lstrip()) <= key_column:
                break
            body.append(following)
        blocks.append("\n".join(body))
    return blocks


def test_files_exist() -> None:
    assert {p.name for p in WORKFLOWS} >= {"review.yml", "ci.yml"}


def test_run_blocks_finds_block_scripts() -> None:
    text = "steps:\n  - run: |\n      a\n      echo ${{ x }}\n    env:\n      A: 1\n  - run: echo hi\n"
    assert run_blocks(text) == ["      a\n      echo ${{ x }}", "echo hi"]
    assert len(run_blocks((REPO_ROOT / "action.yml").read_text(encoding="utf-8"))) == 2


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_actions_are_pinned_to_full_commit_shas(path: Path) -> None:
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _USES.match(line)
        if match is None or match.group(1).startswith("./"):
            continue
        ref = match.group(1).rpartition("@")[2]
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{path.name}: {line.strip()} is not pinned to a sha"
        assert re.search(r"#\s*v\d", match.group(2)), f"{path.name}: {line.strip()} has no version comment"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_expressions_inside_run_scripts(path: Path) -> None:
    blocks = run_blocks(path.read_text(encoding="utf-8"))
    for block in blocks:
        assert "${{" not in block, f"{path.name}: template expression in a run script: {block!r}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_do_not_persist_credentials(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count("actions/checkout@") == text.count("persist-credentials: false")


def test_review_workflow_shape() -> None:
    text = (REPO_ROOT / ".github" / "workflows" / "review.yml").read_text(encoding="utf-8")
    assert "types: [opened, synchronize, reopened, ready_for_review]" in text
    assert "workflow_dispatch:" in text and "options: [full, incremental]" in text
    assert re.search(r"^permissions: \{\}$", text, re.M)
    assert "contents: read" in text and "pull-requests: write" in text
    assert "cancel-in-progress: true" in text and "github.event.pull_request.number || inputs.pr" in text
    assert "secrets." not in text  # the default model runs in process: no secret, so forks are reviewed too
    assert "pull_request_target" not in text


def test_action_inputs_reach_the_bot_through_env_only() -> None:
    text = (REPO_ROOT / "action.yml").read_text(encoding="utf-8")
    for name in ("hf-token", "github-token", "api", "gguf", "llama-cpp-python-version", "endpoint", "model",
                 "template", "config", "fail-on", "dry-run"):
        assert re.search(rf"^  {re.escape(name)}:$", text, re.M), name
        assert f"${{{{ inputs.{name} }}}}" in text, name
    assert "ACTION_PATH: ${{ github.action_path }}" in text and "using: composite" in text


def ci_run_command() -> str:
    """The command .ci/run hands over to (its `exec` line)."""
    lines = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    (command,) = [ln.removeprefix("exec ").strip() for ln in lines if ln.startswith("exec ")]
    return command


def test_ci_workflow_runs_exactly_what_ci_run_runs() -> None:
    command = ci_run_command()
    assert command == "bash scripts/test.sh"
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```sh\n{command}\n```" in readme  # the README's test command
    text = (REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert run_blocks(text) == [command]  # one script step, nothing else, in every job
    assert re.findall(r"^  (\S+):$", text.split("\njobs:\n", 1)[1], re.M) == ["test"]


def test_ci_workflow_caches_pip_and_the_model_keyed_on_the_scripts() -> None:
    text = (REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert text.count("uses: actions/cache@") == 2
    paths = re.findall(r"^\s+path: (?:\|\n((?:\s+\S+\n)+)|(\S+)\n)", text, re.M)
    cached = {p.strip() for block, single in paths for p in (block.split() if block else [single])}
    assert {"~/.cache/pip", "~/.cache/review-bot"} <= cached
    keys = re.findall(r"^\s+key: (.+)$", text, re.M)
    assert len(keys) == 2 and all("hashFiles(" in key and "scripts/" in key for key in keys)
    for script in ("scripts/install_local_extra.sh", "scripts/fetch_test_model.sh", "scripts/build_shared_data.py",
                   "scripts/shared_data.json"):
        assert (REPO_ROOT / script).is_file() and script in text, script


def test_the_test_command_rebuilds_missing_data_and_runs_the_end_to_end_tests() -> None:
    script = (REPO_ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    build = script.index("scripts/build_shared_data.py")
    assert build < script.index("-m pytest -q tests")
    assert "REVIEW_BOT_REQUIRE_E2E=1" in script and "scripts/fetch_test_model.sh" in script
    assert "scripts/install_local_extra.sh" in script and "scripts/lint_workflows.sh" in script


def test_action_defaults_to_the_local_model_and_caches_wheel_and_model() -> None:
    text = (REPO_ROOT / "action.yml").read_text(encoding="utf-8")
    caches = re.findall(r"uses: actions/cache@[0-9a-f]{40} # v[\d.]+\n\s+with:\n\s+path: (\S+)\n\s+key: (.+)", text)
    assert len(caches) == 2, caches
    (wheel_path, wheel_key), (model_path, model_key) = caches
    assert wheel_path == "~/.cache/pip/wheels"
    for part in ("${{ inputs.llama-cpp-python-version }}", "${{ runner.os }}", "${{ runner.arch }}"):
        assert part in wheel_key
    assert model_path == "~/.cache/huggingface/hub"
    assert f"${{{{ inputs.gguf || '{DEFAULT_GGUF}' }}}}" in model_key  # the pin the bot uses by default
    script = (REPO_ROOT / "scripts" / "install_local_extra.sh").read_text(encoding="utf-8")
    version = re.search(r'VERSION="\$\{LLAMA_CPP_PYTHON_VERSION:-([\d.]+)\}"', script)
    assert version is not None and f'default: "{version.group(1)}"' in text
    assert "install_local_extra.sh" in text and '"$ACTION_PATH[local]"' in text
    assert re.search(r"^  hf-token:\n(?:    .*\n)*?    required: false", text, re.M)
