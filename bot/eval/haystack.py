"""Haystack cases: each labelled bug reviewed inside a larger pull request of unrelated real hunks.

On a labelled case alone the diff is small and mostly the bug: a reviewer placing one finding
on a random line hits it often, so recall cannot tell a good reviewer from a random one. Real
pull requests carry a bug among many unrelated changes. `--haystack CORPUS_DIR` adds K hunks
drawn from the ordinary commits of the same repository (every `*/pr.diff` under CORPUS_DIR),
from files the case does not touch, one hunk a file, each file from one commit; the draw
depends only on the seed and the case's name, so every run and every template sees the same
pull request. Labels stay the case's own; chance is computed on the whole mix.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from bot.errors import InputError
from bot.types import FileDiff, Hunk, ParsedDiff

# Chosen so that one finding a case on a random line hits at most a quarter of the time on the
# jinja eval set with the jinja corpus (tests/test_eval_haystack.py measures it), while the
# prompt stays near 1,500 tokens: reading a prompt costs ~18 tokens/s on two CPU cores.
DEFAULT_HAYSTACK_HUNKS = 4
MAX_HAYSTACK_HUNK_LINES = 30  # longer hunks would make the prompt, not the bug, the hard part
HAYSTACK_SEED = 0


def load_pool(corpus_dir: str | Path) -> list[tuple[str, FileDiff]]:
    """(commit case name, file) for every text file with hunks in the corpus, in a stable order."""
    from bot.diff.parse import parse_diff

    root = Path(corpus_dir)
    diffs = sorted(root.glob("*/pr.diff"))
    if not diffs:
        raise InputError(f"--haystack {corpus_dir}: no */pr.diff under it; pass a corpus folder such as "
                         "../shared/corpus/jinja")
    pool: list[tuple[str, FileDiff]] = []
    for path in diffs:
        try:
            parsed = parse_diff(path.read_bytes())
        except (InputError, OSError):
            continue
        for file in parsed.files:
            hunks = tuple(h for h in file.hunks if _usable(h))
            if hunks and not file.is_binary and file.status != "removed":
                pool.append((path.parent.name, replace(file, hunks=hunks)))
    if not pool:
        raise InputError(f"--haystack {corpus_dir}: no usable hunks in its diffs")
    return pool


def _usable(hunk: Hunk) -> bool:
    return bool(hunk.added) and len(hunk.lines) <= MAX_HAYSTACK_HUNK_LINES


def haystack_diff(name: str, diff: ParsedDiff, pool: list[tuple[str, FileDiff]], hunks: int,
                  seed: int = HAYSTACK_SEED) -> ParsedDiff:
    """`diff` with `hunks` unrelated hunks around it, drawn reproducibly for case `name`."""
    if hunks <= 0:
        return diff
    rng = random.Random(f"haystack:{seed}:{name}")
    taken_paths = {f.path for f in diff.files} | {f.old_path for f in diff.files if f.old_path}
    candidates = list(pool)
    rng.shuffle(candidates)
    chosen: list[FileDiff] = []
    for _, file in candidates:
        if len(chosen) == hunks:
            break
        if file.path in taken_paths:
            continue
        taken_paths.add(file.path)
        chosen.append(replace(file, hunks=(rng.choice(file.hunks),)))
    files = list(chosen)
    at = rng.randrange(len(files) + 1)  # the bug is not always first or last
    files[at:at] = diff.files
    return ParsedDiff(files=tuple(files), skipped=diff.skipped)
