"""Haystack cases: each labelled bug reviewed inside a larger pull request of unrelated real changes.

On a labelled case alone the diff is small and mostly the bug: a reviewer placing one finding
on a random line hits it often, so recall cannot tell a good reviewer from a random one. Real
pull requests carry a bug among many unrelated changes. `--haystack CORPUS_DIR` adds K decoys
drawn from the ordinary commits of the same repository (every `*/pr.diff` under CORPUS_DIR),
from files the case does not touch, each file from one commit; the draw depends only on the
seed and the case's name, so every run and every template sees the same pull request. Labels
stay the case's own; chance is computed on the whole mix.

Decoys are whole file diffs of code (source or tests) with 5 to 150 changed lines, as a pull
request carries them (`--haystack-files K`, the default). The first haystack (`--haystack-hunks
K`) drew one hunk of at most 30 lines a file; it is kept so the development rows measured with
it can still be re-scored from their stored answers, but it makes prompts of ~1,250 tokens,
far smaller and easier than real pull requests (issue 18).
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from bot.errors import InputError
from bot.types import FileDiff, Hunk, ParsedDiff

# Four whole-file decoys put one random finding's chance at 0.05-0.09 on the jinja, werkzeug
# and requests sets (tests/test_eval.py measures it; the goal is at most 0.10), at prompts of
# ~3-5k tokens, what the outside measurement saw in real pull requests.
DEFAULT_HAYSTACK_FILES = 4
DECOY_CHANGED_LINES = (5, 150)  # a decoy file's changed lines (added + deleted), as a pull request carries them
MAX_HAYSTACK_HUNK_LINES = 30  # the small-hunk haystack's limit (--haystack-hunks)
HAYSTACK_SEED = 0

Pool = list[tuple[str, FileDiff]]


def _is_code(path: str) -> bool:
    from bot.diff.languages import language_for
    from bot.plan.packing import file_priority

    return language_for(path) is not None and file_priority(path) < 2  # source or tests, not docs and config


def _changed(file: FileDiff) -> int:
    return sum(1 for h in file.hunks for ln in h.lines if ln.kind in "+-")


def load_pool(corpus_dir: str | Path, whole_files: bool = True) -> Pool:
    """(commit case name, file) for every decoy the corpus offers, in a stable order: whole code
    files with 5-150 changed lines, or (whole_files False) each file's hunks of at most 30 lines."""
    from bot.diff.parse import parse_diff

    root = Path(corpus_dir)
    diffs = sorted(root.glob("*/pr.diff"))
    if not diffs:
        raise InputError(f"--haystack {corpus_dir}: no */pr.diff under it; pass a corpus folder such as "
                         "tests/fixtures/corpus/werkzeug")
    low, high = DECOY_CHANGED_LINES
    pool: Pool = []
    for path in diffs:
        try:
            parsed = parse_diff(path.read_bytes())
        except (InputError, OSError):
            continue
        for file in parsed.files:
            if file.is_binary or file.status == "removed":
                continue
            if whole_files:
                if _is_code(file.path) and low <= _changed(file) <= high and any(h.added for h in file.hunks):
                    pool.append((path.parent.name, file))
                continue
            hunks = tuple(h for h in file.hunks if _usable(h))
            if hunks:
                pool.append((path.parent.name, replace(file, hunks=hunks)))
    if not pool:
        raise InputError(f"--haystack {corpus_dir}: no usable decoys in its diffs")
    return pool


def _usable(hunk: Hunk) -> bool:
    return bool(hunk.added) and len(hunk.lines) <= MAX_HAYSTACK_HUNK_LINES


def haystack_diff(name: str, diff: ParsedDiff, pool: Pool, count: int, seed: int = HAYSTACK_SEED,
                  whole_files: bool = True) -> ParsedDiff:
    """`diff` with `count` unrelated decoys around it, drawn reproducibly for case `name`: whole
    files, or (whole_files False) one hunk of each file."""
    if count <= 0:
        return diff
    rng = random.Random(f"haystack:{seed}:{name}")
    taken_paths = {f.path for f in diff.files} | {f.old_path for f in diff.files if f.old_path}
    candidates = list(pool)
    rng.shuffle(candidates)
    chosen: list[FileDiff] = []
    for _, file in candidates:
        if len(chosen) == count:
            break
        if file.path in taken_paths:
            continue
        taken_paths.add(file.path)
        chosen.append(file if whole_files else replace(file, hunks=(rng.choice(file.hunks),)))
    files = list(chosen)
    at = rng.randrange(len(files) + 1)  # the bug is not always first or last
    files[at:at] = diff.files
    return ParsedDiff(files=tuple(files), skipped=diff.skipped)
