"""One line of text (or a path) with its credentials replaced: every pattern, in order.

bot.redact.scrub decides which lines get here (the screens) and handles what spans lines (key
blocks, split values, values continued below their name); `redact_path` is for file names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.redact.patterns import (
    ASSIGNMENT,
    AWS_AFTER,
    AWS_BEFORE,
    AWS_SECRET,
    EMAIL_ADDRESS,
    FORMAT_FIELD,
    GAP,
    KEY,
    LONGEST,
    NOT_EMAIL_USERS,
    PASSWORD,
    TOKENS,
    URL_CREDENTIALS,
    looks_secret,
    secret_kind,
)
from bot.redact.patterns import EMAIL as EMAIL
from bot.redact.screens import HUNK_SCREEN, WIDE_HUNK_SCREEN, next_operator
from bot.redact.token_shapes import (
    ATLAS_HEAD,
    BEARER,
    LITERAL_ARG,
    QUOTED_SHAPED,
    SHAPED,
    has_shaped_needle,
    literal_credential,
    plain_token,
)


@dataclass
class Tally:
    secrets: int = 0
    emails: int = 0


def replace_assignment(match: re.Match[str], bare_values: bool, tally: Tally) -> str:
    kind = secret_kind(match.group("name"))  # first: cached, and most names are no secret's
    if kind is None:
        return match.group(0)
    value = match.group("value")
    if value is None:
        value = match.group("bare")
        if not bare_values or value is None or FORMAT_FIELD.search(value):  # `{SumoAccessKey}`: a template
            return match.group(0)
        value = value.rstrip(")]}")
        if "(" in value:  # `click.make_pass_decorator(dict,`: a call, so an expression, not a literal
            return match.group(0)
    if value in (KEY, PASSWORD):
        return match.group(0)
    if KEY in value or PASSWORD in value:  # a token found inside: the rest of the value goes with it
        kind = KEY if KEY in value else PASSWORD
    elif not looks_secret(value):
        return match.group(0)
    else:
        tally.secrets += 1
    start = match.start("value") if match.group("value") is not None else match.start("bare")
    offset = start - match.start()
    text = match.group(0)
    return text[:offset] + kind + text[offset + len(value):]


def replace_url_password(match: re.Match[str], tally: Tally) -> str:
    if not looks_secret(match.group(2), min_len=6):
        return match.group(0)
    tally.secrets += 1
    return f"{match.group(1)}:{PASSWORD}@"


def replace_email(match: re.Match[str], tally: Tally) -> str:
    if match.group(0).split("@", 1)[0].lower() in NOT_EMAIL_USERS:
        return match.group(0)
    tally.emails += 1
    return EMAIL


def replace_token(match: re.Match[str], tally: Tally, placeholder: str = KEY) -> str:
    if plain_token(match.group(0)):  # `ghp_xxxx...`, `AKIA...EXAMPLE`: documentation, not a credential
        return match.group(0)
    tally.secrets += 1
    return match.expand(placeholder)


def replace_value(match: re.Match[str], tally: Tally) -> str:
    """The `value` group of a header or call-argument match -> `<KEY>`, if it is a credential."""
    value = match.group("value")
    if not literal_credential(value):
        return match.group(0)
    tally.secrets += 1
    text, offset = match.group(0), match.start("value") - match.start()
    return text[:offset] + KEY + text[offset + len(value):]


def redact_line(text: str, bare_values: bool, tally: Tally, shapes: bool | None = None) -> str:
    """`shapes`: token shapes count unquoted too (default: where bare values do)."""
    lowered = text.lower()
    for pattern, placeholder, needles in TOKENS:
        if any(needle in lowered for needle in needles):
            def token(m: re.Match[str], p: str = placeholder) -> str:
                return replace_token(m, tally, p)
            # (The AWS secret needs an operator after its name: tried near those only, as ASSIGNMENT.)
            text = _near_operators(pattern, token, text, AWS_BEFORE, AWS_AFTER) if pattern is AWS_SECRET \
                else pattern.sub(token, text)
            lowered = text.lower()
    # Each pattern runs only where a necessary condition of it holds, tested in C (a `str` `in`, or
    # one scan for SHAPED's needles): a full pass of a pattern that starts with a lookbehind tries
    # it at every character, which on a long line costs more than all of these tests (issue 16).
    # (QUOTED_SHAPED starts at a quote, so `re` skips to those by itself: cheaper than the needles.)
    anywhere = bare_values if shapes is None else shapes
    if not anywhere or has_shaped_needle(text, lowered):
        text = (SHAPED if anywhere else QUOTED_SHAPED).sub(lambda m: replace_token(m, tally), text)
    if KEY in text:  # (outside the gate: a TOKENS placeholder can follow an Atlas head too)
        text = ATLAS_HEAD.sub("", text)
    if "bearer" in lowered or "basic" in lowered:  # (lowering never shortens these words' letters)
        text = BEARER.sub(lambda m: replace_value(m, tally), text)
    at = "@" in text
    if at and "://" in text:  # both needed by a URL's credentials
        text = URL_CREDENTIALS.sub(lambda m: replace_url_password(m, tally), text)
    if "=" in text or ":" in text:  # every operator of ASSIGNMENT holds one
        text = _near_operators(ASSIGNMENT, lambda m: replace_assignment(m, bare_values, tally), text)
    if "'" in text or '"' in text:  # a quoted argument
        text = LITERAL_ARG.sub(lambda m: replace_value(m, tally), text)
    if at and "." in text:  # an address's domain has a dot
        text = EMAIL_ADDRESS.sub(lambda m: replace_email(m, tally), text)
    return text


# ASSIGNMENT's reach: from a match's start to its first `:` or `=` (quote, name, bracket, a type
# annotation with its spaces and `:`, spaces), and from there to the match's end (operator,
# spaces, a quoted value).
_BEFORE = 2 + 81 + 1 + (GAP + 1 + GAP + 1 + 41) + GAP + 8
_AFTER = 2 + GAP + LONGEST + 8


def _near_operators(pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str], text: str,
                    before: int = _BEFORE, after: int = _AFTER) -> str:
    """`pattern.sub(replace, text)` for ASSIGNMENT (or AWS_SECRET), tried only near the operators of `text`.

    Every match holds a `:` or `=` at most `before` characters after its start and ends at most
    `after` characters after it, so it lies in a window around a run of operators (found by
    `str.rfind`, in C) and a search of those windows finds what `sub` over the text finds; a
    long line with one `=` (`token = '{a{a{a…`) is no longer tried at each of its words (issue 16).
    """
    windows: list[tuple[int, int]] = []
    found = next_operator(text, 0)
    while found >= 0:
        end = found  # the window's last operator: extend while the next one's window overlaps
        while True:
            later = max(text.rfind(":", end + 1, end + before + after + 1),
                        text.rfind("=", end + 1, end + before + after + 1))
            if later < 0:
                break
            end = later
        windows.append((max(0, found - before), min(len(text), end + after + 1)))
        found = next_operator(text, windows[-1][1])
    if 2 * sum(stop - start for start, stop in windows) >= len(text):
        return pattern.sub(replace, text)  # (its loop is in C: faster where the windows are most of it)
    out: list[str] = []
    done = 0
    for start, stop in windows:
        for match in pattern.finditer(text, start, stop):
            out.append(text[done:match.start()])
            out.append(replace(match))
            done = match.end()
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def redact_path(path: str, tally: Tally | None = None) -> str:
    """A file's path with a credential in its name (`notes/ghp_….txt`) replaced, segment by segment.

    Paths are text a pull request's author writes, and they go everywhere: prompts, findings,
    the review's body, logs, SARIF. bot.redact.scrub.redact_input replaces them once, where the
    diff model is made, so every later stage and sink sees the same shown path. A segment is
    read as prose (token shapes count unquoted; no bare `name=value`), and so is what follows
    each `.`, `_` or `-` in it (`backup_ghp_….txt`: the token's own boundary is not the name's).
    GitHub itself is never told the shown path (the review sink checks comments against the PR's
    own diff): a finding on such a file goes in the review's body, under the shown path.
    """
    lowered = path.lower()
    screen = HUNK_SCREEN if len(lowered) == len(path) else WIDE_HUNK_SCREEN
    if not path or screen.search(lowered) is None:
        return path
    counted = tally if tally is not None else Tally()
    return "/".join(_redact_segment(segment, counted) for segment in path.split("/"))


def _redact_segment(segment: str, tally: Tally) -> str:
    segment = redact_line(segment, False, tally, shapes=True)
    if len(segment) > _LONGEST_NAME:  # no file system has such names: one pass, to stay linear
        return segment
    at = 0
    while True:
        cut = _NAME_SEPARATOR.search(segment, at)
        if cut is None:
            return segment
        rest = segment[cut.end():]
        redacted = redact_line(rest, False, tally, shapes=True)
        segment = segment[:cut.end()] + redacted
        at = cut.end()


_NAME_SEPARATOR = re.compile(r"[._-]")
_LONGEST_NAME = 255  # bytes of a file name on common file systems
