"""Which files a run's budget is spent on first (bot.plan.packing packs in this order)."""

from __future__ import annotations

from bot.diff.pathnames import base_name, components, suffix

_TEST_PARTS = {"test", "tests", "testing", "spec", "specs", "__tests__", "testdata", "fixtures"}
_DOC_SUFFIXES = {".md", ".rst", ".txt", ".adoc", ".toml", ".yaml", ".yml", ".json", ".ini", ".cfg",
                 ".lock", ".xml", ".csv", ".svg", ".html", ".css"}
_DOC_PARTS = {"docs", "doc", ".github", "examples"}


def file_priority(path: str) -> int:
    """0 source, 1 tests, 2 docs and config: what the budget is spent on first."""
    parts = {part.lower() for part in components(path)[:-1]}  # Path(path).parts, name and suffix
    name = base_name(path)
    extension = suffix(name)
    name = name.lower()
    if (parts & _TEST_PARTS or name.startswith("test_") or name.startswith("conftest.")
            or any(t in name for t in ("_test.", ".test.", ".spec.", "_spec."))):
        return 1
    if extension.lower() in _DOC_SUFFIXES or parts & _DOC_PARTS or not extension:
        return 2
    return 0
