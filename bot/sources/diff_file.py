"""Source: a unified diff from a file, or from standard input with `-`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

from bot.diff.parse import parse_diff
from bot.errors import InputError
from bot.sources import ReviewInput
from bot.types import SourceInfo

MAX_DIFF_BYTES = 200 * 1024 * 1024  # beyond this we refuse rather than exhaust memory


def read_diff_file(path: str, stdin: BinaryIO | None = None) -> ReviewInput:
    if path == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        data = stream.read(MAX_DIFF_BYTES + 1)
        where = "standard input"
    else:
        file = Path(path)
        if not file.is_file():
            raise InputError(f"{path}: no such diff file; pass a file made by `git diff` or `-` for stdin")
        try:
            with file.open("rb") as handle:
                data = handle.read(MAX_DIFF_BYTES + 1)
        except OSError as err:
            raise InputError(f"{path}: cannot read the diff ({err.strerror})") from None
        where = path
    if len(data) > MAX_DIFF_BYTES:
        raise InputError(f"{where}: the diff is larger than {MAX_DIFF_BYTES // 2**20} MiB; review a smaller range")
    if not data.strip():
        raise InputError(f"{where}: the diff is empty; nothing to review")
    parsed = parse_diff(data)
    return ReviewInput(info=SourceInfo(kind="diff"), diff=parsed)
