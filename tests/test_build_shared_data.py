"""scripts/build_shared_data.py against a real git repository made here: the corpus and eval
cases it writes follow the layout of ../shared and agree with git (diff applies, old and new
contents are what `git show` says, labels sit on the lines the fix touched)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.eval.cases import load_cases
from tests.conftest import BUILD_HINT, EVAL_SET, FIXTURES, FULL_CORPUS, JINJA_CORPUS, REPO_ROOT, SHARED
from tests.oracle import check_case_against_oracle, git_lines

SCRIPT = REPO_ROOT / "scripts" / "build_shared_data.py"
MANIFEST = REPO_ROOT / "scripts" / "shared_data.json"
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z"}

BUGGY = "def total(xs):\n    s = 0\n    for x in xs[1:]:\n        s += x\n    return s\n"
FIXED = "def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s\n"
LONG = "".join(f"line {i}\n" for i in range(1, 41))


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.parent)}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True).stdout.decode()


def commit(repo: Path, files: dict[str, bytes | None], message: str) -> str:
    for name, content in files.items():
        path = repo / name
        if content is None:
            git(repo, "rm", "-q", name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A small public-looking history: a base, two commits of mixed changes, a bug fix."""
    repo = tmp_path_factory.mktemp("upstream") / "demo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    shas = {"base": commit(repo, {"src/calc.py": BUGGY.encode(), "notes.txt": LONG.encode(),
                                  "old_name.md": b"# title\n\nsame text\nfor the rename\n",
                                  "gone.cfg": b"[x]\ny = 1\n", "logo.png": b"\x89PNG\0\0\x01"}, "base")}
    commit(repo, {"notes.txt": LONG.replace("line 5\n", "line five\n").encode(), "gone.cfg": None,
                  "logo.png": b"\x89PNG\0\0\x02"}, "edit, delete, binary change")
    (repo / "docs").mkdir()
    git(repo, "mv", "old_name.md", "docs/new_name.md")
    shas["head"] = commit(repo, {"docs/new_name.md": b"# title\n\nsame text\nfor the rename\nplus one\n",
                                 "added.txt": "caf\u00e9\n".encode()}, "rename, add")
    shas["fix"] = commit(repo, {"src/calc.py": FIXED.encode(), "tests/test_calc.py": b"assert total([1]) == 1\n"},
                         "fix total skipping the first item")
    return repo, shas


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False,
                          env={**os.environ, **GIT_ENV})


@pytest.fixture(scope="module")
def built(upstream: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo, shas = upstream
    root = tmp_path_factory.mktemp("built")
    manifest = {"repositories": {"demo": "https://example.invalid/never/used"},
                "corpus": {"demo": {"range-1": {"base": shas["base"], "head": shas["head"]}}},
                "eval": {"demo": {shas["fix"][:10]: {"fix_commit": shas["fix"], "paths": ["src/calc.py"]}}}}
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    done = run_script("--dest", str(root / "shared"), "--cache", str(root / "cache"),
                      "--manifest", str(root / "manifest.json"), "--url", f"demo={repo.as_uri()}")
    assert done.returncode == 0, done.stderr
    assert "2 case(s) built" in done.stderr
    return root


def test_layout_matches_the_shared_folder(built: Path) -> None:
    shared = built / "shared"
    assert sorted(p.name for p in (shared / "corpus" / "demo" / "range-1").iterdir()) == ["oracle.json", "pr.diff"]
    (case,) = (shared / "eval" / "demo").iterdir()
    assert sorted(p.name for p in case.iterdir()) == ["labels.json", "pr.diff"]
    assert (built / "cache" / "demo.git").is_dir()


def test_corpus_case_agrees_with_git(built: Path, upstream: tuple[Path, dict[str, str]]) -> None:
    repo, shas = upstream
    case = built / "shared" / "corpus" / "demo" / "range-1"
    oracle = json.loads((case / "oracle.json").read_text(encoding="utf-8"))
    assert (oracle["base"], oracle["head"]) == (shas["base"], shas["head"])
    files = oracle["files"]
    assert {p: e["status"] for p, e in files.items()} == {
        "added.txt": "A", "docs/new_name.md": files["docs/new_name.md"]["status"], "gone.cfg": "D",
        "logo.png": "M", "notes.txt": "M"}
    assert files["docs/new_name.md"]["status"].startswith("R")
    assert files["docs/new_name.md"]["old_path"] == "old_name.md"
    for path, entry in files.items():
        if path == "logo.png":  # binary: no text on either side
            assert entry["old"] is None and entry["new"] is None
            continue
        old = None if entry["status"] == "A" else git(repo, "show", f"{shas['base']}:{entry['old_path']}")
        new = None if entry["status"] == "D" else git(repo, "show", f"{shas['head']}:{path}")
        assert (entry["old"], entry["new"]) == (old, new), path
    assert list(files) == sorted(files)
    # the diff is git's own and applies to the base
    assert (case / "pr.diff").read_text(encoding="utf-8") == git(
        repo, "diff", "--abbrev=8", "-M", shas["base"], shas["head"])
    git(repo, "checkout", "-q", shas["base"])
    try:
        git(repo, "apply", "--check", "--exclude=logo.png", str(case / "pr.diff"))
    finally:
        git(repo, "checkout", "-q", "main")
    check_case_against_oracle(case)


def test_eval_case_is_the_fix_reversed_and_labelled(built: Path, upstream: tuple[Path, dict[str, str]]) -> None:
    repo, shas = upstream
    folder = built / "shared" / "eval" / "demo"
    case = folder / shas["fix"][:10]
    diff = (case / "pr.diff").read_text(encoding="utf-8")
    assert diff == git(repo, "diff", "-U5", "--abbrev=8", shas["fix"], f"{shas['fix']}^", "--", "src/calc.py")
    assert "-    for x in xs:\n+    for x in xs[1:]:\n" in diff and "test_calc" not in diff
    labels = json.loads((case / "labels.json").read_text(encoding="utf-8"))
    assert labels["fix_commit"] == shas["fix"]
    assert labels["fix_subject"] == "fix total skipping the first item"
    assert labels["labels"] == [{"path": "src/calc.py", "line": 3, "kind": "removed-before"},
                                {"path": "src/calc.py", "line": 3, "kind": "added"}]
    assert git_lines(BUGGY)[2] == "    for x in xs[1:]:"  # the added label is the buggy line
    (loaded,) = load_cases(folder)
    assert loaded.fix_subject == labels["fix_subject"] and len(loaded.labels) == 2


def test_second_run_reuses_cache_and_cases(built: Path, upstream: tuple[Path, dict[str, str]]) -> None:
    repo, _ = upstream
    done = run_script("--dest", str(built / "shared"), "--cache", str(built / "cache"),
                      "--manifest", str(built / "manifest.json"), "--url", f"demo={repo}")
    assert done.returncode == 0, done.stderr
    assert "0 case(s) built" in done.stderr and "git clone" not in done.stderr


def test_complete_folder_needs_no_clone_at_all(built: Path, tmp_path: Path) -> None:
    done = run_script("--dest", str(built / "shared"), "--cache", str(tmp_path / "no-cache"),
                      "--manifest", str(built / "manifest.json"), "--url", "demo=/nonexistent/repository")
    assert done.returncode == 0, done.stderr
    assert "0 case(s) built" in done.stderr and not (tmp_path / "no-cache").exists()


def test_unknown_commit_is_one_clear_line(tmp_path: Path, upstream: tuple[Path, dict[str, str]]) -> None:
    repo, shas = upstream
    manifest = {"repositories": {"demo": str(repo)},
                "corpus": {"demo": {"x": {"base": shas["base"], "head": "0" * 40}}}}
    (tmp_path / "m.json").write_text(json.dumps(manifest), encoding="utf-8")
    done = run_script("--dest", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"),
                      "--manifest", str(tmp_path / "m.json"))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == f"build_shared_data: {repo} has no commit {'0' * 40}"
    assert not (tmp_path / "out" / "corpus" / "demo" / "x").exists()


VENDORED = ("corpus", "eval", "events")


def test_manifest_and_vendored_copies_match_the_shared_folder() -> None:
    """The manifest names every case of ../shared with the commits its metadata records (so the
    script rebuilds exactly those cases), and every vendored copy in tests/fixtures is
    byte-for-byte the file in ../shared."""
    if not FULL_CORPUS or EVAL_SET.is_relative_to(REPO_ROOT) or not (SHARED / "events").is_dir():
        pytest.skip(f"{SHARED / 'corpus' / 'jinja'} not found; {BUILD_HINT} to compare the manifest with it")
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    corpus = {p.name: json.loads((p / "oracle.json").read_text(encoding="utf-8")) for p in JINJA_CORPUS.iterdir()}
    assert manifest["corpus"]["jinja"] == {name: {"base": o["base"], "head": o["head"]} for name, o in corpus.items()}
    evals = {p.name: json.loads((p / "labels.json").read_text(encoding="utf-8"))["fix_commit"]
             for p in EVAL_SET.iterdir()}
    assert {name: case["fix_commit"] for name, case in manifest["eval"]["jinja"].items()} == evals
    # Only these folders are copies of ../shared; the others (diffs, real_answers) are our own.
    # The held-out sets (scripts/heldout_data.json) live only here, never in ../shared.
    heldout = set(json.loads((REPO_ROOT / "scripts" / "heldout_data.json").read_text(encoding="utf-8"))["eval"])
    vendored = [p for p in FIXTURES.rglob("*") if p.is_file() and p.parts[len(FIXTURES.parts)] in VENDORED
                and p.name not in ("README.md", "LICENSE", "LICENSE.txt")
                and p.parts[len(FIXTURES.parts) + 1] not in heldout]
    assert len(vendored) > 100
    for path in vendored:
        assert path.read_bytes() == (SHARED / path.relative_to(FIXTURES)).read_bytes(), path
    assert sorted(p.name for p in (FIXTURES / "eval" / "jinja").iterdir()) == sorted(evals)
