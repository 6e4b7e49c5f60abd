"""Make model-written text safe to post on GitHub, print to a log, or put in a report; and
escape any untrusted text (paths, messages) for our own markdown (`md_text`, `md_code`).

Model output is untrusted: it must not forge our hidden `<!-- review-bot:... -->` markers,
notify people (@mentions), cross-reference issues (#123), load remote images, show a link
whose text is not where it goes, smuggle raw HTML, break out of the comment with an unclosed
code fence, or start a workflow command in an Actions log.

What is code is decided by a CommonMark parse (bot.findings.commonmark), never guessed:
fenced and indented blocks keep their text; everything else is rewritten. Links become their
words plus the target itself (`words (<https://…>)`, or the target as code when it can't be
an autolink), link definitions and images lose their power and keep their words, HTML tags
go. Invisible breaks (a zero-width space after `@`, `#`, `<`, `!` and `&` where they would
start a mention, reference, tag, image or entity) apply to prose and code spans alike: a
zero-width space reads the same inside code. The rewrite repeats until a parse of the result
finds nothing left to rewrite; text the parse can't settle is escaped whole (`md_text`).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bot.findings.commonmark import Construct, open_fence, scan
from bot.logsafe import escape_log, one_line

MAX_MESSAGE_CHARS = 1000
ELLIPSIS = "\u2026"
ZWSP = "\u200b"  # breaks GitHub's mention/reference autolinking without changing how text reads

# C0 controls except tab and newline, DEL, C1 controls, bidi overrides/isolates (trojan source),
# and the byte-order mark.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
# Only real HTML element names, so generics like `Vec<u8>` or `Map<K, V>` are left alone.
_HTML_ELEMENTS = (
    "a|abbr|address|area|article|aside|audio|b|base|bdi|bdo|blockquote|body|br|button|canvas|caption|"
    "center|cite|code|col|colgroup|data|dd|del|details|dfn|dialog|div|dl|dt|em|embed|fieldset|"
    "figcaption|figure|font|footer|form|frame|frameset|h[1-8]|head|header|hr|html|i|iframe|img|input|"
    "ins|kbd|label|legend|li|link|main|map|mark|marquee|meta|meter|nav|noscript|object|ol|optgroup|"
    "option|output|p|param|picture|pre|progress|q|rp|rt|ruby|s|samp|script|section|select|small|"
    "source|span|strike|strong|style|sub|summary|sup|svg|table|tbody|td|template|textarea|tfoot|th|"
    "thead|time|title|tr|track|tt|u|ul|var|video|wbr|math|xmp|plaintext|base|g-emoji"
)
_HTML_TAG = re.compile(rf"</?(?:{_HTML_ELEMENTS})(?:\s[^<>]*)?/?>", re.IGNORECASE)
_UNSAFE_SCHEME = re.compile(r"\s*(?:javascript|vbscript|data|file)\s*:", re.IGNORECASE)
# A target shown as an autolink: http(s), no space, quote, backslash or angle bracket to end it early.
_AUTOLINKABLE = re.compile(r"https?://[^\s<>\"'`\\\x00-\x1f\x7f]+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![A-Za-z0-9])@(?=[A-Za-z0-9])")  # `_@x_` renders as <em>@x</em>: live
# `owner/repo#12` links too, so any `#` before a digit (entities like `&#60;` are broken anyway).
# `GH-7` after `_` too: `_GH-7_` renders as emphasis, and the reference inside it is live.
_ISSUE_REF = re.compile(r"#(?=\d)|(?<![A-Za-z0-9])(GH-)(?=\d)", re.IGNORECASE)
_MARKER = re.compile(r"review-bot\s*:", re.IGNORECASE)
# Fenced blocks GitHub does not show as code: a suggestion (a one-click commit), math (MathJax:
# `\href{…}{…}` would be a link) and the diagrams and maps it draws. From the model they are text.
_RENDERED_FENCE = re.compile(r"^\W*(suggestion|math|mermaid|geojson|topojson|stl)\b", re.IGNORECASE)
# MathJax links in `$…$` math: `\href` and `\url` break on a zero-width space after the backslash.
_TEX_LINK = re.compile(r"\\(?=(?:href|url)(?![A-Za-z]))", re.IGNORECASE)
# Invisible breaks: a tag / comment / declaration opener, an image, a character reference
# (`&#64;` renders as `@`, which GitHub then links as a mention).
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
_IMAGE_OPEN = re.compile(r"!(?=\[)")
_ENTITY = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
_BLANK_RUNS = re.compile(r"\n{3,}")
# A line that reads like a link definition ("[1]: https://…") is escaped even where this parse
# saw none: a renderer that did would link every `[1]` to it (GitHub's cmark, say, on a line
# markdown-it-py reads differently). The backslash does not show.
_DEFINITION_START = re.compile(r"^([ >]*(?:(?:[-*+]|\d{1,9}[.)]) +)?[ >]*)\[(?=[^\]\n]*\]:)", re.MULTILINE)
_PASSES = 8  # each pass undoes at least one level of nesting; deeper text is escaped whole


def _inert(text: str) -> str:
    """Invisible breaks for everything that could go live; harmless inside code spans."""
    text = _MENTION.sub("@" + ZWSP, text)
    text = _ISSUE_REF.sub(lambda m: (m.group(1) or "#") + ZWSP, text)
    text = _TAG_OPEN.sub("<" + ZWSP, text)
    text = _IMAGE_OPEN.sub("!" + ZWSP, text)
    text = _TEX_LINK.sub("\\\\" + ZWSP, text)
    return _ENTITY.sub("&" + ZWSP, text)


def _prose(text: str) -> str:
    return _DEFINITION_START.sub(lambda m: m.group(1) + "\\[", _inert(text))


def _unmark(text: str) -> str:
    return _MARKER.sub(lambda m: m.group(0)[:-1] + ZWSP + ":", text)


def inert_code(text: str) -> str:
    """Text bound for a code span (a path, a model name): nothing in it can go live, or read
    as one of our markers, whatever a renderer decides about the span; it reads the same."""
    return _unmark(_inert(text))


def inert_escaped(text: str) -> str:
    """Markdown-escaped text (`\\<`, `\\!` ...): only mentions, references and markers to break."""
    text = _MENTION.sub("@" + ZWSP, text)
    return _unmark(_ISSUE_REF.sub(lambda m: (m.group(1) or "#") + ZWSP, text))


def _autolinkable(url: str) -> bool:
    """A URL that can stand as `<url>` and shows where it goes: no user part ("github.com@evil")."""
    if not _AUTOLINKABLE.fullmatch(url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return bool(parts.hostname) and "@" not in parts.netloc


def _honest(visible: str, href: str) -> bool:
    visible = visible.strip()
    return visible == href or href == "mailto:" + visible


def _target(href: str) -> str:
    """Where a link goes, shown as itself: an autolink when it can be one, else code."""
    return f"<{href}>" if _autolinkable(href) else md_code(href, limit=300)


class _Rewrite:
    """One pass: the text with every construct of one scan rewritten (see the module doc)."""

    def __init__(self, text: str, constructs: tuple[Construct, ...]) -> None:
        self.text = text
        self.items = constructs
        self.at = 0

    def run(self) -> str:
        return self.emit(0, len(self.text), len(self.items))

    def emit(self, start: int, end: int, stop: int) -> str:
        out: list[str] = []
        pos = start
        while self.at < stop:
            item = self.items[self.at]
            if item.start < pos or item.end > end:
                raise ValueError("constructs overlap")  # a wrong parse: the caller escapes everything
            self.at += 1
            inner = self.at
            while inner < len(self.items) and self.items[inner].end <= item.end \
                    and self.items[inner].start >= item.start:
                inner += 1
            out.append(_prose(self.text[pos:item.start]))
            out.append(self.construct(item, inner))
            self.at = inner
            pos = item.end
        out.append(_prose(self.text[pos:end]))
        return "".join(out)

    def words(self, item: Construct, stop: int) -> str:
        if item.label is None:
            return ""
        return self.emit(item.label[0], item.label[1], stop)

    def construct(self, item: Construct, stop: int) -> str:
        source = self.text[item.start:item.end]
        kind = item.kind
        if kind == "code_block":
            return _disarm_fence(source, item.visible)
        if kind == "code_span":
            return _inert(source)
        if kind == "definition":
            return "\\["  # a definition no more: its words show as they are
        if kind == "html_block":
            return _inert(_HTML_TAG.sub("", source))
        if kind == "html_inline":
            return "" if _HTML_TAG.fullmatch(source) else _inert(source)
        if kind == "image":
            return self.words(item, stop)  # the alt text's words, no picture
        if kind == "autolink":
            if _UNSAFE_SCHEME.match(item.href):
                return ""
            honest = _autolinkable(item.href) or (item.href.startswith("mailto:") and _honest(item.visible, item.href))
            return source if honest else md_code(item.visible, limit=300)
        words = self.words(item, stop)  # a link
        if _UNSAFE_SCHEME.match(item.href):
            return words
        if _honest(item.visible, item.href) and _autolinkable(item.href):
            return f"<{item.href}>"
        return f"{words} ({_target(item.href)})" if words.strip() else _target(item.href)


def _disarm_fence(block: str, info: str) -> str:
    # A ```suggestion block in a review comment offers a one-click commit; only our own
    # `suggestion` field may do that, never free text from the model. Math, diagrams and maps
    # are drawn, not shown as code: from the model they are plain text blocks too.
    found = _RENDERED_FENCE.match(info)
    if found is None:
        return block
    first, newline, rest = block.partition("\n")
    at = first.lower().find(found.group(1).lower())
    return first[:at] + "text" + first[at + len(found.group(1)):] + newline + rest


def _settle(text: str) -> str | None:
    """Rewrite until a parse of the text finds nothing to rewrite; None if it never does.
    Tidying is part of each pass: taking space off a line can make or unmake a code block."""
    for _ in range(_PASSES):
        text = _tidy(text)
        found = scan(text)
        if not found.exact:
            return None
        try:
            rewritten = _Rewrite(text, found.constructs).run()
        except ValueError:
            return None
        if rewritten == text:
            return None if found.live_text else text
        text = rewritten
    return None


def _tidy(text: str) -> str:
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", text).strip()


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space >= limit * 3 // 4:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def _safe(text: str, limit: int) -> str | None:
    settled = _settle(text)
    if settled is None:
        return None
    capped = _cap(settled, limit)
    if capped != settled:
        settled = _settle(capped)  # a cut can change what is code: parse again
        if settled is None:
            return None
    fence = open_fence(settled)
    if fence is not None:
        settled = _settle(f"{settled}\n{fence}")
    return settled


def sanitize_message(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Untrusted model text -> text safe for a GitHub comment, a report and an Actions log."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    "))
    # Past twice the limit little can be kept; the parse's cost grows faster than the text.
    text = _HTML_COMMENT.sub("", text[: limit * 2])
    safe = _safe(text, limit)
    if safe is None:  # the parse could not settle it: nothing of it stays markdown
        safe = _cap(md_text(text, None), limit)
    # Tag removal can join pieces into a new comment opener ("<!<b>--"): make any left inert.
    safe = _unmark(safe.replace("<!--", "<" + ZWSP + "!--"))
    return escape_log(safe)


# ---------------------------------------------------------------- untrusted text in our own markdown

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~&])")
_LIST_START = re.compile(r"^(?:-|(\d{1,9})\.)")  # what is left of a list marker once _MD_SPECIAL ran
_MD_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # become spaces: md_text flattens to one line


def md_text(text: str, limit: int | None = 500) -> str:
    """Untrusted text -> one inert markdown line that renders as exactly that text (CommonMark).

    Markdown punctuation is backslash-escaped, never turned into entities or HTML (`<br>` would
    be raw HTML): no tag, link, emphasis, table-cell border, heading or list starts; mentions,
    references and markers are broken with a zero-width space. Flattened to one line of at
    most `limit` characters. The one markdown escaper: review bodies, job summaries and
    `--format markdown` all use it.
    """
    text = _MD_SPECIAL.sub(r"\\\1", one_line(_MD_CONTROL.sub(" ", text), limit))
    text = _LIST_START.sub(lambda m: f"{m.group(1)}\\." if m.group(1) else "\\-", text)
    return inert_escaped(text)


def md_code(text: str, limit: int = 300) -> str:
    """Untrusted text -> a markdown code span (nothing inside one is interpreted)."""
    text = inert_code(one_line(_MD_CONTROL.sub(" ", text), limit))
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"
