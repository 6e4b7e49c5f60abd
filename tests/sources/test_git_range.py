"""`--git BASE..HEAD`: a real repository in a temp folder, diffed by real git."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import InputError
from bot.sources.git_range import read_git_range
from tests.conftest import REPO_ROOT
from tests.github_helpers import git_history


@pytest.fixture()
def repo(tmp_path: Path) -> tuple[Path, list[str]]:
    folder = tmp_path / "repo"
    shas = git_history(folder, [
        {"app.py": "a = 1\nb = 2\nc = 3\n", "caf\u00e9 notes.txt": "x\n"},
        {"app.py": "a = 1\nb = 20\nc = 3\nd = 4\n", "caf\u00e9 notes.txt": "x\ny\n"},
    ])
    return folder, shas


def test_range_gives_exact_lines_and_shas(repo: tuple[Path, list[str]]) -> None:
    folder, (v0, v1) = repo
    review_input = read_git_range(f"{v0}..{v1}", cwd=str(folder))
    assert (review_input.info.kind, review_input.info.base_sha, review_input.info.head_sha) == ("git", v0, v1)
    files = {f.path: f for f in review_input.diff.files}
    assert set(files) == {"app.py", "caf\u00e9 notes.txt"}  # non-ASCII path with a space, unquoted
    app = files["app.py"]
    added = [(ln.new_no, ln.text) for h in app.hunks for ln in h.lines if ln.kind == "+"]
    assert added == [(2, "b = 20"), (4, "d = 4")]


def test_bare_base_means_base_to_head(repo: tuple[Path, list[str]]) -> None:
    folder, (v0, v1) = repo
    assert read_git_range(v0, cwd=str(folder)).info.head_sha == v1


@pytest.mark.parametrize("spec", ["nosuchref..HEAD", "-p", ""])
def test_bad_ranges_are_input_errors(repo: tuple[Path, list[str]], spec: str) -> None:
    folder, _ = repo
    with pytest.raises(InputError) as caught:
        read_git_range(spec, cwd=str(folder))
    assert "\n" not in str(caught.value)


def test_outside_a_repository_is_an_input_error(tmp_path: Path) -> None:
    subprocess.run(["git", "--version"], check=True, capture_output=True)
    with pytest.raises(InputError, match="git"):
        read_git_range("HEAD~1..HEAD", cwd=str(tmp_path))


@pytest.mark.parametrize("spec", ["{v1}..{v1}", "{v1}", "HEAD..HEAD", "{v1}...{v0}"])
def test_an_empty_range_is_one_line_and_exit_2(repo: tuple[Path, list[str]], spec: str) -> None:
    folder, (v0, v1) = repo
    spec = spec.format(v0=v0, v1=v1)
    with pytest.raises(InputError) as caught:
        read_git_range(spec, cwd=str(folder))
    shown = spec if ".." in spec else f"{spec}..HEAD"
    assert str(caught.value) == f"nothing to review: {shown} has no changes"
    assert caught.value.exit_code == 2


def test_an_empty_range_from_the_command_line_exits_2(repo: tuple[Path, list[str]]) -> None:
    folder, _ = repo
    done = subprocess.run([sys.executable, "-m", "bot", "dry-run", "--git", "HEAD..HEAD"], cwd=folder,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert done.returncode == 2
    assert done.stderr == "review-bot: error: nothing to review: HEAD..HEAD has no changes\n"
