"""No package of ``tradovate_api`` imports one that imports it back, directly or around a
loop, and no module does either — type-checking imports included (a loop there still means a
concept is in the wrong place). Read from the source with ``ast``, so nothing is imported to
check it."""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

import tradovate_api

ROOT = Path(tradovate_api.__file__).parent
PACKAGE = "tradovate_api"


def _module_name(path: Path, root: Path = ROOT, package: str = PACKAGE) -> tuple[str, bool]:
    parts = (package, *path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _imported(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                here = module.split(".") if is_package else module.split(".")[:-1]
                here = here[:len(here) - (node.level - 1)]
                base = ".".join([*here, *([node.module] if node.module else [])])
            if node.module is None:
                yield from (f"{base}.{alias.name}" for alias in node.names)
            else:
                yield base


def _unit(module: str) -> str:
    """The top-level package or module of ``tradovate_api`` that ``module`` belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else PACKAGE


def package_graph() -> dict[str, dict[str, set[str]]]:
    """unit → unit it imports → the modules that do."""
    graph: dict[str, dict[str, set[str]]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        module, is_package = _module_name(path)
        source = _unit(module) if module != PACKAGE else PACKAGE
        for target in _imported(ast.parse(path.read_text(encoding="utf-8")), module, is_package):
            if not target.startswith(f"{PACKAGE}."):
                continue
            unit = _unit(target)
            if unit not in (source, PACKAGE):
                graph.setdefault(source, {}).setdefault(unit, set()).add(module)
    return graph


def module_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, set[str]]:
    """module → the modules of ``package`` it imports (a name imported from a package, not a
    module of it, counts as the package: its ``__init__``)."""
    paths = sorted(root.rglob("*.py"))
    modules = {_module_name(path, root, package)[0]: path for path in paths}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        for target in _imported(ast.parse(path.read_text(encoding="utf-8")), module,
                                is_package):
            if target != package and not target.startswith(f"{package}."):
                continue
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target != module:
                graph.setdefault(module, set()).add(target)
    return graph


def cycles(graph: Mapping[str, Collection[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one unit or module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_package_imports_one_that_imports_it_back() -> None:
    graph = package_graph()
    assert "protocol" in graph["runtime"]  # the reading works
    loops = cycles(graph)
    detail = [f"{a} -> {b}: {sorted(graph[a][b])}" for group in loops for a in group
              for b in group if b in graph.get(a, {})]
    assert loops == [], detail


def test_the_check_finds_a_loop() -> None:
    assert cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == \
        [["a", "b", "c"]]
    assert cycles({"a": {"b": 1}, "b": {}}) == []


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = module_graph()
    assert "tradovate_api.protocol" in graph["tradovate_api.simulator.session"]  # it reads
    loops = cycles(graph)
    detail = [f"{a} -> {b}" for group in loops for a in group for b in group
              if b in graph.get(a, set())]
    assert loops == [], detail


def test_the_module_check_finds_a_circle(tmp_path: Path) -> None:
    """A circle through a type-checking import and a ``from . import module`` is found; a
    module that only joins it from outside is not part of it."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text('"""A package."""\n')
    (package / "a.py").write_text("from .b import x\n")
    (package / "b.py").write_text("from typing import TYPE_CHECKING\n\n"
                                  "if TYPE_CHECKING:\n    from .c import y\n")
    (package / "c.py").write_text("from . import a\n")
    (package / "d.py").write_text("from .a import z\nimport json\n")
    graph = module_graph(package, "pkg")
    assert graph == {"pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": {"pkg.a"},
                     "pkg.d": {"pkg.a"}}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
    (package / "c.py").write_text("import json\n")
    assert cycles(module_graph(package, "pkg")) == []
