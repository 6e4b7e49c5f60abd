"""Messages that say nothing: a finding whose text gives the reader no claim to check.

Small models fill the format when they have nothing to say (recorded Qwen2.5-Coder answers in
bench/eval/answers and tests/fixtures/real_answers):

- the code "should be" the same code: "`__bool__ = __nonzero__` should be `__bool__ = __nonzero__`";
- only code, no words about it: "`def gettext(self, message: str) -> str: ...`", or a line of
  the diff copied as the message;
- a placeholder for advice: "None", "N/A", "MESSAGE".

With [review] drop_vacuous each is dropped and counted (RunStats.dropped_vacuous), like an echo
of the prompt. Off by default until the held-out sets say: on the jinja development set (30
cases, review-chat, stored answers) it dropped 4 findings, 2 of them on the bug's line (the
quoted code alone, "`token.type is not 'data'`", is review-chat's CODE slot naming the wrong
part). A message that proposes other code ("`a` should be `b`", even a revert of the change)
says something and always stays.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_QUOTED = re.compile(r"`([^`\n]*)`")
# "X should be Y" and its shapes: the two sides of a proposed change.
_CHANGE = re.compile(
    r"^\s*(?:replace\s+)?`(?P<a>[^`\n]*)`\s*"
    r"(?:should\s+(?:be|read|become)(?:\s+(?:changed|replaced)\s+(?:to|with|by))?|->|=>|\u2192|"
    r"with|to|must\s+be|instead\s+of|is\s+the\s+same\s+as)\s*"
    r"`(?P<b>[^`\n]*)`\s*[.!]?\s*$",
    re.IGNORECASE)
_EMPTY_ADVICE = frozenset((
    "none", "null", "nil", "n/a", "na", "nothing", "no issue", "no issues", "no bug", "no bugs",
    "no problem", "no problems", "ok", "okay", "fine", "tbd", "todo", "message", "description",
    "explanation", "code", "bug", "error", "warning", "info", "issue", "problem", "unknown",
))
_LABEL = re.compile(r"^\s*(?:message|description|explanation|reason|issue)\s*:\s*", re.IGNORECASE)
_WORDISH = re.compile(r"[A-Za-z]{2}")


def _normal(text: str) -> str:
    return " ".join(text.split())


def says_nothing(message: str, lines: Iterable[str] = ()) -> bool:
    """Whether `message` claims nothing: the same code proposed for itself, only code (quoted, or a
    line of `lines`, the request's diff lines), or a placeholder for advice."""
    text = _LABEL.sub("", message.strip(), count=1).strip()
    change = _CHANGE.match(text)
    if change is not None:
        return _normal(change.group("a")) == _normal(change.group("b"))
    outside = _QUOTED.sub(" ", text)
    if _QUOTED.search(text) and not _WORDISH.search(outside):
        return True  # only quoted code, and punctuation
    bare = _normal(text.strip(" .!:;-*`\"'")).lower()
    if bare in _EMPTY_ADVICE or not _WORDISH.search(bare):
        return True
    code = _normal(text.strip("`"))
    return bool(code) and any(code == _normal(line) for line in lines)
