"""The held-out eval sets (werkzeug, requests): chosen by a rule on public history
(scripts/select_heldout_cases.py), built by scripts/build_shared_data.py into tests/fixtures, and
committed. Checked here: the committed sets are exactly what the manifest names, their labels are the
lines the reversed fix touches, and the two scripts, run on a small real git history, choose and
build a set that `review-bot eval --haystack` runs on."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.eval.cases import load_cases
from tests.cli_runner import run_main
from tests.conftest import FIXTURES, REPO_ROOT
from tests.servers.model_server import ModelServer

MANIFEST = REPO_ROOT / "scripts" / "heldout_data.json"
SELECT = REPO_ROOT / "scripts" / "select_heldout_cases.py"
BUILD = REPO_ROOT / "scripts" / "build_shared_data.py"
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z"}


def _labels_for() -> object:
    spec = importlib.util.spec_from_file_location("build_shared_data", BUILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.labels_for


@pytest.mark.parametrize("name", ["werkzeug", "requests"])
def test_committed_held_out_set_is_what_the_manifest_names(name: str) -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    labels_for = _labels_for()
    evals = FIXTURES / "eval" / name
    cases = sorted(p.name for p in evals.iterdir() if p.is_dir())
    assert cases == sorted(manifest["eval"][name]) and len(cases) >= 40
    for case in cases:
        data = json.loads((evals / case / "labels.json").read_text(encoding="utf-8"))
        assert data["fix_commit"] == manifest["eval"][name][case]["fix_commit"]
        diff = (evals / case / "pr.diff").read_text(encoding="utf-8")
        assert data["labels"] == labels_for(diff) and data["labels"]  # type: ignore[operator]
        assert diff.count("diff --git ") == 1  # one code file: the fix's tests are not part of the case
    corpus = FIXTURES / "corpus" / name
    decoys = sorted(p.name for p in corpus.iterdir() if p.is_dir())
    assert decoys == sorted(manifest["corpus"][name]) and len(decoys) >= 40
    assert all(sorted(f.name for f in (corpus / d).iterdir()) == ["head.json.gz", "pr.diff"] for d in decoys)
    assert manifest["head_files"] is True
    for d in decoys:  # the head text of each changed Python file the decoy's diff keeps
        heads = _heads(corpus / d)
        assert heads["commit"] == manifest["corpus"][name][d]["head"]
        changed = {line[6:] for line in (corpus / d / "pr.diff").read_text(encoding="utf-8").split("\n")
                   if line.startswith("+++ b/") and line.endswith(".py")}
        assert set(heads["files"]) == changed
    for case in cases:  # the fix's file at its parent: the reversed change's new side
        heads = _heads(evals / case)
        assert set(heads["files"]) == set(manifest["eval"][name][case]["paths"])
        assert heads["commit"] != manifest["eval"][name][case]["fix_commit"]
    fixes = {c["fix_commit"] for c in manifest["eval"][name].values()}
    assert not fixes & {c["head"] for c in manifest["corpus"][name].values()}  # a bug is never its own decoy
    assert len(load_cases(evals)) == len(cases)


def _heads(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(gzip.decompress((folder / "head.json.gz").read_bytes()))
    return data


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.parent)}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True).stdout.decode()


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, content in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content, encoding="utf-8")
        git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def test_select_then_build_a_held_out_set_from_a_real_history_and_eval_runs_on_it(tmp_path: Path) -> None:
    repo = tmp_path / "demo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    body = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(30))
    commit(repo, {"src/calc.py": "def total(xs):\n    s = 0\n    for x in xs[1:]:\n        s += x\n    return s\n",
                  "src/other.py": body}, "initial")
    decoy = commit(repo, {"src/other.py": body.replace("x + 1\n", "x + 100\n").replace("x + 2\n", "x * 2\n")
                          .replace("x + 3\n", "x - 3\n")}, "tune the other helpers")
    commit(repo, {"docs/index.rst": "hello\n", "src/calc.py": "def total(xs):\n    s = 0\n    for x in xs[1:]:\n"
                  "        s += x  # running sum\n    return s\n"}, "Fix typo in docs")  # not a code fix
    fix = commit(repo, {"src/calc.py": "def total(xs):\n    s = 0\n    for x in xs:\n        s += x  # running sum\n"
                        "    return s\n", "tests/test_calc.py": "assert total([1]) == 1\n"}, "fix total skipping one")
    manifest = tmp_path / "heldout.json"
    env = {**os.environ, **GIT_ENV}
    chose = subprocess.run([sys.executable, str(SELECT), "demo", str(repo), "--url", "https://example.invalid/demo",
                            "--manifest", str(manifest)], capture_output=True, text=True, env=env, check=False)
    assert chose.returncode == 0, chose.stderr
    data = json.loads(manifest.read_text(encoding="utf-8"))
    assert data["eval"]["demo"] == {fix[:10]: {"fix_commit": fix, "paths": ["src/calc.py"]}}
    assert list(data["corpus"]["demo"]) == [decoy[:10]]
    assert data["corpus"]["demo"][decoy[:10]]["paths"] == ["src/other.py"]
    built = subprocess.run([sys.executable, str(BUILD), "--manifest", str(manifest), "--dest", str(tmp_path / "out"),
                            "--cache", str(tmp_path / "cache"), "--url", f"demo={repo}"],
                           capture_output=True, text=True, env=env, check=False)
    assert built.returncode == 0, built.stderr
    (case,) = load_cases(tmp_path / "out" / "eval" / "demo")
    assert {(label.path, label.line) for label in case.labels} == {("src/calc.py", 3)}
    # A new manifest asks for head files: the case's file at the fix's parent (the bug is back in it).
    assert data["head_files"] is True and dict(case.head_files)["src/calc.py"].startswith(
        "def total(xs):\n    s = 0\n    for x in xs[1:]:")
    with ModelServer(lambda prompt, payload: "No findings.") as server:
        code, out, err = run_main(["eval", "--set", str(tmp_path / "out" / "eval" / "demo"), "--haystack",
                                   str(tmp_path / "out" / "corpus" / "demo"), "--api", "hf", "--endpoint",
                                   server.url, "-q", "--templates", "review", "--format", "json"])
        prompt = server.requests[0].prompt
    assert code == 0, err
    assert "src/other.py" in prompt and "src/calc.py" in prompt  # the bug among a whole decoy file
    assert json.loads(out)["rows"][0]["failed"] == 0
