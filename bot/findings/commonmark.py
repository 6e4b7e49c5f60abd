"""Where CommonMark puts code, links, images, raw HTML and link definitions in a text, as
offsets into that text: the sanitiser's one source of truth about what is code.

GitHub renders comments with cmark-gfm, a CommonMark parser; markdown-it-py is another one
(it passes the CommonMark spec tests), so what it calls a fence, a code span or a link is what
GitHub calls one. Guessing with line splits and regular expressions went wrong exactly where
the two differ (issue 16: `str.splitlines` breaks at U+2028, which CommonMark does not; fences
nest in list items and block quotes). markdown-it-py gives no source offsets for inline
constructs, so its own rules are wrapped: each records where it matched in the inline content,
and each block rule that makes inline content records which source character every content
character came from. Anything the parse can't place exactly makes the scan `exact=False`, and
the caller falls back to escaping everything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock, heading, lheading, paragraph, table
from markdown_it.rules_inline import StateInline, autolink, backtick, html_inline, image, link
from markdown_it.token import Token

Kind = Literal["code_block", "code_span", "link", "autolink", "image", "html_inline", "html_block", "definition"]

# GitHub's mention and reference filters run on rendered text outside code and links.
LIVE_TEXT = re.compile(r"(?<!\w)@[A-Za-z0-9]|(?<![\w&])#\d|\bGH-\d", re.IGNORECASE)


@dataclass(frozen=True)
class Construct:
    kind: Kind
    start: int  # offsets into the scanned text, end exclusive
    end: int
    label: tuple[int, int] | None = None  # link, image: the text between the brackets
    href: str = ""  # link, autolink: where it goes (as the renderer writes it into the page)
    visible: str = ""  # link, autolink: the text it shows; code_block: the fence's info string


@dataclass(frozen=True)
class Scan:
    constructs: tuple[Construct, ...]  # sorted by start, a container before what it holds
    live_text: tuple[str, ...]  # rendered text outside code and links that would still notify
    exact: bool  # False: some content could not be traced back to the text (treat it all as unsafe)


_INLINE_KINDS: dict[str, tuple[Kind, str]] = {
    "backticks": ("code_span", "code_inline"), "link": ("link", "link_open"), "image": ("image", "image"),
    "autolink": ("autolink", "link_open"), "html_inline": ("html_inline", "html_inline"),
}
_INLINE_RULES = {"backticks": backtick, "link": link, "image": image, "autolink": autolink,
                 "html_inline": html_inline}
_BLOCK_RULES = {"paragraph": paragraph, "heading": heading, "lheading": lheading, "table": table}


def _recording_inline(name: str) -> Callable[[StateInline, bool], bool]:
    kind, first_type = _INLINE_KINDS[name]
    rule = _INLINE_RULES[name]

    def run(state: StateInline, silent: bool) -> bool:
        start, before = state.pos, len(state.tokens)
        if not rule(state, silent):
            return False
        if silent:
            return True
        label: tuple[int, int] | None = None
        if kind in ("link", "image"):
            # The rule parsed the label and let go of it: find it again (parseLinkLabel restores
            # state.pos), only for a link that was made, so a line of "[" costs no more than before.
            opener = start + 1 if kind == "image" else start
            end, state.pos = state.pos, opener
            label_end = state.md.helpers.parseLinkLabel(state, opener, kind == "link")
            state.pos = end
            label = (opener + 1, label_end) if label_end >= 0 else None
        token = next((t for t in state.tokens[before:] if t.type == first_type), None)
        if token is not None:
            token.meta["span"] = (start, state.pos, label)
        return True

    return run


def _getlines(state: StateBlock, begin: int, end: int, indent: int) -> tuple[str, list[int]]:
    """StateBlock.getLines(begin, end, indent, False), and where each character came from."""
    text: list[str] = []
    where: list[int] = []
    for line in range(begin, end):
        line_indent, line_start = 0, state.bMarks[line]
        first = line_start
        last = state.eMarks[line] + 1 if line + 1 < end else state.eMarks[line]
        while first < last and line_indent < indent:
            char = state.src[first]
            if char in " \t":
                line_indent += 4 - (line_indent + state.bsCount[line]) % 4 if char == "\t" else 1
            elif first - line_start < state.tShift[line]:
                line_indent += 1
            else:
                break
            first += 1
        if line_indent > indent:  # a tab partly taken by the indent: spaces that are not in the text
            text.append(" " * (line_indent - indent))
            where += [first] * (line_indent - indent)
        text.append(state.src[first:last])
        where += range(first, last)
    return "".join(text), where


# What markdown-it-py trims off inline content: the CommonMark whitespace and, since its 4.0,
# U+2000-U+200A, U+2028 and U+2029 (`mdTrim`); before that Python's `str.strip()`. The
# content the parser kept tells which one ran.
_TRIM_SETS = (" \t\n\x0b\x0c\r" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029", None)


def _trimmed(text: str, where: list[int], want: str | None = None) -> tuple[str, list[int]]:
    for chars in _TRIM_SETS:
        kept = text.strip(chars)
        if want is None or kept == want:
            lead = len(text) - len(text.lstrip(chars))
            return kept, where[lead:lead + len(kept)]
    return "", []


def _split_cells(text: str, where: list[int]) -> list[tuple[str, list[int]]]:
    """markdown-it's escapedSplit (a `\\|` is a pipe inside a cell, its backslash dropped), with offsets."""
    cells: list[tuple[str, list[int]]] = []
    chars: list[str] = []
    offsets: list[int] = []
    escaped = False
    for index, char in enumerate(text):
        if char == "|" and not escaped:
            cells.append(("".join(chars), offsets))
            chars, offsets = [], []
        elif char == "|":
            chars.pop()
            offsets.pop()
            chars.append(char)
            offsets.append(where[index])
        else:
            chars.append(char)
            offsets.append(where[index])
        escaped = char == "\\"
    cells.append(("".join(chars), offsets))
    return cells


def _table_offsets(state: StateBlock, tokens: Sequence[Token]) -> None:
    by_line: dict[int, list[Token]] = {}
    for token in tokens:
        if token.type == "inline" and token.map:
            by_line.setdefault(token.map[0], []).append(token)
    for line, cells in by_line.items():
        start, stop = state.bMarks[line] + state.tShift[line], state.eMarks[line]
        columns = _split_cells(*_trimmed(state.src[start:stop], list(range(start, stop))))
        if columns and columns[0][0] == "":
            columns.pop(0)
        if columns and columns[-1][0] == "":
            columns.pop()
        for token, (column, where) in zip(cells, columns, strict=False):  # a short row's missing cells are empty
            content, offsets = _trimmed(column, where, token.content)
            if content == token.content:
                token.meta["offsets"] = offsets


def _mapping_block(name: str) -> Callable[[StateBlock, int, int, bool], bool]:
    rule = _BLOCK_RULES[name]

    def run(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
        before = len(state.tokens)
        if not rule(state, start_line, end_line, silent):
            return False
        if silent:
            return True
        new = state.tokens[before:]
        if name == "table":
            _table_offsets(state, new)
            return True
        for token in new:
            if token.type != "inline" or not token.map:
                continue
            if name == "heading":
                line = token.map[0]
                pos = state.bMarks[line] + state.tShift[line]
                while pos < state.eMarks[line] and state.src[pos] == "#":
                    pos += 1
                at = state.src.find(token.content, pos, state.eMarks[line]) if token.content else -1
                if at >= 0:
                    token.meta["offsets"] = list(range(at, at + len(token.content)))
                continue
            for last in (token.map[1], token.map[1] - 1):  # a paragraph; a setext heading's text
                content, offsets = _trimmed(*_getlines(state, token.map[0], last, state.blkIndent), token.content)
                if content == token.content:
                    token.meta["offsets"] = offsets
                    break
        return True

    return run


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    # cmark (GitHub) makes a link of every destination and filters the URL afterwards; see them all.
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    for ruler, rules, wrap in ((md.inline.ruler, _INLINE_RULES, _recording_inline),
                               (md.block.ruler, _BLOCK_RULES, _mapping_block)):
        for rule in ruler.__rules__:
            if rule.name in rules:
                ruler.at(rule.name, wrap(rule.name), {"alt": list(rule.alt)})  # type: ignore[arg-type]
    return md


_MD = _parser()


def _line_bounds(text: str) -> list[int]:
    """Offsets where each line starts (CommonMark ends a line at LF only, once CR is gone)."""
    return [0] + [m.end() for m in re.finditer("\n", text)]


class _Walker:
    def __init__(self, text: str) -> None:
        self.text = text
        self.found: list[Construct] = []
        self.live: list[str] = []
        self.exact = True

    def inline(self, token: Token) -> None:
        offsets = token.meta.get("offsets")
        if not token.content:
            return
        if offsets is None or len(offsets) != len(token.content):
            self.exact = False
            return
        self.children(token.children or [], offsets, 0)

    def span(self, offsets: list[int], base: int, start: int, end: int) -> tuple[int, int]:
        start, end = start + base, end + base
        if end <= start:
            at = offsets[start] if start < len(offsets) else (offsets[-1] + 1 if offsets else 0)
            return at, at
        return offsets[start], offsets[end - 1] + 1

    def children(self, children: Sequence[Token], offsets: list[int], base: int) -> None:
        run: list[str] = []
        links: list[tuple[Token, list[str]]] = []
        for token in children:
            if token.level >= _MD.options["maxNesting"] - 1:
                self.exact = False
            if token.type in ("text", "code_inline") and links:
                links[-1][1].append(token.content)
            if token.type in ("text", "softbreak", "hardbreak"):
                if not links:
                    run.append(token.content if token.type == "text" else "\n")
                continue
            self.flush(run)
            span = token.meta.get("span")
            if token.type == "link_open":
                links.append((token, []))
                continue
            if token.type == "link_close" and links:
                opener, visible = links.pop()
                span = opener.meta.get("span")
                if span is None:
                    self.exact = False
                    continue
                start, end = self.span(offsets, base, span[0], span[1])
                label = self.span(offsets, base, *span[2]) if span[2] else None
                kind: Kind = "autolink" if opener.markup == "autolink" else "link"
                if kind == "link" and label is None:
                    self.exact = False
                self.found.append(Construct(kind, start, end, label, str(opener.attrGet("href") or ""),
                                            "".join(visible)))
                continue
            if token.type not in ("code_inline", "image", "html_inline"):
                continue
            if span is None:
                self.exact = False
                continue
            start, end = self.span(offsets, base, span[0], span[1])
            if token.type == "image":
                if span[2] is None:
                    self.exact = False
                    continue
                self.found.append(Construct("image", start, end, self.span(offsets, base, *span[2])))
                # the alt text was parsed on its own, from the label's first character
                self.children(token.children or [], offsets, base + span[2][0])
            else:
                self.found.append(Construct("code_span" if token.type == "code_inline" else "html_inline",
                                            start, end))
        self.flush(run)

    def flush(self, run: list[str]) -> None:
        rendered = "".join(run)
        run.clear()
        match = LIVE_TEXT.search(rendered)
        if match:
            self.live.append(rendered[max(0, match.start() - 20):match.end() + 20])


def _blocks(tokens: Sequence[Token], bounds: list[int], size: int) -> Iterator[Construct]:
    for token in tokens:
        if token.type in ("fence", "code_block", "html_block") and token.map:
            first, last = token.map
            start = bounds[first]
            end = bounds[last] - 1 if last < len(bounds) else size
            kind: Kind = "html_block" if token.type == "html_block" else "code_block"
            yield Construct(kind, start, max(start, end), visible=token.info if token.type == "fence" else "")


def scan(text: str) -> Scan:
    """Every code block and span, link, image, raw HTML and link definition in `text` (which
    must have no CR or NUL: markdown-it would normalise them and the offsets would drift)."""
    env: dict[str, Any] = {}
    tokens = _MD.parse(text, env)
    bounds = _line_bounds(text)
    walker = _Walker(text)
    walker.found += _blocks(tokens, bounds, len(text))
    for token in tokens:
        if token.level >= _MD.options["maxNesting"] - 1:
            walker.exact = False  # markdown-it stops nesting there; GitHub may not
        if token.type == "inline":
            walker.inline(token)
    for definition in env.get("references", {}).values():
        line = definition["map"][0]
        at = text.find("[", bounds[line])
        if at < 0:
            walker.exact = False
            continue
        walker.found.append(Construct("definition", at, at + 1))
    return Scan(tuple(sorted(walker.found, key=lambda c: (c.start, -c.end))), tuple(walker.live), walker.exact)


def open_fence(text: str) -> str | None:
    """The fence to append when `text` ends inside a fenced block that would swallow what
    follows it (only a top-level fence does: a container ends at the next unindented line)."""
    text = text.rstrip("\n")
    tokens = _MD.parse(text)
    lines = text.split("\n")
    for token in tokens:
        if token.type != "fence" or token.level != 0 or not token.map or token.map[1] < len(lines):
            continue
        first, last = token.map
        closer = lines[last - 1].strip()
        closed = last - 1 > first and closer and set(closer) == {token.markup[0]} \
            and len(closer) >= len(token.markup) and len(lines[last - 1]) - len(lines[last - 1].lstrip(" ")) <= 3
        if not closed:
            return token.markup
    return None
