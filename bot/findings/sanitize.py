"""Make model-written text safe to post on GitHub, print to a log, or put in a report; and
escape any untrusted text (paths, messages) for our own markdown (`md_text`, `md_code`).

Model output is untrusted: it must not forge our hidden `<!-- review-bot:... -->` markers,
notify people (@mentions), cross-reference issues (#123), load remote images, smuggle
`javascript:` links or raw HTML, break out of the comment with an unclosed code fence, or
start a workflow command in an Actions log.

Two layers. Visible clean-ups (dropping HTML tags, images, unsafe links) apply to prose only,
so fenced blocks keep their text. Invisible ones (a zero-width space after `@`, `#`, `<`, `!`
and `&` where they would start a mention, reference, tag, image or entity) apply to prose AND
inline code spans: deciding exactly where CommonMark puts a code span (backslash escapes,
spans over several lines, block starts inside a paragraph) is easy to get wrong, and a
zero-width space reads the same inside code, so a wrong guess can't make anything live.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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
# Alt text and destination may run over several lines (not over a blank line).
_NOT_BLANK = r"(?:[^\]\n]|\n(?![ \t]*\n))"
_IMAGE = re.compile(rf"!\[{_NOT_BLANK}*\](?:\((?:[^)\n]|\n(?![ \t]*\n))*\)|\[{_NOT_BLANK}*\])?")
_UNSAFE_SCHEME = r"(?:javascript|vbscript|data|file)\s*:"
_UNSAFE_LINK = re.compile(rf"\[([^\]\n]*)\]\(\s*<?{_UNSAFE_SCHEME}[^)\n]*\)", re.IGNORECASE)
_UNSAFE_AUTOLINK = re.compile(rf"<{_UNSAFE_SCHEME}[^>\n]*>", re.IGNORECASE)
_UNSAFE_REF_DEF = re.compile(rf"^[ ]{{0,3}}\[[^\]\n]+\]:\s*<?{_UNSAFE_SCHEME}.*$",
                             re.IGNORECASE | re.MULTILINE)
_MENTION = re.compile(r"(?<![A-Za-z0-9])@(?=[A-Za-z0-9])")  # `_@x_` renders as <em>@x</em>: live
# `owner/repo#12` links too, so any `#` before a digit (entities like `&#60;` are broken anyway).
# `GH-7` after `_` too: `_GH-7_` renders as emphasis, and the reference inside it is live.
_ISSUE_REF = re.compile(r"#(?=\d)|(?<![A-Za-z0-9])(GH-)(?=\d)", re.IGNORECASE)
_MARKER = re.compile(r"review-bot\s*:", re.IGNORECASE)
_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_BACKTICKS = re.compile(r"`+")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
# Invisible breaks: a tag / comment / declaration opener, an image, a character reference
# (`&#64;` renders as `@`, which GitHub then links as a mention).
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
_IMAGE_OPEN = re.compile(r"!(?=\[)")
_ENTITY = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
_BLANK_RUNS = re.compile(r"\n{3,}")


def _fence_open(line: str) -> tuple[str, int] | None:
    match = _FENCE.match(line)
    if match is None:
        return None
    fence = match.group(2)
    if fence[0] == "`" and "`" in match.group(3):
        return None  # CommonMark: a backtick fence's info string may not hold a backtick
    return fence[0], len(fence)


def _closes(line: str, fence: tuple[str, int]) -> bool:
    stripped = line.strip()
    return (len(line) - len(line.lstrip(" ")) <= 3 and len(stripped) >= fence[1]
            and set(stripped) == {fence[0]})


_ESCAPABLE = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _inline_spans(chunk: str) -> list[tuple[int, int]]:
    """Where CommonMark puts code spans in `chunk`: an unescaped run of N backticks up to the
    next run of exactly N, within one paragraph (no blank line between)."""
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(chunk):
        char = chunk[i]
        if char == "\\" and i + 1 < len(chunk) and chunk[i + 1] in _ESCAPABLE:
            i += 2
            continue
        if char != "`":
            i += 1
            continue
        run = _BACKTICKS.match(chunk, i)
        if run is None:  # unreachable: chunk[i] is a backtick
            break
        blank = _BLANK_LINE.search(chunk, run.end())
        limit = blank.start() if blank else len(chunk)
        closer = next((m for m in _BACKTICKS.finditer(chunk, run.end(), limit)
                       if len(m.group(0)) == len(run.group(0))), None)
        if closer is None:
            i = run.end()  # no closer: the run is literal backticks
            continue
        spans.append((i, closer.end()))
        i = closer.end()
    return spans


def _split_code(text: str) -> tuple[list[tuple[str, str]], tuple[str, int] | None]:
    """Cut text into (kind, piece) parts, kind "prose", "inline" (a one-line code span) or
    "fence" (a fenced block); also return the fence left open at the end. A code span over
    several lines counts as prose: block starts inside it make its extent uncertain."""
    parts: list[tuple[str, str]] = []
    prose: list[str] = []
    fence: tuple[str, int] | None = None

    def flush_prose() -> None:
        chunk = "".join(prose)
        prose.clear()
        last = 0
        for start, end in _inline_spans(chunk):
            if "\n" in chunk[start:end]:
                continue
            parts.append(("prose", chunk[last:start]))
            parts.append(("inline", chunk[start:end]))
            last = end
        parts.append(("prose", chunk[last:]))

    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        if fence is None:
            opened = _fence_open(body)
            if opened is None:
                prose.append(line)
                continue
            flush_prose()
            fence = opened
            parts.append(("fence", line))
        else:
            parts.append(("fence", line))
            if _closes(body, fence):
                fence = None
    flush_prose()
    return [p for p in parts if p[1]], fence


def _inert(text: str) -> str:
    """Invisible breaks for everything that could go live; harmless inside code spans."""
    text = _MENTION.sub("@" + ZWSP, text)
    text = _ISSUE_REF.sub(lambda m: (m.group(1) or "#") + ZWSP, text)
    text = _TAG_OPEN.sub("<" + ZWSP, text)
    text = _IMAGE_OPEN.sub("!" + ZWSP, text)
    return _ENTITY.sub("&" + ZWSP, text)


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


def _clean_prose(text: str) -> str:
    text = _HTML_TAG.sub("", text)
    text = _IMAGE.sub("", text)
    text = _UNSAFE_LINK.sub(r"\1", text)
    text = _UNSAFE_AUTOLINK.sub("", text)
    text = _UNSAFE_REF_DEF.sub("", text)
    return _inert(text)


def _neutralise_suggestion(line: str) -> str:
    # A ```suggestion block in a review comment offers a one-click commit; only our own
    # `suggestion` field may do that, never free text from the model.
    match = _FENCE.match(line.rstrip("\n"))
    if match and match.group(3).strip().lower().startswith("suggestion"):
        return f"{match.group(1)}{match.group(2)}text" + ("\n" if line.endswith("\n") else "")
    return line


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space >= limit * 3 // 4:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def sanitize_message(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Untrusted model text -> text safe for a GitHub comment, a report and an Actions log."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    "))
    text = _HTML_COMMENT.sub("", text)
    parts, _ = _split_code(text)
    clean: dict[str, Callable[[str], str]] = {"prose": _clean_prose, "inline": _inert, "fence": str}
    text = "".join(clean[kind](piece) for kind, piece in parts)
    # Tag removal can join pieces into a new comment opener ("<!<b>--"): make any left inert.
    text = text.replace("<!--", "<" + ZWSP + "!--")
    text = _unmark(text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = _BLANK_RUNS.sub("\n\n", text).strip()
    text = _cap(text, limit)
    lines = [_neutralise_suggestion(line) for line in text.splitlines(keepends=True)]
    text = "".join(lines)
    _, open_fence = _split_code(text)
    if open_fence is not None:
        text += "\n" + open_fence[0] * open_fence[1]
    return escape_log(text)


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
