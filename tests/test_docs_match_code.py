"""Every list of choices the user reads comes from, or is checked against, the registry it names.

Read as a user reads them: `review-bot COMMAND --help` from a subprocess, the input descriptions
of action.yml, the README's command block and templates table, and the inputs table and TOML
examples of docs/. The registries: the backends (bot/backends: BACKENDS, API_MODES), the output
formats (bot/sinks: FORMATTERS; `prompts` prints prompts, PROMPTS_FORMATS), the packaged
prompt templates (bot/prompts/templates.py), the severities (bot/types.py, bot/config.py), the
action's own inputs, and the flags of the command line.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from bot.backends import API_MODES, BACKENDS
from bot.cli import PROMPTS_FORMATS, build_parser
from bot.config import FailOn, Settings, load_settings
from bot.prompts.templates import packaged_templates
from bot.sinks import FORMATTERS
from bot.types import SEVERITIES
from tests.conftest import REPO_ROOT

COMMANDS = ("dry-run", "review", "prompts", "eval")
README = REPO_ROOT / "README.md"
DOC_PAGES = [README, *sorted((REPO_ROOT / "docs").glob("*.md"))]
TEMPLATES = set(packaged_templates())
REMOTE_APIS = set(BACKENDS) - {"llama-cpp"}  # the in-process one needs no endpoint and no token
CHAT_APIS = {api for api, modes in API_MODES.items() if "chat" in modes}


def choices(text: str) -> list[str]:
    """`a, b, c or d`, `a|b|c`, `a | b`, `{a,b}`, `a,b,c` -> the names, in order."""
    parts = re.split(r"\s*,\s*(?:or\s+)?|\s+or\s+|\s*\\?\|\s*", text.strip().strip("{}").strip())
    return [p.strip("`'\" ") for p in parts if p.strip("`'\" ")]


def listed_after(text: str, lead: str) -> list[str]:
    """The list that follows `lead` in `text`, up to `;`, `(`, `)` or a sentence's end."""
    flat = " ".join(text.split())
    match = re.search(re.escape(lead) + r"\s*(.+?)(?=[;()]|\.(?:\s|$)|$)", flat)
    assert match is not None, f"{lead!r} not in {flat!r}"
    return choices(match.group(1))


def test_the_list_readers() -> None:
    assert choices("review, review-chat, review-instruct or starcoder2-pr") == [
        "review", "review-chat", "review-instruct", "starcoder2-pr"]
    assert choices("{llama-cpp,hf}") == choices("llama-cpp|hf") == ["llama-cpp", "hf"]
    assert choices("`llama-cpp` \\| `hf`") == ["llama-cpp", "hf"]
    assert listed_after("Route, one of: a, b or c (default a). More.", "one of:") == ["a", "b", "c"]
    assert listed_after("x needs api a or b.", "needs api") == ["a", "b"]


# --- `review-bot COMMAND --help`, as a user runs it ----------------------------------------------


@cache
def help_text(command: str) -> str:
    env = {**os.environ, "COLUMNS": "1000", "PYTHONPATH": str(REPO_ROOT)}  # one line per option
    done = subprocess.run([sys.executable, "-m", "bot", command, "--help"], capture_output=True, text=True,
                          env=env, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def help_options(command: str) -> dict[str, str]:
    """{--flag: its help line (metavar or {choices} first)} from the options part of the help."""
    found: dict[str, str] = {}
    for line in help_text(command).splitlines():
        match = re.match(r"^\s{2}(?:-\w, )?(--[\w-]+)(.*)$", line)
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def help_choices(command: str, flag: str) -> list[str]:
    match = re.match(r"^\{([^}]*)\}", help_options(command)[flag])
    assert match is not None, (command, flag, help_options(command)[flag])
    return choices(match.group(1))


@pytest.mark.parametrize("command", COMMANDS)
def test_help_choices_are_the_registries(command: str) -> None:
    assert set(help_choices(command, "--api")) == set(BACKENDS)
    formats = PROMPTS_FORMATS if command == "prompts" else tuple(FORMATTERS)
    assert set(help_choices(command, "--format")) == set(formats)
    assert help_choices(command, "--min-severity") == list(SEVERITIES)
    assert help_choices(command, "--fail-on") == list(get_args(FailOn)) == ["never", *SEVERITIES]
    assert set(listed_after(help_options(command)["--template"], "one of:")) == TEMPLATES
    assert set(listed_after(help_options(command)["--endpoint"], "remote api (")) == REMOTE_APIS


def test_prompts_formats_are_what_prompts_prints(tmp_path: Path) -> None:
    assert set(PROMPTS_FORMATS) <= set(FORMATTERS)
    diff = tmp_path / "a.diff"
    diff.write_text("--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1", "HOME": str(tmp_path)}
    for fmt in (*FORMATTERS, "nonsense"):
        done = subprocess.run([sys.executable, "-m", "bot", "prompts", "--diff", str(diff), "--format", fmt, "-q"],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
        if fmt in PROMPTS_FORMATS:
            assert done.returncode == 0 and done.stdout, (fmt, done.stderr)
        else:
            assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, (fmt, done.stderr)


def test_review_mode_choices_are_the_dispatch_inputs() -> None:
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "review.yml").read_text(encoding="utf-8"))
    on = workflow.get("on", workflow.get(True))
    assert help_choices("review", "--mode") == on["workflow_dispatch"]["inputs"]["mode"]["options"]


def test_eval_defaults_to_every_packaged_template() -> None:
    assert "every packaged" in help_options("eval")["--templates"]


# --- action.yml ------------------------------------------------------------------------------------


def action() -> dict[str, Any]:
    data = yaml.safe_load((REPO_ROOT / "action.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_action_input_choices_are_the_registries() -> None:
    inputs = {name: " ".join(str(spec["description"]).split()) for name, spec in action()["inputs"].items()}
    assert set(listed_after(inputs["api"], "one of:")) == set(BACKENDS)
    assert set(listed_after(inputs["template"], "one of:")) == TEMPLATES
    assert set(listed_after(inputs["template"], "needs api")) == CHAT_APIS
    assert listed_after(inputs["fail-on"], "one of:") == list(get_args(FailOn))
    for name in ("endpoint", "hf-token"):
        assert set(listed_after(inputs[name], "remote api (")) == REMOTE_APIS, name


def action_flags() -> dict[str, str]:
    """{--flag: the INPUT_ variable} the action's Review step passes to `review-bot review`."""
    (review,) = [s for s in action()["runs"]["steps"] if s.get("name") == "Review"]
    return dict(re.findall(r'args\+=\((--[\w-]+) "\$(\w+)"\)', review["run"]))


def test_every_flag_the_action_passes_is_a_flag_of_review() -> None:
    # --max-minutes comes with [budget] max_minutes (issue 17, item 5): until the command has it,
    # this fails, which is the point: the action must not pass a flag the command refuses.
    flags = action_flags()
    assert {"--config", "--max-requests", "--max-minutes", "--fail-on"} <= set(flags)
    assert set(flags) <= set(help_options("review")), set(flags) - set(help_options("review"))


def test_max_minutes_sits_beside_max_requests() -> None:
    names = list(action()["inputs"])
    assert names.index("max-minutes") == names.index("max-requests") + 1
    review = next(s for s in action()["runs"]["steps"] if s.get("name") == "Review")
    assert review["env"]["INPUT_MAX_MINUTES"] == "${{ inputs.max-minutes }}"
    assert action_flags()["--max-minutes"] == "INPUT_MAX_MINUTES"


# --- the README and docs/ ------------------------------------------------------------------------------


def readme_command_block() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Commands\n", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block is not None
    return block.group(1).splitlines()


def readme_flags() -> dict[str, dict[str, str]]:
    """{command: {--flag: the value shown}}; `common flags` go to every command that does not
    show the flag on its own line."""
    own: dict[str, dict[str, str]] = {c: {} for c in COMMANDS}
    common: dict[str, str] = {}
    current: dict[str, str] | None = None
    for line in readme_command_block():
        started = re.match(r"^review-bot ([\w-]+)", line)
        if started:
            current = own[started.group(1)]
        elif line.startswith("common flags:"):
            current = common
        assert current is not None, line
        for flag, value in re.findall(r"(--[\w-]+)(?:[ =]([^\s\]\[]+))?", line.split("#")[0]):
            current.setdefault(flag, value)
    return {command: {**common, **flags} for command, flags in own.items()}


@pytest.mark.parametrize("command", COMMANDS)
def test_the_readme_command_block_is_the_help(command: str) -> None:
    shown = readme_flags()[command]
    options = help_options(command)
    missing = set(shown) - set(options)
    assert not missing, f"the README shows {sorted(missing)} for {command}, which its --help has not"
    for flag, value in shown.items():
        if re.fullmatch(r"[a-z0-9-]+(?:[|,][a-z0-9-]+)+", value):  # a list of choices, not a metavar
            if flag == "--templates":
                assert set(choices(value)) == TEMPLATES
            else:
                assert set(choices(value)) == set(help_choices(command, flag)), (command, flag)


def test_the_readme_shows_prompts_its_own_formats() -> None:
    assert set(choices(readme_flags()["prompts"]["--format"])) == set(PROMPTS_FORMATS)


@pytest.mark.parametrize("page", ["README.md", "docs/configuration.md"])
def test_the_template_tables_list_the_packaged_templates(page: str) -> None:
    text = (REPO_ROOT / page).read_text(encoding="utf-8")
    table = re.search(r"^\| template \|.*?\n\|[-| ]+\|\n((?:\|.*\n)+)", text, re.M)
    assert table is not None, page
    names = {re.match(r"^\| `([^`]+)` \|", row).group(1) for row in table.group(1).splitlines()}  # type: ignore[union-attr]
    assert names == TEMPLATES


def test_the_inputs_table_is_the_actions_inputs() -> None:
    text = (REPO_ROOT / "docs" / "github.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([\w-]+)` \| (.*?) \| (.*) \|$", text.split("## Action inputs", 1)[1], re.M)
    inputs = action()["inputs"]
    assert [name for name, _, _ in rows] == list(inputs)
    described = {name: what for name, _, what in rows}
    assert set(listed_after(described["api"], "one of:")) == set(BACKENDS)
    assert set(listed_after(described["template"], "one of:")) == TEMPLATES
    assert listed_after(described["fail-on"], "one of:") == list(get_args(FailOn))
    for name in ("endpoint", "hf-token"):
        assert set(listed_after(described[name], "remote api (")) == REMOTE_APIS, name
    for name, default, _ in rows:  # a fixed default is the action's own
        if re.fullmatch(r"`[^`]*`", default) and "config" not in default:
            assert default.strip("`") == str(inputs[name].get("default", "")), name


def toml_blocks() -> list[tuple[str, str]]:
    found = []
    for page in DOC_PAGES:
        for block in re.findall(r"```toml\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            found.append((str(page.relative_to(REPO_ROOT)), block))
    return found


@pytest.mark.parametrize("page,block", toml_blocks(), ids=lambda v: v if v.endswith(".md") else "")
def test_every_toml_example_is_a_valid_config(page: str, block: str) -> None:
    load_settings(config_text=block, config_origin=page, env={})


@pytest.mark.parametrize("page", DOC_PAGES, ids=lambda p: p.name)
def test_no_figure_went_missing_from_a_sentence(page: Path) -> None:
    # "budget about minutes per request": a number lost in an edit leaves a unit after a hedge.
    text = " ".join(page.read_text(encoding="utf-8").split())
    hedge, unit = "about|roughly|around|nearly|some|budget", "minutes|seconds|hours|tokens|requests|GB|MB"
    lost = re.findall(rf"\b(?:{hedge}) (?:{unit})\b", text)
    assert not lost, lost


def shown_command_lines() -> list[tuple[str, list[str]]]:
    """Every `review-bot COMMAND ...` a page shows in a ```sh block (continuations joined;
    synopses with [optional] parts left out: those are the command block's, checked above)."""
    found: list[tuple[str, list[str]]] = []
    for page in DOC_PAGES:
        for block in re.findall(r"```sh\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            for line in block.replace("\\\n", " ").splitlines():
                match = re.search(r"(?:^|[\s/])review-bot (" + "|".join(COMMANDS) + r")\b(.*)", line.split(" #")[0])
                if match and "[" not in match.group(2) and "..." not in match.group(2):
                    found.append((page.name, [match.group(1), *shlex.split(match.group(2))]))
    return found


def test_the_pages_show_commands() -> None:
    pages = {page for page, _ in shown_command_lines()}
    assert {"README.md", "local-models.md", "quality.md"} <= pages


@pytest.mark.parametrize("page,argv", shown_command_lines(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_every_command_a_page_shows_is_accepted(page: str, argv: list[str]) -> None:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:
        pytest.fail(f"{page}: `review-bot {' '.join(argv)}` is refused (exit {stop.code})")
    named = [args.template] if args.template else []
    named += getattr(args, "templates", None) and args.templates.split(",") or []
    assert set(named) <= TEMPLATES, (page, argv)


# Inputs whose description names the config key's default: "(default from the config file, else X)".
INPUT_KEYS = {"api": ("model", "api"), "model": ("model", "model"), "template": ("review", "template"),
              "max-requests": ("budget", "max_requests"), "max-minutes": ("budget", "max_minutes"),
              "fail-on": ("review", "fail_on")}


@pytest.mark.parametrize("name", list(INPUT_KEYS))
def test_the_defaults_the_action_and_docs_state_are_the_codes(name: str) -> None:
    section, key = INPUT_KEYS[name]
    value = getattr(getattr(Settings(), section), key)
    # Unset means the run decides (the template: by the model's kind); 45.0 is written 45.
    default = "chosen" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
    description = " ".join(str(action()["inputs"][name]["description"]).split())
    stated = re.search(r"default from the config file, else ([\w./-]+)", description)
    if name != "fail-on":  # its description says what it does, the table says the default
        assert stated is not None and stated.group(1) == default, (name, description)
    text = (REPO_ROOT / "docs" / "github.md").read_text(encoding="utf-8")
    row = re.search(rf"^\| `{re.escape(name)}` \| config file, else `?([\w./-]+)`?[ ,]", text, re.M)
    assert row is not None and row.group(1) == default, name
