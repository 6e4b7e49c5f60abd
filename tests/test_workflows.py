"""Offline checks of the workflows and the composite action (actionlint and zizmor run in
scripts/lint_workflows.sh; these hold the rules we rely on without any download)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import DEFAULT_GGUF
from tests.conftest import REPO_ROOT
from tests.servers.hub_server import HubServer

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
FILES = [*WORKFLOWS, REPO_ROOT / "action.yml"]
_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$")
_RUN = re.compile(r"^(\s*)(?:-\s+)?run:\s*(.*)$")
CACHE = "actions/cache"
REVIEW_WORKFLOW = REPO_ROOT / ".github" / "workflows" / "review.yml"


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
    assert len(run_blocks((REPO_ROOT / "action.yml").read_text(encoding="utf-8"))) == 3


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
                 "template", "config", "max-requests", "max-minutes", "fail-on", "dry-run"):
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
    restores = {step["id"]: step for step in action_steps() if step.get("uses", "").startswith(CACHE + "/restore@")}
    assert set(restores) == {"wheel-cache", "model-cache"}, restores
    wheel, model = restores["wheel-cache"]["with"], restores["model-cache"]["with"]
    assert wheel["path"] == "~/.cache/pip/wheels"
    for part in ("${{ inputs.llama-cpp-python-version }}", "${{ inputs.python-version }}", "${{ runner.os }}",
                 "${{ runner.arch }}"):
        assert part in wheel["key"]
    assert model["path"] == "~/.cache/huggingface/hub"
    assert f"${{{{ inputs.gguf || '{DEFAULT_GGUF}' }}}}" in model["key"]  # the pin the bot uses by default
    script = (REPO_ROOT / "scripts" / "install_local_extra.sh").read_text(encoding="utf-8")
    version = re.search(r'VERSION="\$\{LLAMA_CPP_PYTHON_VERSION:-([\d.]+)\}"', script)
    assert version is not None and f'default: "{version.group(1)}"' in text
    assert "install_local_extra.sh" in text and '"$ACTION_PATH[local]"' in text
    assert re.search(r"^  hf-token:\n(?:    .*\n)*?    required: false", text, re.M)


# --- the caches: restored and saved apart, warmed from the default branch ---------------------------


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def action_steps() -> list[dict[str, Any]]:
    return list(load(REPO_ROOT / "action.yml")["runs"]["steps"])


def step_named(name: str) -> tuple[int, dict[str, Any]]:
    (found,) = [(i, step) for i, step in enumerate(action_steps()) if step.get("name") == name]
    return found


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    """The `on:` mapping (YAML 1.1 reads a bare `on` key as the boolean true)."""
    on = workflow.get("on", workflow.get(True))
    assert isinstance(on, dict), on
    return on


def readme_workflow() -> dict[str, Any]:
    """The workflow the README tells users to copy: its one yaml block that uses the action."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "/review-bot@" in b]
    assert len(blocks) == 1, blocks
    data = yaml.safe_load(blocks[0])
    assert isinstance(data, dict)
    return data


WORKFLOWS_WITH_WARM = {"review.yml": lambda: load(REVIEW_WORKFLOW), "README.md": readme_workflow}


def uses_the_action(step: dict[str, Any]) -> bool:
    uses = str(step.get("uses", ""))
    return uses == "./" or re.fullmatch(r"[\w.-]+/review-bot@[0-9a-f<>\w-]+", uses) is not None


def action_step(job: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if uses_the_action(s)]
    return step


def events_of(condition: str) -> set[str]:
    """The events a job's `if:` admits; it must be a plain `github.event_name == 'x' || ...`."""
    terms = [term.strip() for term in condition.split("||")]
    events = {re.fullmatch(r"github\.event_name == '([a-z_]+)'", term) for term in terms}
    assert None not in events, f"not a plain disjunction of events: {condition!r}"
    return {match.group(1) for match in events if match is not None}


def warm_and_review(workflow: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    jobs = workflow["jobs"]
    warm = [j for j in jobs.values() if str(action_step(j).get("with", {}).get("warm-only", "")).lower() == "true"]
    review = [j for j in jobs.values() if j not in warm]
    assert len(warm) == 1 and len(review) == 1, jobs
    return warm[0], review[0]


def test_no_step_saves_at_the_end_of_the_job_only() -> None:
    # actions/cache saves in its post step, "if the job completes successfully" (docs.github.com,
    # dependency-caching reference, "Cache hits and misses"): a run that times out saves nothing.
    steps = action_steps()
    assert not [s for s in steps if s.get("uses", "").startswith(CACHE + "@")]
    cache_steps = [s for s in steps if s.get("uses", "").startswith(CACHE + "/")]
    assert len(cache_steps) == 4
    shas = {s["uses"].partition("@")[2] for s in cache_steps}
    assert len(shas) == 1, shas  # restore and save from one pinned actions/cache commit
    ci = (REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert f"{CACHE}@{shas.pop()}" in ci  # the commit the rest of the repository pins


def test_each_restore_has_a_save_of_the_same_path_and_key_right_after_its_work() -> None:
    steps = action_steps()
    index = {s.get("id") or s["name"]: i for i, s in enumerate(steps)}
    review_at, review = step_named("Review")
    saves = [(i, s) for i, s in enumerate(steps) if s.get("uses", "").startswith(CACHE + "/save@")]
    work = {"wheel-cache": "Install review-bot", "model-cache": "Fetch the model"}
    for restore_id, producer in work.items():
        restore = steps[index[restore_id]]
        (save_at, save), = [(i, s) for i, s in saves if restore_id in s["with"]["key"]]
        assert save["with"] == {"path": restore["with"]["path"],
                                "key": f"${{{{ steps.{restore_id}.outputs.cache-primary-key }}}}"}
        assert f"steps.{restore_id}.outputs.cache-hit != 'true'" in save["if"]  # a hit is not saved again
        assert index[restore_id] < index[producer] < save_at < review_at, (restore_id, producer)
        assert "always()" not in save["if"]  # a failed install or fetch must not be saved half done
    # Everything but the review runs in a warm-only job.
    assert review["if"] == "inputs.warm-only != 'true'"
    assert [i for i, s in enumerate(steps) if "warm-only" in str(s.get("if", ""))] == [review_at]


def test_the_model_fetched_is_the_one_the_key_names() -> None:
    _, restore = step_named("Restore the model")
    _, fetch = step_named("Fetch the model")
    key = restore["with"]["key"]
    assert key == "review-bot-gguf-" + fetch["env"]["REVIEW_BOT_GGUF"]
    assert fetch["if"] == "(inputs.api == '' || inputs.api == 'llama-cpp') && " \
        "steps.model-cache.outputs.cache-hit != 'true'"


@pytest.mark.parametrize("source", list(WORKFLOWS_WITH_WARM))
def test_the_warm_job_runs_on_push_to_the_default_branch_and_on_a_schedule(source: str) -> None:
    workflow = WORKFLOWS_WITH_WARM[source]()
    on = triggers(workflow)
    # GitHub offers no "default branch" filter: the branch is named, and it is this repository's
    # default, the one ci.yml's push runs on.
    assert on["push"]["branches"] == ["main"]
    assert triggers(load(REPO_ROOT / ".github" / "workflows" / "ci.yml"))["push"]["branches"] == ["main"]
    # Caches unused for 7 days are evicted: the schedule must come back sooner, on every week day cycle.
    (entry,) = on["schedule"]
    minute, hour, day, month, weekdays = entry["cron"].split()
    assert (day, month) == ("*", "*") and minute.isdigit() and hour.isdigit()
    days = sorted(int(d) for d in weekdays.split(","))
    gaps = [(b - a) % 7 or 7 for a, b in zip(days, days[1:] + days[:1], strict=True)]
    assert max(gaps) < 7, gaps
    warm, review = warm_and_review(workflow)
    assert events_of(warm["if"]) == {"push", "schedule"}
    assert events_of(review["if"]) & {"push", "schedule"} == set()
    assert events_of(warm["if"]) | events_of(review["if"]) == set(on)  # every trigger runs one of them


def cache_key_inputs() -> set[str]:
    """The action's inputs that decide whether a cache step runs and what its key is."""
    names: set[str] = set()
    for step in action_steps():
        if step.get("uses", "").startswith(CACHE + "/restore@"):
            names |= set(re.findall(r"inputs\.([\w-]+)", step["with"]["key"] + " " + step.get("if", "")))
    return names


@pytest.mark.parametrize("source", list(WORKFLOWS_WITH_WARM))
def test_warm_and_review_compute_the_same_cache_keys(source: str) -> None:
    assert cache_key_inputs() == {"api", "gguf", "llama-cpp-python-version", "python-version"}
    warm, review = warm_and_review(WORKFLOWS_WITH_WARM[source]())
    assert warm["runs-on"] == review["runs-on"]  # runner.os and runner.arch are part of the wheel's key
    given = [action_step(job).get("with", {}) for job in (warm, review)]
    for name in cache_key_inputs():
        assert given[0].get(name) == given[1].get(name), name
    assert action_step(warm)["uses"] == action_step(review)["uses"]


@pytest.mark.parametrize("source", list(WORKFLOWS_WITH_WARM))
def test_the_inputs_given_to_the_action_are_its_inputs(source: str) -> None:
    # actionlint's WebAssembly build can't read a local action's metadata: this is that check.
    declared = set(load(REPO_ROOT / "action.yml")["inputs"])
    for job in WORKFLOWS_WITH_WARM[source]()["jobs"].values():
        assert set(action_step(job).get("with", {})) <= declared


def test_the_fetch_step_fetches_the_model_once_and_fails_in_one_line(tmp_path: Path) -> None:
    """The action's own fetch script, run by bash as the runner would, against the loopback Hub."""
    _, fetch = step_named("Fetch the model")
    venv_bin = tmp_path / "runner" / "review-bot-venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (venv_bin / "python").chmod(0o755)
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF" + bytes(range(256)) * 64)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "PYTHONPATH": str(REPO_ROOT),
           "RUNNER_TEMP": str(tmp_path / "runner"), "HF_HOME": str(tmp_path / "hf"),
           "REVIEW_BOT_GGUF": DEFAULT_GGUF, "HF_HUB_DISABLE_TELEMETRY": "1"}  # the key's value with no gguf input

    def run(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-e", "-c", fetch["run"]], env={**env, **extra}, capture_output=True,
                              text=True, timeout=120)

    with HubServer({DEFAULT_GGUF: model}) as hub:
        first = run({"HF_ENDPOINT": hub.url})
        assert first.returncode == 0, first.stderr
        path = Path(first.stdout.strip())
        assert path.read_bytes() == model.read_bytes() and path.is_relative_to(tmp_path / "hf" / "hub")
        assert len(hub.downloads) == 1
        again = run({"HF_ENDPOINT": hub.url})
        assert again.returncode == 0 and len(hub.downloads) == 1  # a restored cache is used as it is
    (tmp_path / "hf").rename(tmp_path / "hf-was")
    down = run({"HF_ENDPOINT": "http://127.0.0.1:9"})  # nothing listens there
    assert down.returncode == 3, down.stderr
    lines = down.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("review-bot: cannot reach http://127.0.0.1:9"), down.stderr
    assert "Traceback" not in down.stderr
