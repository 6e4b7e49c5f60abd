"""Which files of a diff are worth a model's time; every file left out becomes a `Skipped`.

Rules are data: (glob, reason, detail). Globs are .gitignore-like: `*` and `?` stay inside one
path segment, `**` crosses directories, a pattern without a `/` matches the file name (or a
directory name) at any depth, a pattern with one is anchored at the repository root, and a
pattern that matches a directory matches everything under it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter

from bot.config import ReviewSettings
from bot.types import FileDiff, Skipped

Rule = tuple[str, str, str]  # (glob, skip reason, detail)

LOCKFILES: tuple[str, ...] = (
    "poetry.lock", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml",
    "bun.lockb", "Cargo.lock", "Gemfile.lock", "composer.lock", "go.sum", "uv.lock", "Pipfile.lock",
    "pdm.lock", "mix.lock", "pubspec.lock", "Podfile.lock", "packages.lock.json", "flake.lock",
    "gradle.lockfile", "conda-lock.yml", ".terraform.lock.hcl",
)

DEFAULT_RULES: tuple[Rule, ...] = (
    *((name, "generated", "lockfile") for name in LOCKFILES),
    ("*.min.js", "generated", "minified"),
    ("*.min.css", "generated", "minified"),
    ("*.map", "generated", "source map"),
    ("*_pb2.py", "generated", "generated code (protobuf)"),
    ("*_pb2.pyi", "generated", "generated code (protobuf)"),
    ("*_pb2_grpc.py", "generated", "generated code (protobuf)"),
    ("*.pb.go", "generated", "generated code (protobuf)"),
    ("*.pb.cc", "generated", "generated code (protobuf)"),
    ("*.pb.h", "generated", "generated code (protobuf)"),
    ("*.generated.*", "generated", "generated code"),
    ("*.g.dart", "generated", "generated code"),
    ("*.designer.cs", "generated", "generated code"),
    # Only folder names that always hold someone else's code; `dist/`, `build/`, `lib/` may be source.
    ("vendor/", "generated", "vendored code"),
    ("third_party/", "generated", "vendored code"),
    ("node_modules/", "generated", "vendored code"),
    ("bower_components/", "generated", "vendored code"),
    ("__snapshots__/", "generated", "test snapshots"),
    ("*.snap", "generated", "test snapshots"),
)

BINARY_EXTENSIONS: tuple[str, ...] = (
    # images (SVG is text, but reviewing path data is pointless)
    "png", "jpg", "jpeg", "gif", "bmp", "ico", "icns", "webp", "tif", "tiff", "psd", "svg", "avif", "heic",
    # archives and packages
    "zip", "gz", "tgz", "bz2", "xz", "zst", "7z", "rar", "tar", "jar", "war", "whl", "egg", "deb", "rpm",
    # compiled objects
    "so", "dll", "dylib", "exe", "bin", "o", "a", "lib", "class", "pyc", "pyo", "wasm",
    # fonts, media, documents, data
    "woff", "woff2", "ttf", "otf", "eot", "mp3", "mp4", "wav", "ogg", "flac", "avi", "mov", "mkv", "webm",
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "sqlite", "db", "pkl", "npy", "npz", "parquet",
    "onnx", "pt", "safetensors", "gguf",
)
BINARY_RULES: tuple[Rule, ...] = tuple((f"*.{ext}", "binary", f"binary file type (.{ext})")
                                       for ext in BINARY_EXTENSIONS)

# Markers generators write near the top of their output (Go's "Code generated ... DO NOT EDIT.",
# Meta's "@generated", protoc, Poetry, OpenAPI and many more).
GENERATED_MARKERS = re.compile(r"@generated|do not edit|auto-?generated|automatically generated",
                               re.IGNORECASE)
MARKER_LINES = 5  # only the first lines of the file count: a marker further down is usually prose


@lru_cache(maxsize=512)
def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """A .gitignore-like glob -> a regex that must match the whole path (use `fullmatch`)."""
    body = pattern.strip()
    directory_only = body.endswith("/")
    body = body.rstrip("/")
    anchored = "/" in body
    body = body.lstrip("/")
    out: list[str] = []
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        elif body[i] == "[" and "]" in body[i + 2:]:
            end = body.index("]", i + 2)
            members = body[i + 1:end]
            negate = members[:1] in ("!", "^")
            members = members[1:] if negate else members
            escaped = "".join("-" if ch == "-" else re.escape(ch) for ch in members)
            out.append(f"[{'^/' if negate else ''}{escaped}]")
            i = end + 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    suffix = "/.*" if directory_only else "(?:/.*)?"  # a matched directory takes all it holds
    return re.compile(prefix + "".join(out) + suffix, re.DOTALL)


def matches(pattern: str, path: str) -> bool:
    return bool(pattern.strip()) and glob_to_regex(pattern).fullmatch(path) is not None


def _first_match(path: str, rules: Iterable[Rule]) -> Rule | None:
    return next((rule for rule in rules if matches(rule[0], path)), None)


_EXTENSION_GLOB = re.compile(r"\*\.([A-Za-z0-9_-]+)")  # `*.ext`: a path segment ends in ".ext"


@dataclass(frozen=True)
class _RuleSet:
    """_first_match for a fixed table of rules, in one step instead of one regex call per rule.

    A table of `*.ext` globs only is a lookup of the last extension of each path segment (the
    first rule wins: the lowest index); any other table is one regex whose alternatives are
    tried in order, so again the first rule that matches wins.
    """

    rules: tuple[Rule, ...]
    union: re.Pattern[str]
    extensions: dict[str, int] | None  # extension -> index of its first rule, for `*.ext` tables

    @classmethod
    def of(cls, rules: Iterable[Rule]) -> _RuleSet:
        live = tuple(rule for rule in rules if rule[0].strip())  # a blank glob matches nothing
        # glob_to_regex groups nothing, so group i + 1 is rule i.
        union = re.compile("|".join(f"({glob_to_regex(r[0]).pattern})" for r in live), re.DOTALL)
        globs = [_EXTENSION_GLOB.fullmatch(r[0]) for r in live]
        extensions: dict[str, int] | None = None
        if all(globs):
            extensions = {}
            for i, glob in enumerate(globs):
                extensions.setdefault(glob.group(1) if glob else "", i)
        return cls(live, union, extensions)

    def first_match(self, path: str) -> Rule | None:
        if not self.rules:
            return None
        if self.extensions is not None:
            found = [self.extensions[ext] for segment in path.split("/") if "." in segment
                     if (ext := segment.rpartition(".")[2]) in self.extensions]
            return self.rules[min(found)] if found else None
        match = self.union.fullmatch(path)
        return None if match is None or match.lastindex is None else self.rules[match.lastindex - 1]


_BINARY_SET = _RuleSet.of(BINARY_RULES)
_DEFAULT_SET = _RuleSet.of(DEFAULT_RULES)
_KIND = attrgetter("kind")
_LINES = attrgetter("lines")


def _has_generated_marker(f: FileDiff) -> bool:
    """Whether a line numbered up to MARKER_LINES on the new side holds a marker. A hunk numbers its
    new lines up from its new_start, so the lines after the first lines are not read (a large
    added file's were, one by one: 0.05x unidiff's parse on the corpus diff)."""
    for hunk in f.hunks:
        if hunk.new_start > MARKER_LINES:
            continue
        for line in hunk.lines:
            number = line.new_no
            if number is None:
                continue
            if number > MARKER_LINES:
                break
            if GENERATED_MARKERS.search(line.text):
                return True
    return False


def _changed_lines(f: FileDiff) -> int:
    """f.changed_lines (lines that are not context), counted in C."""
    return sum(len(h.lines) - list(map(_KIND, h.lines)).count(" ") for h in f.hunks)


def skip_reason(f: FileDiff, review: ReviewSettings) -> tuple[str, str] | None:
    """(reason, detail) if `f` should not be reviewed, else None. First rule that applies wins."""
    if f.status == "removed":
        return "deleted", "file deleted"
    if f.is_submodule:
        return "mode", "submodule change"
    if f.status == "mode":
        return "mode", "file mode change only"
    if review.include and not any(matches(p, f.path) for p in review.include):
        return "excluded", "matches no include glob"
    user = next((p for p in review.exclude if matches(p, f.path)), None)
    if user is not None:
        return "excluded", f"matches exclude glob {user!r}"
    if f.is_binary:
        return "binary", "binary file"
    # Extensions of binary types are matched in any case (LOGO.PNG); git globs are case-sensitive.
    rule = _BINARY_SET.first_match(f.path.lower()) or _DEFAULT_SET.first_match(f.path)
    if rule is not None:
        return rule[1], rule[2]
    if _has_generated_marker(f):
        return "generated", "marked as generated in its first lines"
    # Counting changed lines is needed only when all lines together are over the cap.
    cap = review.max_file_lines
    if sum(map(len, map(_LINES, f.hunks))) > cap and (changed := _changed_lines(f)) > cap:
        return "too_large", f"{changed} changed lines, over max_file_lines = {cap}"
    if not f.hunks:  # nothing to comment on; sources skip "GitHub sent no patch" themselves
        if f.status in ("renamed", "copied"):
            return "mode", f"{f.status} without changes"
        if f.status == "added":
            return "mode", "empty file"
        return "mode", "no changed lines to review"
    return None


def apply_filters(files: Sequence[FileDiff],
                  review: ReviewSettings) -> tuple[tuple[FileDiff, ...], tuple[Skipped, ...]]:
    """Split `files` into those to review and a `Skipped` for each of the others, order kept."""
    kept: list[FileDiff] = []
    skipped: list[Skipped] = []
    for f in files:
        why = skip_reason(f, review)
        if why is None:
            kept.append(f)
        else:
            skipped.append(Skipped(path=f.path, hunk=None, reason=why[0], detail=why[1]))
    return tuple(kept), tuple(skipped)
