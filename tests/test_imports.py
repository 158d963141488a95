"""Every module of the package imports on its own, in any order, and no two modules import each other
(not even through imports inside functions): the import graph has no cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mathcls"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imported(module: str, path: Path, node, modules) -> set[str]:
    """The package modules an import statement loads (a name imported from a package that is one of
    its modules counts as that module)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split(".")[: len(module.split(".")) - node.level + (path.name == "__init__.py")]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        names = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in modules else prefix for a in node.names]
    found = set()
    for name in names:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> package modules it imports anywhere in its source (top level or inside functions)."""
    modules = _modules()
    graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[module] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[module] |= _imported(module, path, node, modules)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules (first == last), or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_graph_sees_relative_and_function_level_imports():
    graph = import_graph()
    assert len(graph) > 50
    assert "mathcls.families" in graph["mathcls.models"]  # from ..families import (package __init__)
    assert "mathcls.plan.spec" in graph["mathcls.config"]  # imported inside a function
    assert "mathcls.generate.draws" in graph["mathcls.generate.topics.algebra"]  # from ..draws import


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def test_every_module_imports_on_its_own_in_any_order():
    # One fresh interpreter; before each module every mathcls module is forgotten, so each is imported
    # first, in a shuffled order (third-party libraries stay loaded, which keeps this fast).
    script = """
import importlib, random, sys
names = sys.argv[1:]
random.Random(0).shuffle(names)
for name in names:
    for loaded in [m for m in sys.modules if m == "mathcls" or m.startswith("mathcls.")]:
        del sys.modules[loaded]
    importlib.import_module(name)
print(len(names))
"""
    names = sorted(_modules())
    done = subprocess.run([sys.executable, "-c", script, *names], capture_output=True, text=True,
                          cwd=PACKAGE.parent, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == str(len(names))


def test_every_mathcls_name_the_experiments_import_exists():
    """The benchmark scripts under experiments/ are not run by the suite; a module split must still
    not leave them importing a name that moved (bench_throughput once imported a helper from
    mathcls.config after it had moved to mathcls.env)."""
    import importlib

    missing = []
    for script in sorted((PACKAGE.parent / "experiments").glob("*.py")):
        for node in ast.walk(ast.parse(script.read_text())):
            if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mathcls")):
                continue
            module = importlib.import_module(node.module)
            for alias in node.names:
                if not hasattr(module, alias.name) and f"{node.module}.{alias.name}" not in _modules():
                    missing.append(f"{script.name}: from {node.module} import {alias.name}")
    assert not missing, missing
