"""The language a prompt names for a file, by its name or extension."""

from __future__ import annotations

from bot.diff.pathnames import base_name, suffix

_LANGUAGES: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyx": "cython", ".js": "javascript", ".mjs": "javascript",
    ".cjs": "javascript", ".jsx": "javascript", ".ts": "typescript", ".tsx": "typescript",
    ".java": "java", ".kt": "kotlin", ".kts": "kotlin", ".scala": "scala", ".go": "go", ".rs": "rust",
    ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp",
    ".cs": "csharp", ".rb": "ruby", ".php": "php", ".swift": "swift", ".m": "objective-c",
    ".sh": "shell", ".bash": "shell", ".zsh": "shell", ".ps1": "powershell", ".lua": "lua",
    ".pl": "perl", ".r": "r", ".jl": "julia", ".dart": "dart", ".ex": "elixir", ".exs": "elixir",
    ".erl": "erlang", ".hs": "haskell", ".ml": "ocaml", ".clj": "clojure", ".sql": "sql",
    ".html": "html", ".htm": "html", ".css": "css", ".scss": "scss", ".vue": "vue",
    ".svelte": "svelte", ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml",
    ".xml": "xml", ".md": "markdown", ".rst": "restructuredtext", ".tex": "latex",
    ".j2": "jinja", ".jinja": "jinja", ".jinja2": "jinja", ".proto": "protobuf", ".tf": "terraform",
    ".cmake": "cmake", ".gradle": "groovy", ".groovy": "groovy", ".zig": "zig", ".nim": "nim",
}
_LANGUAGE_BY_NAME: dict[str, str] = {
    "Dockerfile": "dockerfile", "Makefile": "makefile", "GNUmakefile": "makefile",
    "CMakeLists.txt": "cmake", "Jenkinsfile": "groovy", "Rakefile": "ruby", "Gemfile": "ruby",
}


def language_for(path: str) -> str | None:
    """The language a prompt should name for `path`, by file name or extension; None if unknown."""
    name = base_name(path)
    if name in _LANGUAGE_BY_NAME:
        return _LANGUAGE_BY_NAME[name]
    if name.startswith("Dockerfile."):
        return "dockerfile"
    return _LANGUAGES.get(suffix(name).lower())
