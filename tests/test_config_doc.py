"""README.md's configuration table is generated from bot/config.py: they must not differ."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from bot import config
from bot.config_doc import README, table, with_table


def test_readme_configuration_table_is_the_codes_defaults() -> None:
    readme = README.read_text(encoding="utf-8")
    assert with_table(readme) == readme, "README.md is stale: run `python -m bot.config_doc --readme`"


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
