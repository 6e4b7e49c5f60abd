"""Redaction takes linear time on any input (issue 16, defect 2).

Proof in two parts, checked here on every compiled pattern of bot/redact: every quantifier has an
upper bound (so `re` reads a bounded stretch of text wherever it tries a match: a bounded amount
of work per place, O(n) over a text), and no quantifier of a single character class is followed
by another that can take the same characters, nor can one iteration of a repeated group end with
what the next may start with (so that bound is the length read, not a power of it).
The loops around the patterns visit each line a bounded number of times (bot.redact.scrub
._screened, bot.redact.multiline.continued_values). Then hostile lines, alone and mixed, go
through the real `prompts` command and the redactor with generous limits that only a
super-linear redactor would reach (no timed assertion: a limit's expiry is a failure, not a figure;
the figures are in `python -m bench --only redaction`).
"""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import bot.redact
import bot.redact.joined
import bot.redact.joined_gate
import bot.redact.keys
import bot.redact.line
import bot.redact.multiline
import bot.redact.patterns
import bot.redact.prefilter
import bot.redact.screens
import bot.redact.scrub
import bot.redact.token_shapes
from bot.diff.parse import parse_diff
from bot.redact.scrub import redact_input
from bot.sources import ReviewInput
from bot.types import SourceInfo
from tests.conftest import REPO_ROOT
from tests.reliability.hostile_lines import GENERATORS, SUFFIXES, diff_text

if sys.version_info >= (3, 11):
    from re import _parser as sre_parse
else:  # pragma: no cover - Python 3.10
    import sre_parse

MODULES = (bot.redact.patterns, bot.redact.screens, bot.redact.token_shapes, bot.redact.keys, bot.redact.prefilter,
           bot.redact.multiline, bot.redact.joined, bot.redact.joined_gate, bot.redact.line, bot.redact.scrub)
# Read only at import, on the project's own token rules (token_shapes._needles), never on input.
IMPORT_TIME_ONLY = {"bot.redact.token_shapes._LITERAL_HEAD", "bot.redact.token_shapes._GROUP"}
SECRET = "q8Zk2Lm9Xp4Rt7Wv"
ASSIGNED = f"password = '{SECRET}'"


def patterns() -> Iterator[tuple[str, re.Pattern[str]]]:
    seen: set[int] = set()
    for module in MODULES:
        for name, value in vars(module).items():
            found = [value] if isinstance(value, re.Pattern) else []
            if name == "TOKENS":
                found = [pattern for pattern, _, _ in value]
            for i, pattern in enumerate(found):
                label = f"{module.__name__}.{name}" + (f"[{i}]" if name == "TOKENS" else "")
                if id(pattern) not in seen and label not in IMPORT_TIME_ONLY:
                    seen.add(id(pattern))
                    yield label, pattern


def _nodes(tree: Any) -> Iterator[tuple[Any, Any, Any]]:
    """(opcode name, argument, the sequence it is in) of every node, lookarounds included."""
    for op, av in tree:
        yield str(op), av, tree
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT"):
            yield from _nodes(av[2])
        elif name == "SUBPATTERN":
            yield from _nodes(av[-1])
        elif name in ("ASSERT", "ASSERT_NOT"):
            yield from _nodes(av[1])
        elif name == "BRANCH":
            for branch in av[1]:
                yield from _nodes(branch)
        elif name == "GROUPREF_EXISTS":
            yield from _nodes(av[1])
            if av[2]:
                yield from _nodes(av[2])


def _chars(item: Any) -> set[int] | None:
    """The ASCII characters one node matches, when it matches exactly one character (else None)."""
    op, av = str(item[0]), item[1]
    probe = range(128)
    if op == "LITERAL":
        return {av}
    if op == "NOT_LITERAL":
        return set(probe) - {av}
    if op == "ANY":
        return set(probe) - {10}
    if op in ("IN", "CATEGORY"):
        pattern = sre_parse.SubPattern(sre_parse.State(), [item])  # type: ignore[attr-defined]
        compiled = re.compile(_unparse(pattern))
        return {c for c in probe if compiled.fullmatch(chr(c))}
    return None


def _unparse(pattern: Any) -> str:
    """One character-matching node back to regex text (only what _chars needs)."""
    op, av = str(pattern[0][0]), pattern[0][1]
    if op == "CATEGORY":
        return {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
                "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W"}[str(av)]
    parts = []
    for sub_op, sub_av in av:
        kind = str(sub_op)
        if kind == "NEGATE":
            parts.append("^")
        elif kind == "LITERAL":
            parts.append(re.escape(chr(sub_av)))
        elif kind == "RANGE":
            parts.append(f"{re.escape(chr(sub_av[0]))}-{re.escape(chr(sub_av[1]))}")
        elif kind == "CATEGORY":
            parts.append(_unparse([("CATEGORY", sub_av)]))
    return "[" + "".join(parts) + "]"


def _repeat_chars(item: Any) -> set[int] | None:
    """The characters a repeat of one character class takes (None for other nodes)."""
    if str(item[0]) not in ("MAX_REPEAT", "MIN_REPEAT") or len(item[1][2]) != 1:
        return None
    return _chars(item[1][2][0])


def unbounded(found: list[tuple[str, re.Pattern[str]]]) -> list[str]:
    """Labels of the patterns with a quantifier that has no upper bound."""
    out = []
    for label, pattern in found:
        for op, av, _ in _nodes(sre_parse.parse(pattern.pattern, pattern.flags)):
            if op in ("MAX_REPEAT", "MIN_REPEAT") and av[1] == sre_parse.MAXREPEAT:
                out.append(label)
    return sorted(set(out))


def _paths(sequence: Any, limit: int = 20_000) -> list[list[Any]]:
    """The sequence as flat lists of nodes: groups and optional groups opened, each alternative of a
    branch (and an optional group's absence) its own path."""
    paths: list[list[Any]] = [[]]
    for item in sequence:
        op, av = str(item[0]), item[1]
        if op == "SUBPATTERN":
            tails = _paths(av[-1], limit)
        elif op == "BRANCH":
            tails = [tail for branch in av[1] for tail in _paths(branch, limit)]
        elif op in ("MAX_REPEAT", "MIN_REPEAT") and av[1] == 1 and len(av[2]) > 1:
            tails = [[], *_paths(av[2], limit)]  # `(?:…)?`: without it, or opened
        else:
            tails = [[item]]
        paths = [path + tail for path in paths for tail in tails][:limit]
    return paths


def _zero_width(item: Any) -> bool:
    return str(item[0]) in ("ASSERT", "ASSERT_NOT", "AT")


def _nullable(item: Any) -> bool:
    return str(item[0]) in ("MAX_REPEAT", "MIN_REPEAT") and item[1][0] == 0


def competing(found: list[tuple[str, re.Pattern[str]]]) -> list[tuple[str, list[str]]]:
    """(label, characters) where a run of one class, of variable length, is followed by another
    such run that can take the same characters, with nothing between them that must take a
    character neither takes: `re` would then try every split of such text between the two runs;
    and repeated groups whose iterations could split a run between them the same way."""
    out = []
    for label, pattern in found:
        sequences = [sre_parse.parse(pattern.pattern, pattern.flags)]
        sequences += [av[2] for op, av, _ in _nodes(sequences[0]) if op in ("MAX_REPEAT", "MIN_REPEAT")]
        sequences += [av[1] for op, av, _ in _nodes(sequences[0]) if op in ("ASSERT", "ASSERT_NOT")]
        for path in (p for seq in sequences for p in _paths(seq)):
            for i, first in enumerate(path):
                mine = _repeat_chars(first)
                if mine is None or first[1][0] == first[1][1]:
                    continue  # not a run of one class, or one of fixed length
                between: list[set[int]] = []  # what must stand between the two runs, one item each
                for item in path[i + 1:]:
                    theirs = _repeat_chars(item)
                    if theirs is not None and item[1][0] != item[1][1] and mine & theirs:
                        both = mine & theirs
                        if all(chars & both for chars in between):  # text of `both` fits all between
                            out.append((label, sorted(chr(c) for c in both)[:6]))
                        break
                    if _zero_width(item) or _nullable(item):
                        continue
                    step = theirs if theirs is not None else _chars(item)
                    if step is None or not step & mine:
                        break  # something the first run cannot take: the split is forced there
                    between.append(step)
        for op, av, _ in _nodes(sre_parse.parse(pattern.pattern, pattern.flags)):
            if op in ("MAX_REPEAT", "MIN_REPEAT") and av[1] > 1:
                shared = _ends(list(av[2]), reverse=True) & _ends(list(av[2]), reverse=False)
                if shared:  # `(?:x{1,9}){1,9}`: one iteration's end can take the next one's start
                    out.append((label, sorted(chr(c) for c in shared)[:6]))
    return sorted(set((label, tuple(chars)) for label, chars in out))  # type: ignore[misc]


def _ends(body: list[Any], reverse: bool) -> set[int]:
    """Characters a repeat's body may end with in a run of variable length (reverse), or start with."""
    found: set[int] = set()
    for item in reversed(body) if reverse else body:
        if _zero_width(item):
            continue
        run = _repeat_chars(item)
        if reverse:
            if run is not None and item[1][0] != item[1][1]:
                found |= run
            if not _nullable(item):
                return found
        else:
            chars = run if run is not None else _chars(item)
            if chars is None:
                return found
            found |= chars
            if not _nullable(item):
                return found
    return found


def test_every_module_of_the_redactor_is_checked() -> None:
    names = {f"bot.redact.{info.name}" for info in pkgutil.iter_modules(bot.redact.__path__)}
    assert names == {module.__name__ for module in MODULES}


def test_every_quantifier_of_every_pattern_is_bounded() -> None:
    found = list(patterns())
    assert len(found) > 30  # the patterns are found: this checks something
    assert not unbounded(found), "quantifiers without an upper bound (see patterns.LONGEST)"


def test_no_quantifier_competes_with_the_next_for_a_character() -> None:
    assert not competing(list(patterns()))


def test_the_checks_fail_on_the_old_name_screen() -> None:
    # The name screen of issue 16 (cubic) and a run of spaces split two ways: both checks see them.
    old = [("old", re.compile(r"(?i:(?:api|access)[\w.$-]*?key)[\w.$-]*[\"']?\]?[^\S\n]*[:=]")),
           ("spaces", re.compile(r"x\s*\\?\s*$")), ("group", re.compile(r"x[ ]{0,9}(?:[ ]{0,9}y)?z")),
           ("nested", re.compile(r"(?:[a-z]{1,9}){1,9}!"))]
    assert unbounded(old) == ["old", "spaces"]
    assert [label for label, _ in competing(old)] == ["group", "nested", "old", "spaces"]
    assert competing([("fine", re.compile(r"[a-z]{0,9}=[ ]{0,9}[a-z]{1,9}"))]) == []


def test_hostile_lines_go_through_prompts_in_linear_time(tmp_path: Path) -> None:
    """Issue 16's reproduction, larger: on main this took over two minutes (the 24 KB line of
    `apikey` alone is cubic: 4.8 KB took 42 s); fixed, a few seconds. A credential after each
    hostile line is still replaced, so the redactor did run on them."""
    files = {
        "app.py": GENERATORS["secret names (apikey)"](24_000) + "\n" + ASSIGNED,
        "conf/.env": GENERATORS["secret names (token)"](100_000) + "\n" + ASSIGNED,
        "docs/notes.md": GENERATORS["AWS names"](100_000) + "\n" + GENERATORS["dollar names"](100_000)
        + "\n" + ASSIGNED,
        "deploy/run.sh": GENERATORS["backslash lines"](300_000) + "\n" + ASSIGNED,
    }
    diff = tmp_path / "hostile.diff"
    diff.write_text(diff_text(files), encoding="utf-8")
    try:
        done = subprocess.run([sys.executable, "-m", "bot", "prompts", "--diff", str(diff)], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=60, check=False,
                              env={"PATH": "/usr/bin:/bin"})
    except subprocess.TimeoutExpired:
        raise AssertionError("review-bot prompts did not finish in 60 s on 660 KB of hostile lines") from None
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert done.stdout.count("password = '<PASSWORD>'") == 3  # app.py, .env, notes.md (run.sh's is too large)


_SIZES = st.integers(min_value=1, max_value=20_000)
_PIECES = st.lists(st.tuples(st.sampled_from(sorted(GENERATORS)), _SIZES), min_size=1, max_size=6)


@settings(max_examples=60, deadline=timedelta(seconds=20))
@given(_PIECES, st.sampled_from([*SUFFIXES, ".yml", ".json", "Dockerfile", ".key"]), st.booleans())
def test_random_mixtures_of_hostile_shapes_are_redacted_quickly(pieces: list[tuple[str, int]], suffix: str,
                                                                 one_line: bool) -> None:
    """Mixtures of the shapes, on one line or on lines of their own, up to 120 KB: the deadline is
    some 100 times what the redactor needs, and minutes below what the old patterns took on
    many of these. A credential on the last line is still replaced."""
    glue = "" if one_line else "\n"
    text = glue.join(GENERATORS[name](size) for name, size in pieces) + "\n" + ASSIGNED
    review_input = ReviewInput(info=SourceInfo(kind="diff"), diff=parse_diff(diff_text({"f" + suffix: text})))
    out = redact_input(review_input, enabled=True).review_input
    lines = [line.text for f in out.diff.files for h in f.hunks for line in h.lines]
    assert len(lines) == text.count("\n") + 1
    assert SECRET not in lines[-1]
