"""The shape of bot/: no import cycle, small modules, stages that never reach up into the command line.

The import graph is built from the source with `ast`, so it sees every import, the lazy ones
inside functions included: a lazy import only postpones a cycle to the first call, it does not
remove it. Imports under `if TYPE_CHECKING:` are left out of the graph: they never run, exist
only for the type checker, and are the standard way to name a type without depending on its
module at run time. Everything else counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO_ROOT

BOT = REPO_ROOT / "bot"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(path): path for path in sorted(BOT.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement that can run, at any depth, skipping `if TYPE_CHECKING:` bodies."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _resolve(name: str) -> str | None:
    """The module of bot/ that importing `name` loads last: the name itself, or its nearest parent."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports_of(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets: set[str] = set()
    for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            if node.level:
                base_parts = package.split(".")
                base = ".".join(base_parts[: len(base_parts) - (node.level - 1)])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            # `from bot.x import y` loads bot.x, and bot.x.y too when y is a submodule
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for name in names:
            resolved = _resolve(name)
            if resolved is not None:
                targets.add(resolved)
                targets.update(_ancestors(resolved) - _ancestors(module))
    targets.discard(module)
    return targets


def _ancestors(module: str) -> set[str]:
    """The packages Python runs first when it imports `module` (their __init__ files)."""
    parts = module.split(".")
    return {".".join(parts[:n]) for n in range(1, len(parts))}


GRAPH: dict[str, set[str]] = {module: _imports_of(module) for module in MODULES}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def test_the_graph_sees_the_modules_and_their_imports() -> None:
    # guards the test itself: a graph that resolved nothing would pass the cycle check trivially
    assert "bot.pipeline" in MODULES and "bot.cli" in MODULES
    assert "bot.types" in GRAPH["bot.pipeline"]
    assert sum(len(targets) for targets in GRAPH.values()) > len(MODULES)


def test_a_submodule_named_in_from_import_counts_as_imported() -> None:
    assert _imports_of("bot.__main__") == {"bot.cli"}
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycle_among_bots_modules() -> None:
    cycle = _find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_every_module_is_at_most_400_lines() -> None:
    long = {module: n for module, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_only_the_entry_points_import_the_command_line() -> None:
    # the command line sits on top: it wires stages; no stage, and no shared helper, reaches back up
    allowed = {"bot.__main__"}
    for module, targets in GRAPH.items():
        if module == "bot.cli" or module.startswith("bot.cli.") or module in allowed:
            continue
        upward = sorted(t for t in targets if t == "bot.cli" or t.startswith("bot.cli."))
        assert not upward, f"{module} imports {upward}"


def test_command_modules_share_helpers_but_not_each_other() -> None:
    commands = {m for m in MODULES if m.startswith("bot.cli.") and m != "bot.cli.shared"}
    for module in ["bot.cli.shared", *sorted(commands)]:
        assert not (GRAPH[module] & commands) and "bot.cli" not in GRAPH[module], (
            f"{module} imports {sorted(GRAPH[module] & (commands | {'bot.cli'}))}")
