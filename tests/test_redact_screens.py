"""Redaction's screens skip only what the patterns would leave alone.

bot.redact.scrub runs the patterns only where the screens of bot.redact.patterns find something.
Here a plain reference (every pattern on every line, as redaction did before the screens)
is compared with it on lines built to sit at the edges: secret names in odd spellings and
case variants (`ſ` is an `s` to `(?i)`), overlapping words, tokens, key blocks, config files.
"""

from __future__ import annotations

import re
from dataclasses import replace

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.redact import line as line_patterns
from bot.redact import scrub as redact
from bot.redact.joined import joined_values
from bot.redact.multiline import continued_values
from bot.redact.patterns import (
    ASSIGNMENT,
    EMAIL_ADDRESS,
    KEY,
    PEM_PAIR,
    TOKENS,
    URL_CREDENTIALS,
)
from bot.redact.screens import (
    CODE_HUNK_SCREEN,
    CODE_LINE_SCREEN,
    HUNK_SCREEN,
    LINE_SCREEN,
    WIDE_CODE_HUNK_SCREEN,
    WIDE_HUNK_SCREEN,
)
from bot.redact.scrub import (
    _allows_bare_values,
    _is_key_file,
    _line_places,
    _redact_key_line,
    _redact_line,
    _side_blocks,
    _Tally,
    redact_input,
    redact_text,
)
from bot.redact.token_shapes import ATLAS_HEAD, BEARER, LITERAL_ARG, QUOTED_SHAPED, SHAPED
from bot.sources import ReviewInput
from bot.types import FileDiff, Hunk, Line, ParsedDiff, SourceInfo
from tests.test_redact import AWS_ID, AWS_SECRET, BEGIN, END, GHP, GITHUB_PAT, HF, JWT, KEY_BODY, SLACK, WEBHOOK_TAIL

NAMES = ["password", "DB_PASSWORD", "dbPass", "api_key", "apiKey", "API-KEY", "Api.Key", "secret", "token", "authToken",
         "auth", "pw", "PWD", "credentials", "privateKey", "session$key", "encryptionKey", "aws_secret_access_key",
         "accessecret", "secretoken", "pa\u017f\u017fword", "aw\u017f_\u017fecret_key", "api\u0130key", "api\u212akey",
         "pass\u0130word", "token_url", "public_key", "key", "value"]
VALUES = ["q8Zk2Lm9Xp4Rt7Wv", "Xk92mLq0vB77zz", AWS_SECRET, "abc", "${X}", "hunter2hunter2", "a b c d e f g h"]
FRAGMENTS = st.sampled_from([
    *NAMES, *VALUES, GHP, GITHUB_PAT, HF, AWS_ID, SLACK, JWT, "https://hooks.slack.com/services/" + WEBHOOK_TAIL,
    "jane.doe@example.org", "postgres://u:Zx9qL2mP7w@db/app", "git@github.com:o/r.git", "@decorator",
    " = ", "=", ": ", ":=", " => ", "] = ", ": str = ", ": Optional[str] =", "==", '"', "'", "`", " ", "(", ")",
    ",", "x", "self.", "\t", "@", "/", ":", "<", ">", "%", "example.org", "https://",
])


def plain_line(text: str, bare_values: bool, tally: _Tally, shapes: bool | None = None) -> str:
    """Every pattern on the line, in order, with no screen and no needle."""
    for pattern, placeholder, _ in TOKENS:
        text = pattern.sub(lambda m, p=placeholder: line_patterns.replace_token(m, tally, p), text)  # type: ignore[misc]
    shaped = SHAPED if (bare_values if shapes is None else shapes) else QUOTED_SHAPED
    text = shaped.sub(lambda m: line_patterns.replace_token(m, tally), text)
    if KEY in text:
        text = ATLAS_HEAD.sub("", text)
    text = BEARER.sub(lambda m: line_patterns.replace_value(m, tally), text)
    text = URL_CREDENTIALS.sub(lambda m: line_patterns.replace_url_password(m, tally), text)
    text = ASSIGNMENT.sub(lambda m: line_patterns.replace_assignment(m, bare_values, tally), text)
    text = LITERAL_ARG.sub(lambda m: line_patterns.replace_value(m, tally), text)
    if "@" in text:
        text = EMAIL_ADDRESS.sub(lambda m: line_patterns.replace_email(m, tally), text)
    return text


def plain_hunk(hunk: Hunk, secret_lines: set[tuple[str, str, int]], tally: _Tally) -> Hunk:
    bare = _allows_bare_values(hunk.path)
    shapes = redact._shapes_anywhere(hunk.path)

    def probe_line(text: str) -> tuple[str, int]:
        probe_tally = _Tally()
        return plain_line(text, bare, probe_tally, shapes), probe_tally.secrets

    joined, values = joined_values(hunk.lines, probe_line)  # (no screen: it runs on every hunk)
    tally.secrets += values
    for i in joined:
        secret_lines.update(_line_places(hunk.path, hunk.lines[i]))
    hunk = replace(hunk, lines=tuple(replace(ln, text=joined[i]) if i in joined else ln
                                     for i, ln in enumerate(hunk.lines)))
    probe = "\n".join(ln.text for ln in hunk.lines)
    keyish = _is_key_file(hunk.path) or "PRIVATE KEY" in probe or PEM_PAIR.search(probe) is not None
    in_block, blocks = _side_blocks(hunk.lines, True) if keyish else (set(), 0)
    tally.secrets += blocks
    lines = []
    for i, line in enumerate(hunk.lines):
        before = tally.secrets
        text = _redact_key_line(line.text) if i in in_block else plain_line(line.text, bare, tally, shapes)
        if i in in_block or tally.secrets > before:
            secret_lines.update(_line_places(hunk.path, line))
        lines.append(Line(line.kind, line.old_no, line.new_no, text))
    changed, values = continued_values([ln.text for ln in lines])  # every hunk, with no screen
    tally.secrets += values
    for j, text in changed.items():
        if j not in in_block:
            lines[j] = Line(lines[j].kind, lines[j].old_no, lines[j].new_no, text)
            secret_lines.update(_line_places(hunk.path, lines[j]))
    parts = hunk.header.split("@@", 2)
    header = hunk.header
    if len(parts) == 3 and not parts[0]:
        header = "@@".join((parts[0], parts[1], plain_line(parts[2], bare, tally, shapes)))
    return Hunk(hunk.path, hunk.old_start, hunk.old_len, hunk.new_start, hunk.new_len, header, tuple(lines))


@settings(max_examples=1500, deadline=None)
@given(st.lists(FRAGMENTS, max_size=7), st.booleans())
def test_a_line_the_patterns_change_is_found_by_both_screens(parts: list[str], bare: bool) -> None:
    text = "".join(parts)
    tally = _Tally()
    changed = plain_line(text, bare, tally) != text or tally.secrets or tally.emails
    lowered = text.lower()
    screen = LINE_SCREEN if bare else CODE_LINE_SCREEN
    hunk_screen = HUNK_SCREEN if bare else CODE_HUNK_SCREEN
    if len(lowered) != len(text):  # a name's rest is screened only where lowering kept the length
        hunk_screen = WIDE_HUNK_SCREEN if bare else WIDE_CODE_HUNK_SCREEN
    if changed and len(lowered) == len(text):  # where redaction looks: both screens at one place
        assert any(hunk_screen.match(lowered, at) and screen.match(text, at) for at in range(len(text)))
    if changed:
        assert hunk_screen.search(lowered) and screen.search(text) and LINE_SCREEN.search(text)
    fast = _Tally()
    assert (_redact_line(text, bare, fast), fast.secrets, fast.emails) == (plain_line(text, bare, tally := _Tally()),
                                                                         tally.secrets, tally.emails)


LINE_TEXTS = st.lists(FRAGMENTS, max_size=5).map("".join) | st.sampled_from([BEGIN, END, *KEY_BODY, "x = 1"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("+- "), LINE_TEXTS), max_size=8), LINE_TEXTS,
       st.sampled_from(["app.py", "conf/.env", "deploy.yml", "ssh/id_rsa", "server.key", "Dockerfile", "README",
                        "docs/index.md"]))
# Found by this test: a token's placeholder after 14 characters and a dot is an Atlas head whether
# or not the line has a needle of the other token shapes.
@example([], "passwordpasswordself.ghp_Xk29LmQp7RtVw3ZaB8nYc4DeF6gH1jK0sU5o", "conf/.env")
def test_hunks_are_redacted_as_by_every_pattern_on_every_line(body: list[tuple[str, str]], section: str,
                                                              path: str) -> None:
    lines, old, new = [], 1, 1
    for kind, text in body:
        lines.append(Line(kind, None if kind == "+" else old, None if kind == "-" else new, text))  # type: ignore[arg-type]
        old, new = old + (kind != "+"), new + (kind != "-")
    hunk = Hunk(path, 1, old - 1, 1, new - 1, f"@@ -1,{old - 1} +1,{new - 1} @@{section}", tuple(lines))
    review_input = ReviewInput(info=SourceInfo(kind="diff"), diff=ParsedDiff(
        files=(FileDiff(path=path, old_path=path, status="modified", hunks=(hunk,)),)))
    fast = redact_input(review_input, enabled=True)
    secret_lines: set[tuple[str, str, int]] = set()
    tally = _Tally()
    expected = plain_hunk(hunk, secret_lines, tally)
    assert fast.review_input.diff.files[0].hunks[0] == expected
    assert (fast.secret_lines, fast.count, fast.emails) == (secret_lines, tally.secrets, tally.emails)
    if expected == hunk:  # nothing replaced: the very same objects come back
        assert fast.review_input.diff.files[0] is review_input.diff.files[0]


def test_long_s_and_overlapping_words_are_screened() -> None:
    # `(?i)aws` matches "awſ"; "accessecret" is "access" and "secret" sharing an "s".
    assert redact_text("aw\u017f_\u017fecret_key = " + AWS_SECRET)[1] == 1
    assert redact_text('accessecret = "q8Zk2Lm9Xp4Rt7Wv"')[1] == 1
    assert re.search("(?i)s", "\u017f") and "\u017f".lower() == "\u017f"


# The wide screens gate every line a split value is rebuilt into (scrub._redact_hunk's probe_line),
# as they gate whole hunks: a line they find nothing in must be one no pattern changes.
def _labelled_lines() -> list[str]:
    import json

    from tests.conftest import FIXTURES, SHARED

    files = [FIXTURES / "secrets" / "issue16.jsonl", SHARED / "secrets" / "cases.jsonl"]
    rows = [json.loads(line) for path in files if path.is_file() for line in path.open(encoding="utf-8")]
    return [text for row in rows for text in row["lines"]]


def _wide_screen_misses(text: str) -> list[tuple[bool, bool]]:
    """The (bare values, token shapes unquoted) kinds of file for which the patterns change `text`
    while the wide screen probe_line uses finds nothing in it."""
    missed = []
    for bare, shapes in ((True, True), (False, True), (False, False)):
        wide = WIDE_HUNK_SCREEN if shapes else WIDE_CODE_HUNK_SCREEN
        tally = _Tally()
        if (plain_line(text, bare, tally, shapes) != text or tally.secrets or tally.emails) \
                and wide.search(text.lower()) is None:
            missed.append((bare, shapes))
    return missed


def test_the_wide_screens_find_every_labelled_credential_line() -> None:
    lines = _labelled_lines()
    assert len(lines) > 1000
    assert [(text[:80], missed) for text in lines if (missed := _wide_screen_misses(text))] == []


@settings(max_examples=1500, deadline=None)
@given(st.lists(FRAGMENTS, max_size=7))
def test_the_wide_screens_find_every_line_the_patterns_change(parts: list[str]) -> None:
    assert _wide_screen_misses("".join(parts)) == []
