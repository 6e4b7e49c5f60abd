"""The user's pages: README.md stays a short user's page, and every relative link and #anchor in
README.md and docs/*.md resolves the way GitHub renders them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from markdown_it import MarkdownIt

from tests.conftest import REPO_ROOT

README = REPO_ROOT / "README.md"
PAGES = [README, *sorted((REPO_ROOT / "docs").glob("*.md"))]
MAX_README_LINES = 250
_MD = MarkdownIt("commonmark").enable("table")


def test_the_readme_is_a_short_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move detail to docs/"


def test_the_readme_keeps_the_two_commands_and_links_every_page() -> None:
    text = README.read_text(encoding="utf-8")
    assert "\n**Run it**" in text and "\n**Test it**" in text
    assert text.index("**Run it**") < text.index("**Test it**") < text.index("## The workflow to copy")
    linked = {Path(href).name for href, _ in links(README)}
    assert {page.name for page in PAGES[1:]} <= linked  # no page under docs/ is an orphan


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text (github-slugger): lower case; keep letters, marks,
    numbers, `_`, `-` and spaces, drop the rest; each space becomes `-`."""
    kept = "".join(ch for ch in heading.lower()
                   if ch in " -_" or unicodedata.category(ch)[0] in "LMN" or unicodedata.category(ch) == "Pc")
    return kept.replace(" ", "-")


def anchors(path: Path, text: str | None = None) -> set[str]:
    """Every heading anchor of a page, with GitHub's -1, -2 suffixes for repeated headings."""
    tokens = _MD.parse(path.read_text(encoding="utf-8") if text is None else text)
    seen: dict[str, int] = {}
    found: set[str] = set()
    for opening, inline in zip(tokens, tokens[1:], strict=False):
        if opening.type != "heading_open":
            continue
        text = "".join(child.content for child in inline.children or [] if child.type in ("text", "code_inline"))
        base = slug(text)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path, text: str | None = None) -> Iterator[tuple[str, int]]:
    """(href, line) of every link and image outside code, reference-style links included."""
    tokens = _MD.parse(path.read_text(encoding="utf-8") if text is None else text)
    for token in tokens:
        for child in token.children or []:
            if child.type in ("link_open", "image"):
                attr = "href" if child.type == "link_open" else "src"
                yield str(child.attrs[attr]), (token.map[0] + 1) if token.map else 0


def broken_links(path: Path, text: str | None = None) -> list[str]:
    problems: list[str] = []
    for href, line in links(path, text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", href, re.I):  # https:, mailto: ...: not ours to check
            continue
        target_text, _, anchor = href.partition("#")
        where = f"{path.relative_to(REPO_ROOT)}:{line}: {href}"
        if not target_text:  # an anchor on the same page
            if unquote(anchor) not in anchors(path, text):
                problems.append(f"{where}: no heading with that anchor")
            continue
        target = (path.parent / unquote(target_text)).resolve()
        if not target.exists():
            problems.append(f"{where}: no such file")
        elif not target.is_relative_to(REPO_ROOT):
            problems.append(f"{where}: outside the repository")
        elif anchor and (target.suffix != ".md" or unquote(anchor) not in anchors(target)):
            problems.append(f"{where}: no heading with that anchor")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_the_slugs_are_githubs() -> None:
    assert slug("Review quality: review-bot eval") == "review-quality-review-bot-eval"
    assert slug('1. In process: api = "llama-cpp" (the default)') == "1-in-process-api--llama-cpp-the-default"
    assert slug("What's new? Ünïcode_ok") == "whats-new-ünïcode_ok"


def test_the_checker_finds_a_broken_file_an_unknown_anchor_and_repeated_headings() -> None:
    page = REPO_ROOT / "docs" / "probe.md"  # never written: the text is given, resolved from docs/
    text = ("# Title\n\n## Same\n\n## Same\n\n[ok](#same-1) [ok](configuration.md#keys-and-defaults)\n"
            "[bad](#same-2) [bad](missing.md) [bad](configuration.md#no-such-heading) [bad][ref]\n\n"
            "`[in code](missing.md)`\n\n[ref]: ../nowhere.md\n")
    assert anchors(page, text) == {"title", "same", "same-1"}
    problems = broken_links(page, text)
    assert [p.rpartition(": ")[0].rpartition(": ")[2] for p in problems] == [
        "#same-2", "missing.md", "configuration.md#no-such-heading", "../nowhere.md"], problems
