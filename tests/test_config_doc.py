"""docs/configuration.md's configuration table is generated from bot/config.py: they must not differ."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from bot import config
from bot.config_doc import BEGIN, END, PAGE, table, with_table
from bot.prompts.templates import packaged_templates
from tests.conftest import REPO_ROOT


def test_the_configuration_page_table_is_the_codes_defaults() -> None:
    page = PAGE.read_text(encoding="utf-8")
    assert PAGE == REPO_ROOT / "docs" / "configuration.md"
    assert with_table(page) == page, f"{PAGE.name} is stale: run `python -m bot.config_doc --readme`"


def test_the_table_is_on_one_page_only() -> None:
    pages = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    holding = [p.name for p in pages if BEGIN in p.read_text(encoding="utf-8")]
    assert holding == [PAGE.name]
    assert PAGE.read_text(encoding="utf-8").count(END) == 1


def test_the_template_key_lists_the_packaged_templates() -> None:
    (row,) = [line for line in table().splitlines() if line.startswith("| `template` |")]
    listed = " \\| ".join(packaged_templates())
    assert f"{listed}, or your own" in row
    assert "review-chat" in packaged_templates()  # the README's best, once left out here


def test_every_key_is_in_the_table_with_its_default() -> None:
    text = table()
    for section, cls in config.SECTIONS.items():
        assert f"`[{section}]`" in text
        for item in fields(cls):
            assert f"| `{item.name}` |" in text, (section, item.name)
    assert '| `exclude` | `[]` |' in text  # the README once showed ["docs/**"]


def test_a_new_key_needs_no_edit_of_the_generator() -> None:
    @dataclass(frozen=True)
    class NewModel:
        api: Literal["llama-cpp", "hf"] = "llama-cpp"
        gguf: str = "org/repo/file.gguf@abc"  # REPO/FILE@REVISION on the Hub
        plain: int | None = None
        # None: the model's own limit,
        # else 16384.
        context_window: int | None = None

    text = table({"model": NewModel})
    assert '| `gguf` | `"org/repo/file.gguf@abc"` | REPO/FILE@REVISION on the Hub |' in text
    assert "| `api` | `\"llama-cpp\"` |" in text and "`llama-cpp` \\| `hf`" in text
    assert "| `plain` | (unset) |" in text
    assert ("| `context_window` | (unset) | prompt plus answer, in tokens; unset: the model's own limit, "
            "else 16384. |") in text
