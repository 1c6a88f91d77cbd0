"""The package reads as one-way stages: no import cycles, no import back up the stage order written in
docs/architecture.md, and the library API never imports the CLI."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "autoprov"
ARCHITECTURE = PACKAGE.parent / "docs" / "architecture.md"
EXTENSIONS = ("autoprov._native",)  # compiled modules: imported like the others, no .py file


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
    known = set(paths) | set(EXTENSIONS)
    graph = {name: imported_modules(path, known) for name, path in paths.items()}
    graph.update({name: set() for name in EXTENSIONS})
    return graph


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


def stage_order(text: str) -> list[tuple[int, str, tuple[str, ...]]]:
    """The rows (rank, stage, module prefixes) of the "Stage order" table of docs/architecture.md:
    a module may import modules of its own rank or a higher one (further down the table)."""
    section = text.split("## Stage order", 1)[1]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("## "):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].isdigit():
            rows.append((int(cells[0]), cells[1], tuple(re.findall(r"`([\w.]+)`", cells[2]))))
    return rows


def stage_of(module: str, rows: list[tuple[int, str, tuple[str, ...]]]) -> tuple[int, str] | None:
    """(rank, stage) of the longest module prefix in the table that names ``module``."""
    best: tuple[int, int, str] | None = None
    for rank, stage, prefixes in rows:
        for prefix in prefixes:
            inside = module.startswith(prefix + ".") and "." in prefix  # `autoprov` names the facade only
            if (module == prefix or inside) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), rank, stage)
    return None if best is None else (best[1], best[2])


def upward_imports(graph: dict[str, set[str]], rows: list[tuple[int, str, tuple[str, ...]]]) -> list[str]:
    """Every import of a module from a stage above its own, as "importer (stage) -> imported (stage)"."""
    found = []
    for name in sorted(graph):
        source = stage_of(name, rows)
        for target in sorted(graph[name]):
            if name.startswith(target + ".") and "." in target:
                continue  # a module's own package: implied by the import system, not a use (the facade is one)
            wanted = stage_of(target, rows)
            if source is not None and wanted is not None and wanted[0] < source[0]:
                found.append(f"{name} ({source[1]}) -> {target} ({wanted[1]})")
    return found


def test_every_module_has_a_stage() -> None:
    rows = stage_order(ARCHITECTURE.read_text(encoding="utf-8"))
    assert rows, "docs/architecture.md has no Stage order table"
    missing = sorted(name for name in import_graph() if stage_of(name, rows) is None)
    assert not missing, f"modules in no stage of docs/architecture.md: {missing}"


def test_no_import_runs_back_up_the_stages() -> None:
    """The next change cannot quietly undo the one-way flow: each import goes down the table."""
    upward = upward_imports(import_graph(), stage_order(ARCHITECTURE.read_text(encoding="utf-8")))
    assert not upward, "imports back up the stages:\n" + "\n".join(upward)


def test_the_stage_check_finds_upward_imports() -> None:
    rows = [(1, "top", ("p.top",)), (2, "bottom", ("p.bottom",))]
    graph = {"p.top.a": {"p.bottom.b"}, "p.bottom.b": {"p.top.a"}}
    assert upward_imports(graph, rows) == ["p.bottom.b (bottom) -> p.top.a (top)"]


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_library_api_never_imports_the_command_line() -> None:
    graph = import_graph()
    for module in ("autoprov", "autoprov.session.capture", "autoprov.session.run", "autoprov.session.postrun"):
        cli = sorted(m for m in reachable(graph, module) if m == "autoprov.cli" or m.startswith("autoprov.cli."))
        assert not cli, f"{module} reaches {cli}"


def test_each_stage_is_a_folder() -> None:
    for stage in ("cli", "session", "children", "engine", "filtering", "recorder", "log", "export", "index", "store"):
        assert (PACKAGE / stage / "__init__.py").is_file(), stage


if __name__ == "__main__":  # python tests/test_layout.py: list the upward imports of this tree
    for line in upward_imports(import_graph(), stage_order(ARCHITECTURE.read_text(encoding="utf-8"))):
        print(line)
    sys.exit(0)
