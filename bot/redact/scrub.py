"""Replace credentials in diffs and PR text before any of it is rendered into a prompt.

The placeholders are StarCoder2's own PII tokens (`<KEY>`, `<PASSWORD>`, `<EMAIL>`): its
training data had secrets replaced by exactly these, so the model reads them as "a secret
was here" rather than as odd text. Redaction runs first in the pipeline, so prompts,
findings (messages and fingerprints derive from the redacted hunks), logs and every output
format only ever see the placeholders.

Detection is deliberately conservative on ordinary code. Credentials with a shape of their own
(some eighty provider formats in `bot.redact.token_shapes`, JWTs, private-key blocks, also a key's
body with neither marker in the hunk) are matched by shape, in code at the start of a string
literal; documentation values (`AKIA...EXAMPLE`, `ghp_xxxx`) are left alone. Where nothing
names a value, a `Bearer`/`Basic` credential or a random-looking string handed to a call is
replaced. A free-form value needs a secret-like name (`password`, `token`, `api_key` ...), on
its line or the line its value continues from (`bot.redact.multiline`), *and* a value that
looks random (no spaces, not a placeholder, reference or template, not plain words, Shannon
entropy over a length-dependent threshold; hex keys count). A missed secret that is plain words
is the accepted cost. The patterns live in `bot.redact.patterns` and `bot.redact.token_shapes`; the
screens of `bot.redact.screens` keep the cost of a large diff with no credential in it to a few
scans of its text. `tests/reliability/secret_cases.py` scores all of it on labelled cases.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate
from operator import attrgetter

from bot.diff.pathnames import base_name, suffix
from bot.redact.joined import joined_values
from bot.redact.joined_gate import joined_gate, joined_line_redactor, may_hold_match
from bot.redact.keys import key_block_lines as _key_block_lines
from bot.redact.keys import pem_pair as _pem_pair
from bot.redact.keys import redact_key_line as _redact_key_line
from bot.redact.line import Tally as _Tally
from bot.redact.line import redact_line as _redact_line
from bot.redact.line import redact_path
from bot.redact.multiline import DANGLING, continued_values
from bot.redact.patterns import (
    CONFIG_SUFFIXES,
    KEY_FILE_PREFIXES,
    KEY_FILE_SUFFIXES,
    PRIVATE_KEY_MARK,
    PROSE_SUFFIXES,
)
from bot.redact.patterns import EMAIL as EMAIL
from bot.redact.patterns import KEY as KEY
from bot.redact.patterns import MAX_ENTROPY_THRESHOLD as MAX_ENTROPY_THRESHOLD
from bot.redact.patterns import MIN_SECRET_LEN as MIN_SECRET_LEN
from bot.redact.patterns import PASSWORD as PASSWORD
from bot.redact.patterns import entropy_threshold as entropy_threshold
from bot.redact.patterns import looks_secret as looks_secret
from bot.redact.patterns import secret_kind as secret_kind
from bot.redact.patterns import shannon_entropy as shannon_entropy
from bot.redact.prefilter import search as prefiltered_search
from bot.redact.screens import (
    CODE_HUNK_SCREEN,
    CODE_LINE_SCREEN,
    HUNK_SCREEN,
    LINE_SCREEN,
    PROSE_HUNK_SCREEN,
    PROSE_LINE_SCREEN,
    QUOTED_CODE_HUNK_SCREEN,
    WIDE_CODE_HUNK_SCREEN,
    WIDE_HUNK_SCREEN,
    Screen,
)
from bot.sources import HeadFiles, ReviewInput
from bot.types import FileDiff, Finding, Hunk, Line, Skipped

SECRET_NOTE = " (this line contains a credential; it was redacted before review)"

SecretLine = tuple[str, str, int]  # (path, side, line)
_TEXT = attrgetter("text")


@dataclass(frozen=True)
class RedactedInput:
    review_input: ReviewInput  # Line.text, hunk headers, title and body with placeholders
    secret_lines: frozenset[SecretLine]  # (path, "LEFT"|"RIGHT", line) that held a credential
    count: int  # credentials replaced (a private-key block counts once)
    emails: int = 0  # e-mail addresses replaced (personal data, not credentials)


# ---------------------------------------------------------------- one line of text

def redact_text(text: str, bare_values: bool = True) -> tuple[str, int, int]:
    """Free text (PR title or body) -> (redacted text, credentials replaced, e-mails replaced).

    Split values first, as in hunks (bot.redact.joined): no screen sees them whole.
    """
    def probe_line(line: str) -> tuple[str, int]:
        probe_tally = _Tally()
        return _redact_line(line, bare_values, probe_tally), probe_tally.secrets

    joined, values = joined_values([Line(" ", None, None, line) for line in text.split("\n")], probe_line)
    if joined:
        text = "\n".join(joined.get(i, line) for i, line in enumerate(text.split("\n")))
    lowered = text.lower()
    screen = HUNK_SCREEN if len(lowered) == len(text) else WIDE_HUNK_SCREEN
    if PRIVATE_KEY_MARK not in text and screen.search(lowered) is None:
        return text, values, 0  # no line can match: nothing to replace (see secret_patterns)
    tally = _Tally(secrets=values)
    lines = text.split("\n")
    in_block, blocks = _key_block_lines(lines)
    tally.secrets += blocks
    out = [_redact_key_line(ln) if i in in_block else _redact_line(ln, bare_values, tally)
           for i, ln in enumerate(lines)]
    if DANGLING.search(text):
        changed, values = continued_values(out)
        tally.secrets += values
        for i, line in changed.items():
            out[i] = line
    return "\n".join(out), tally.secrets, tally.emails


# ---------------------------------------------------------------- hunks and the whole input

def _allows_bare_values(path: str) -> bool:
    """Unquoted values are literals only in config-like files; in code they are expressions."""
    name = base_name(path)
    return suffix(name).lower() in CONFIG_SUFFIXES or name.startswith(".env") or name == "Dockerfile"


def _is_key_file(path: str) -> bool:
    name = base_name(path).lower()
    return name.endswith(KEY_FILE_SUFFIXES) or name.startswith(KEY_FILE_PREFIXES)


def _shapes_anywhere(path: str) -> bool:
    """Token shapes count unquoted in config-like files and prose; in code only inside literals."""
    return _allows_bare_values(path) or suffix(base_name(path)).lower() in PROSE_SUFFIXES


def _kind_of(path: str, known: dict[str, tuple[bool, bool, bool]]) -> tuple[bool, bool, bool]:
    """(bare values allowed, a key file, token shapes unquoted) for `path`, judged once per path."""
    kind = known.get(path)
    if kind is None:
        kind = known[path] = (_allows_bare_values(path), _is_key_file(path), _shapes_anywhere(path))
    return kind


def _side_blocks(lines: Sequence[Line], bare_runs: bool) -> tuple[set[int], int]:
    """Key-block lines of a hunk, found on each side's own sequence of lines."""
    marked: set[int] = set()
    blocks = 0
    for excluded in ("+", "-"):  # the old side (no '+') and the new side (no '-')
        indices = [i for i, ln in enumerate(lines) if ln.kind != excluded]
        found, count = _key_block_lines([lines[i].text for i in indices], bare_runs)
        marked.update(indices[j] for j in found)
        blocks = max(blocks, count)
    return marked, blocks


def _line_places(path: str, line: Line) -> Iterable[SecretLine]:
    if line.kind != "-" and line.new_no is not None:
        yield path, "RIGHT", line.new_no
    if line.kind != "+" and line.old_no is not None:
        yield path, "LEFT", line.old_no


# A hunk's text as the screens read it: (the header split at "@@", its section (None: not file
# content), the pieces (0 the section, i + 1 line i), the pieces joined by "\n", that lowered,
# whether it may hold key material). A tuple: one made per hunk of every diff.
_HunkText = tuple[list[str], "str | None", list[str], str, str, bool]


def _hunk_text(hunk: Hunk, key_file: bool) -> _HunkText:
    parts = hunk.header.split("@@", 2)
    section = parts[2] if len(parts) == 3 and not parts[0] else None  # the text after the header is file content
    pieces = [section or "", *map(_TEXT, hunk.lines)]
    probe = "\n".join(pieces)
    # A run of full-width base64 lines is key material in any file (the hunk may lie inside a key).
    body = probe[len(pieces[0]) + 1:]  # the lines, without the header's section
    keyish = key_file or PRIVATE_KEY_MARK in body or _pem_pair(body)
    return parts, section, pieces, probe, probe.lower(), keyish


def _redact_hunk(hunk: Hunk, kind: tuple[bool, bool, bool], secret_lines: set[SecretLine], tally: _Tally) -> Hunk:
    """`kind`: (bare values allowed, a key file, token shapes unquoted) for the hunk's path.

    Values split over several literals go first (bot.redact.joined): no screen sees them whole.
    Where the hunk holds no key material and no match of the wide screen, not even in a value
    joined from several literals (bot.redact.joined_gate), no pattern changes it: most hunks of code.
    """
    text = _hunk_text(hunk, kind[1])
    keyish = text[5]
    if not keyish and not may_hold_match(text[4], code=not kind[2]):
        return hunk
    # (Where the gate was asked, it found a place: joined_values need not ask it again.)
    gate = joined_gate(kind) if keyish else None
    joined, values = joined_values(hunk.lines, joined_line_redactor(kind), gate) if hunk.lines else ({}, 0)
    if not joined:
        return _redact_lines(hunk, kind, secret_lines, tally, text)
    tally.secrets += values
    for i in joined:
        secret_lines.update(_line_places(hunk.path, hunk.lines[i]))
    lines = tuple(replace(line, text=joined[i]) if i in joined else line for i, line in enumerate(hunk.lines))
    changed = replace(hunk, lines=lines)
    return _redact_lines(changed, kind, secret_lines, tally, _hunk_text(changed, kind[1]))


def _redact_lines(hunk: Hunk, kind: tuple[bool, bool, bool], secret_lines: set[SecretLine], tally: _Tally,
                  hunk_text: _HunkText) -> Hunk:
    """Key blocks, then each line the screens let through, then values continued below their name."""
    bare, _, shapes = kind
    parts, section, pieces, probe, lowered, keyish = hunk_text
    # The wide screen (words alone) first: it skips most text faster; where it finds a place, the
    # narrow one (a name's rest and operator too) takes over from there (see WIDE_HUNK_SCREEN).
    # RE2 scans first, where installed (bot.redact.prefilter).
    wide = WIDE_HUNK_SCREEN if shapes else WIDE_CODE_HUNK_SCREEN
    first = prefiltered_search(wide, lowered)
    if first is None and not keyish:
        return hunk  # nothing in it can match (see bot.redact.screens)
    # `first`: a secret name's operator without a value after it counts (its value may go on
    # below: bot.redact.multiline); the lines are screened with what the line screen asks.
    wide_text = len(lowered) != len(probe)
    hunk_screen = wide if wide_text else HUNK_SCREEN if shapes else CODE_HUNK_SCREEN
    line_hunk_screen = (wide if wide_text else HUNK_SCREEN if bare
                        else PROSE_HUNK_SCREEN if shapes else QUOTED_CODE_HUNK_SCREEN)
    line_screen = LINE_SCREEN if bare else PROSE_LINE_SCREEN if shapes else CODE_LINE_SCREEN
    if first is not None and hunk_screen is not wide:
        first = hunk_screen.search(lowered, first.start())
    line_first = first if first is None or line_hunk_screen is hunk_screen else \
        line_hunk_screen.search(lowered, first.start())
    in_block, blocks = _side_blocks(hunk.lines, True) if keyish else (set(), 0)
    tally.secrets += blocks
    texts = list(pieces)
    for i in in_block:
        texts[i + 1] = _redact_key_line(pieces[i + 1])
        secret_lines.update(_line_places(hunk.path, hunk.lines[i]))
    for k in _screened(pieces, probe, lowered, line_first, line_hunk_screen, line_screen):
        if (k == 0 and section is None) or (k and k - 1 in in_block):
            continue
        before = tally.secrets
        texts[k] = _redact_line(pieces[k], bare, tally, shapes)
        if k and tally.secrets > before:
            secret_lines.update(_line_places(hunk.path, hunk.lines[k - 1]))
    if first is not None and _dangles(pieces, probe):  # a name whose value goes on below
        changed, values = continued_values(texts[1:])
        tally.secrets += values
        for j, text in changed.items():
            if j not in in_block:
                texts[j + 1] = text
                secret_lines.update(_line_places(hunk.path, hunk.lines[j]))
    if texts == pieces:
        return hunk
    lines = tuple(line if text == line.text else replace(line, text=text)
                  for line, text in zip(hunk.lines, texts[1:], strict=True))
    header = hunk.header if texts[0] == pieces[0] else "@@".join((parts[0], parts[1], texts[0]))
    return replace(hunk, lines=lines, header=header)


_DANGLING_ENDS = frozenset(">|-+0123456789(\\")  # the last character before a DANGLING line's spaces


def _may_dangle(pieces: Sequence[str]) -> bool:
    """Whether DANGLING may match a line: one ends (spaces aside) as it needs. Cheaper than its
    search, which tries at every `:`, `=` and `\\` (a line of `=`: issue 16)."""
    return any(piece.rstrip()[-1:] in _DANGLING_ENDS for piece in pieces)


def _dangles(pieces: Sequence[str], probe: str) -> bool:
    """`_may_dangle(pieces) and DANGLING.search(probe)`, `probe` the pieces joined by "\\n".

    A match of DANGLING stays on one line and ends at its end: where no piece holds a line end
    of its own, it ends a piece whose last character (spaces aside) _may_dangle accepts. So only
    those pieces are searched, each once, not the whole text, where DANGLING is tried at every
    `:`, `=` and backslash (0.06x unidiff's parse on the corpus diff, for 25 of its hunks).
    tests/test_redact_joined.py compares the two.
    """
    if probe.count("\n") != len(pieces) - 1:  # a piece with a line end of its own: as before
        return _may_dangle(pieces) and DANGLING.search(probe) is not None
    return any(piece.rstrip()[-1:] in _DANGLING_ENDS and DANGLING.search(piece) is not None for piece in pieces)


def _screened(pieces: list[str], probe: str, lowered: str, first: re.Match[str] | None,
              hunk_screen: re.Pattern[str] | Screen, screen: re.Pattern[str]) -> list[int]:
    """Indices of the pieces of `probe` (joined with "\\n") that may hold a credential.

    Anything a pattern replaces starts where `hunk_screen` finds something in the lowered text,
    and the line screen matches there in the original (see secret_patterns). So the screen runs
    anchored at each place `hunk_screen` finds, overlaps included (`accessecret`: both words).
    Linear time (issue 16): each place costs a bounded match (every quantifier of the screens is
    bounded), the search for the next place starts after the last, and once a piece is found
    the search goes on at the next piece. (One search of the line screen over a piece instead
    would try its whole alternation at every character: slower than this, measured.)
    """
    if first is None:
        return []
    if len(lowered) != len(probe):  # lowering changed lengths: places in one are not places in the other
        return [k for k, piece in enumerate(pieces) if screen.search(piece)]
    ends = list(accumulate(len(p) + 1 for p in pieces))  # one past the "\n" after each piece
    found: list[int] = []
    hit: re.Match[str] | None = first
    while hit is not None:
        if screen.match(probe, hit.start()):
            k = bisect_right(ends, hit.start())
            found.append(k)
            hit = hunk_screen.search(lowered, ends[k])  # nothing more to learn about piece k
        else:
            hit = hunk_screen.search(lowered, hit.start() + 1)
    return found


def _redact_file(file: FileDiff, secret_lines: set[SecretLine], tally: _Tally) -> FileDiff:
    path = redact_path(file.path, tally)  # first: findings and secret lines carry the shown path
    old_path = file.old_path if file.old_path is None else redact_path(file.old_path, tally)
    source = file.hunks
    if path != file.path:
        source = tuple(replace(h, path=path) if h.path == file.path else h for h in file.hunks)
    kinds: dict[str, tuple[bool, bool, bool]] = {}
    hunks = tuple(_redact_hunk(h, _kind_of(h.path, kinds), secret_lines, tally) for h in source)
    if path == file.path and old_path == file.old_path and all(a is b for a, b in zip(hunks, file.hunks, strict=True)):
        return file
    return replace(file, path=path, old_path=old_path, hunks=hunks)


def _redact_skips(skipped: tuple[Skipped, ...], tally: _Tally) -> tuple[Skipped, ...]:
    paths = [redact_path(s.path, tally) for s in skipped]
    if all(a == s.path for a, s in zip(paths, skipped, strict=True)):
        return skipped
    return tuple(replace(s, path=p) for s, p in zip(skipped, paths, strict=True))


def redact_input(review_input: ReviewInput, enabled: bool) -> RedactedInput:
    """Credentials in paths, hunks, hunk headers, PR title and body -> placeholders (no-op when disabled).

    A path is replaced where the diff model is made (see bot.redact.line.redact_path): every stage
    and every output after this one sees only the shown path.
    """
    if not enabled:
        return RedactedInput(review_input=review_input, secret_lines=frozenset(), count=0)
    tally = _Tally()
    secret_lines: set[SecretLine] = set()
    files = tuple(_redact_file(f, secret_lines, tally) for f in review_input.diff.files)
    info = review_input.info
    title, title_secrets, title_emails = redact_text(info.title)
    body, body_secrets, body_emails = redact_text(info.body)
    diff = replace(review_input.diff, files=files, skipped=_redact_skips(review_input.diff.skipped, tally))
    redacted = replace(review_input, info=replace(info, title=title, body=body), diff=diff,
                       skipped=_redact_skips(review_input.skipped, tally),
                       head_files=redact_head_files(review_input.head_files))
    return RedactedInput(review_input=redacted, secret_lines=frozenset(secret_lines),
                         count=tally.secrets + title_secrets + body_secrets,
                         emails=tally.emails + title_emails + body_emails)


def redact_head_files(head_files: HeadFiles) -> HeadFiles:
    """Head files ([review] context) redacted as the diff is: each file as one hunk of context lines
    under its path as the diff shows it, so a context line reads as the same line of the diff does.

    Not counted in `count` nor marked as secret lines: a line the diff has is counted there, and a
    line only the context shows can hold no finding.
    """
    out = []
    for path, text in head_files:
        shown = redact_path(path, _Tally())
        lines = tuple(Line(" ", n, n, t) for n, t in enumerate(text.split("\n"), 1))
        hunk = Hunk(path=shown, old_start=1, old_len=len(lines), new_start=1, new_len=len(lines),
                    header=f"@@ -1,{len(lines)} +1,{len(lines)} @@", lines=lines)
        redacted = _redact_hunk(hunk, _kind_of(shown, {}), set(), _Tally())
        out.append((shown, text if redacted is hunk else "\n".join(map(_TEXT, redacted.lines))))
    return tuple(out)


def mark_secret_findings(findings: Sequence[Finding], secret_lines: frozenset[SecretLine]) -> tuple[Finding, ...]:
    """Findings touching a redacted line say so (without the value); fingerprints stay as they were."""
    if not secret_lines:
        return tuple(findings)
    marked: list[Finding] = []
    for finding in findings:
        first = finding.start_line if finding.start_line is not None else finding.line
        touched = any((finding.path, finding.side, n) in secret_lines for n in range(first, finding.line + 1))
        if touched and SECRET_NOTE not in finding.message:
            finding = replace(finding, message=finding.message + SECRET_NOTE)
        marked.append(finding)
    return tuple(marked)
