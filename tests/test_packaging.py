"""A plain (not editable) install finds its packaged templates from any directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import JINJA_CASES, REPO_ROOT


def test_installed_wheel_renders_prompts_from_another_directory(tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
                    "--target", str(site), str(REPO_ROOT)], check=True, capture_output=True, timeout=300)
    assert (site / "bot" / "prompts_pkg" / "review.j2").is_file(), "templates must ship inside the wheel"
    missing = [str(module.relative_to(REPO_ROOT)) for module in REPO_ROOT.joinpath("bot").rglob("*.py")
               if "__pycache__" not in module.parts and not (site / module.relative_to(REPO_ROOT)).is_file()]
    assert not missing, f"modules missing from the wheel: {missing}"
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


def test_the_distribution_has_a_name_of_its_own_and_the_command_stays() -> None:
    # "review-bot" on the package index is another project (an OpenAI-based suggestions tool):
    # `pip install review-bot[...]` would install it. Our distribution is starcoder-review-bot.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "starcoder-review-bot"
    assert project["scripts"] == {"review-bot": "bot.cli:main"}
    assert project["license"] == "Apache-2.0"  # the SPDX string form (PEP 639)
    assert any(dep.startswith("huggingface_hub") for dep in project["optional-dependencies"]["local"])


def test_every_package_under_bot_is_listed_for_the_wheel() -> None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    listed = set(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
                 ["packages"])
    inits = REPO_ROOT.joinpath("bot").rglob("__init__.py")
    found = {".".join(init.parent.relative_to(REPO_ROOT).parts) for init in inits}
    assert found | {"bot.prompts_pkg"} == listed


def test_every_hint_and_doc_line_names_our_distribution() -> None:
    wrong = re.compile(r"(?<![\w-])review-bot\[[a-z]")  # review-bot[local] etc.: someone else's package
    texts = [*REPO_ROOT.joinpath("bot").rglob("*.py"), *REPO_ROOT.joinpath("scripts").glob("*.sh"),
             REPO_ROOT / "README.md", *REPO_ROOT.joinpath("docs").glob("*.md"), REPO_ROOT / "action.yml",
              *REPO_ROOT.joinpath(".github").rglob("*.yml")]
    for path in texts:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not wrong.search(line), f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}"
