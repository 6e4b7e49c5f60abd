"""The name and suffix of a diff path, as PurePosixPath gives them, without making a path object.

Stages ask this once per file or per hunk of a large diff, where building the object costs
more than the rest of the question.
"""

from __future__ import annotations

from pathlib import PurePosixPath


def base_name(path: str) -> str:
    """PurePosixPath(path).name: the last component ("" and "." are no components)."""
    last = path.rpartition("/")[2]
    if last and last != ".":
        return last
    return PurePosixPath(path).name  # "a/b/", "a/.", "" ...: the object knows


def suffix(name: str) -> str:
    """PurePosixPath(name).suffix of a base name: from its last dot, unless that starts or ends it."""
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def components(path: str) -> tuple[str, ...]:
    """PurePosixPath(path).parts."""
    parts = path.split("/")
    if all(parts) and "." not in parts:  # relative, no empty or "." component: nothing to normalise
        return tuple(parts)
    return PurePosixPath(path).parts
