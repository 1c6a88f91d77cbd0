"""The package reads as one-way stages: no import cycles, and the library API never imports the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "autoprov"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """autoprov modules ``path`` imports, at module level or inside functions alike."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # "from . import events" names a module
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in known else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    known = set(paths)
    return {name: imported_modules(path, known) for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
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

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, pending = set(), [start]
    while pending:
        node = pending.pop()
        for target in graph[node]:
            if target not in seen:
                seen.add(target)
                pending.append(target)
    return seen


def test_no_import_cycles() -> None:
    """A package __init__ importing its own submodules is not a cycle unless a submodule imports it back."""
    graph = import_graph()
    for name, targets in graph.items():  # a module importing its own parent package is implied, not a use
        graph[name] = {t for t in targets if not name.startswith(t + ".")}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_library_api_never_imports_the_command_line() -> None:
    graph = import_graph()
    for module in ("autoprov", "autoprov.session.capture", "autoprov.session.run", "autoprov.session.postrun"):
        cli = sorted(m for m in reachable(graph, module) if m == "autoprov.cli" or m.startswith("autoprov.cli."))
        assert not cli, f"{module} reaches {cli}"


def test_each_stage_is_a_folder() -> None:
    for stage in ("cli", "engine", "filtering", "recorder", "log", "export", "store"):
        assert (PACKAGE / stage / "__init__.py").is_file(), stage
