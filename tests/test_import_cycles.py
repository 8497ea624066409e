"""No two modules of the project import each other, directly or through others.

The graph is static: every module of ``studies``, ``model`` and ``reader_app`` is parsed and
its imports that run when the module is imported are recorded (module level, including
``try``/``with``/``if`` blocks and class bodies; not inside functions, not under
``if TYPE_CHECKING:``). ``from a.b import c`` points at ``a.b.c`` when that is a module and
at ``a.b`` (its ``__init__``) otherwise, so a package's re-exports count. A cycle fails the
test with its modules named in order.

A second, stricter graph of ``studies`` also counts the imports inside functions (still not
those under ``if TYPE_CHECKING:``): a cycle closed by a lazy import there is a cycle all the
same, only postponed, and is named too. Neither graph counts the parent package's
``__init__`` that importing a submodule also runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("studies", "model", "reader_app")
#: The packages checked with the imports inside functions too.
STRICT_PACKAGES = ("studies",)
#: Imports inside functions of :data:`STRICT_PACKAGES` allowed to close a cycle, as
#: ``(importer, imported): why``: only a genuine late binding (a module loaded on demand for a
#: reason other than the cycle). None is needed today.
LATE_BINDINGS: dict[tuple[str, str], str] = {}


def project_modules(root: Path = REPO, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Dotted module name -> source file, for every module of ``packages`` under ``root``."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_nodes(body: list[ast.stmt]):
    """The import statements of ``body`` that run when the module is imported."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _import_time_nodes(node.body)
            yield from _import_time_nodes(node.orelse)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _import_time_nodes(block)
        elif isinstance(node, (ast.With, ast.For, ast.While, ast.ClassDef)):
            yield from _import_time_nodes(node.body)
            yield from _import_time_nodes(getattr(node, "orelse", []))


def _all_import_nodes(nodes):
    """Every import statement under ``nodes``, in functions too, except under ``if TYPE_CHECKING:``."""
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _all_import_nodes(node.orelse)
        else:
            yield from _all_import_nodes(ast.iter_child_nodes(node))


def module_imports(name: str, path: Path, modules: dict[str, Path], *, in_functions: bool = False) -> set[str]:
    """The project modules ``name`` (source ``path``) imports when it is imported, or, with
    ``in_functions``, anywhere in its code."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    body = ast.parse(path.read_text(encoding="utf-8"), str(path)).body
    for node in (_all_import_nodes if in_functions else _import_time_nodes)(body):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join([*base, *([node.module] if node.module else [])])
            else:
                stem = node.module or ""
            targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in modules else stem for a in node.names]
        found.update(t for t in targets if t in modules and t != name)
    return found


def import_graph(root: Path = REPO, packages: tuple[str, ...] = PACKAGES, *,
                 in_functions: bool = False) -> dict[str, set[str]]:
    modules = project_modules(root, packages)
    return {name: module_imports(name, path, modules, in_functions=in_functions) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) per strongly connected group of modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_one_cycle(graph, group) for group in groups]


def _one_cycle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest cycle through the group's first module (breadth-first, inside the group)."""
    start = min(group)
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & group):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if w not in parent:
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no cycle through {start} in {sorted(group)}")


def test_the_project_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 100 and graph["reader_app.main"], "the graph missed the project's modules"
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join("  " + " -> ".join(c) for c in found)


def test_studies_has_no_cycle_even_through_imports_inside_functions():
    graph = import_graph(packages=STRICT_PACKAGES, in_functions=True)
    assert "studies.schemas" in graph["studies.package"], "the strict graph missed an import inside a function"
    for importer, imported in LATE_BINDINGS:
        graph[importer].discard(imported)
    found = cycles(graph)
    assert not found, "import cycles through imports inside functions:\n" + "\n".join(
        "  " + " -> ".join(c) for c in found)


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_a_cycle_through_a_package_reexport_is_named(tmp_path):
    _write(tmp_path, {
        "pkg/__init__.py": "from pkg.b import B\n",
        "pkg/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n",
        "pkg/b.py": "from . import c\nB = 1\n",
        "pkg/c.py": "from pkg import B\n\ndef late():\n    from pkg import a\n",
    })
    graph = import_graph(tmp_path, ("pkg",))
    assert graph == {"pkg": {"pkg.b"}, "pkg.a": set(), "pkg.b": {"pkg.c"}, "pkg.c": {"pkg"}}
    assert cycles(graph) == [["pkg", "pkg.b", "pkg.c", "pkg"]]


@pytest.mark.parametrize(("source", "expected"), [
    ("from ..x import y\n", {"pkg.x.y"}),  # a submodule
    ("from ..x import name\n", {"pkg.x"}),  # a name of the package: its __init__
    ("import pkg.x.y as z\n", {"pkg.x.y"}),
    ("try:\n    import pkg.x\nexcept ImportError:\n    pass\n", {"pkg.x"}),
])
def test_what_counts_as_an_import(tmp_path, source, expected):
    _write(tmp_path, {"pkg/__init__.py": "", "pkg/x/__init__.py": "", "pkg/x/y.py": "",
                      "pkg/sub/__init__.py": "", "pkg/sub/m.py": source})
    assert import_graph(tmp_path, ("pkg",))["pkg.sub.m"] == expected


def test_a_cycle_through_an_import_inside_a_function_is_named_by_the_strict_graph(tmp_path):
    _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import B\n",
        "pkg/b.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import c\nB = 1\n\n"
                     "class K:\n    def m(self):\n        try:\n            from pkg.a import x\n"
                     "        except ImportError:\n            pass\n"),
        "pkg/c.py": "def late():\n    import pkg.a\n",
    })
    assert cycles(import_graph(tmp_path, ("pkg",))) == []
    strict = import_graph(tmp_path, ("pkg",), in_functions=True)
    assert strict == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}, "pkg.c": {"pkg.a"}}
    assert cycles(strict) == [["pkg.a", "pkg.b", "pkg.a"]]
