"""What GitHub would show: render a posted body with a CommonMark renderer (markdown-it-py)
and list everything in it that could act on its own: a live @mention or #reference, an image,
raw HTML (hidden comments included), a link whose visible text is not where it goes, or a
marker outside the bot's own marker block."""

from __future__ import annotations

import re
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.github.markers import split_marker_block

# CommonMark with raw HTML on (as on GitHub, before its HTML filter), plus GFM tables.
_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])
# GitHub's mention and reference filters run on rendered text outside code and links.
MENTION = re.compile(r"(?<!\w)@[A-Za-z0-9]")
REFERENCE = re.compile(r"(?<![\w&])#\d|\bGH-\d", re.IGNORECASE)
MARKER = re.compile(r"review-bot\s*:\s*(?:fp|head|run|partial)\b", re.IGNORECASE)


def _honest(visible: str, href: str) -> bool:
    """A link that shows its own target: `<https://x>`, `<a@b.c>`, `[https://x](https://x)`."""
    visible = visible.strip()
    return href in (visible, _MD.normalizeLink(visible), "mailto:" + visible, _MD.normalizeLink("mailto:" + visible))


def _inline(children: Sequence[Token]) -> list[str]:
    found: list[str] = []
    run: list[str] = []
    in_link = 0
    links: list[tuple[str, list[str]]] = []  # (href, visible text so far) of each open link

    def flush() -> None:
        text = "".join(run)
        run.clear()
        for pattern, what in ((MENTION, "live mention"), (REFERENCE, "live reference")):
            match = pattern.search(text)
            if match:
                found.append(f"{what} in {text[max(0, match.start() - 20):match.end() + 20]!r}")

    for token in children:
        if links and token.type in ("text", "code_inline"):
            links[-1][1].append(token.content)
        if token.type == "text" and not in_link:
            run.append(token.content)
            continue
        if token.type in ("softbreak", "hardbreak") and not in_link:
            run.append("\n")
            continue
        flush()
        if token.type == "html_inline":
            found.append(f"raw HTML {token.content[:60]!r}")
        elif token.type == "image":
            found.append(f"image {token.attrGet('src')!r}")
        elif token.type == "link_open":
            in_link += 1
            links.append((str(token.attrGet("href") or ""), []))
        elif token.type == "link_close":
            in_link -= 1
            href, visible = links.pop()
            if not _honest("".join(visible), href):
                found.append(f"link {''.join(visible)[:60]!r} goes to {href[:60]!r}")
    flush()
    return found


def render_problems(body: str) -> list[str]:
    """Everything that would be live in `body` on GitHub, outside the bot's own marker block."""
    rest, _ = split_marker_block(body)
    found = [f"marker outside the marker block: {m.group(0)!r}" for m in MARKER.finditer(rest)]
    for token in _MD.parse(rest):
        if token.type == "html_block":
            found.append(f"raw HTML block {token.content[:60]!r}")
        elif token.type == "inline":
            found += _inline(token.children or [])
    return found
