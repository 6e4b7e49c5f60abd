"""A plain (not editable) install finds its packaged templates from any directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import JINJA_CASES, REPO_ROOT


def test_installed_wheel_renders_prompts_from_another_directory(tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
                    "--target", str(site), str(REPO_ROOT)], check=True, capture_output=True, timeout=300)
    assert (site / "bot" / "prompts_pkg" / "review.j2").is_file(), "templates must ship inside the wheel"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import bot; print(bot.__file__)"], cwd=elsewhere, env=env,
                           capture_output=True, text=True, check=True)
    assert where.stdout.strip().startswith(str(site)), "the installed copy, not the checkout, must be used"
    case = JINJA_CASES[0] / "pr.diff"
    for template in ("review", "review-instruct", "starcoder2-pr"):
        done = subprocess.run([sys.executable, "-m", "bot", "prompts", "--diff", str(case), "--template", template,
                               "--format", "json"], cwd=elsewhere, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        assert '"requests"' in done.stdout
