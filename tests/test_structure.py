"""The shape the code keeps (ARCHITECTURE.md): classes readable in one sitting, modules of one
concern, and exactly one loop that fits models fold by fold (mathcls.oof)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mathcls"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_CLASS_LINES = 250
MAX_MODULE_LINES = 600


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_no_module_is_over_600_lines(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_MODULE_LINES, f"{_name(path)} has {n} lines"


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_no_class_is_over_250_lines(path):
    long = {node.name: node.end_lineno - node.lineno + 1 for node in ast.walk(_tree(path))
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES}
    assert not long, f"{_name(path)}: {long}"


def _fits_per_fold(tree: ast.Module) -> list[int]:
    """Lines of ``for`` loops over ``<something>.split(...)`` whose body calls ``fit`` or a function
    named ``*fit*`` (``_fit_fold``): a hand-written cross-validation loop."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.For):
            continue
        splits = [c for c in ast.walk(node.iter) if isinstance(c, ast.Call)
                  and isinstance(c.func, ast.Attribute) and c.func.attr == "split"]
        fits = [c for stmt in node.body for c in ast.walk(stmt) if isinstance(c, ast.Call)
                and "fit" in getattr(c.func, "attr", getattr(c.func, "id", ""))]
        if splits and fits:
            found.append(node.lineno)
    return found


def test_the_detector_finds_a_hand_written_cv_loop():
    source = "for tr, va in cv.split(X, y):\n    model.fit(X[tr], y[tr])\n"
    assert _fits_per_fold(ast.parse(source)) == [1]
    assert _fits_per_fold(ast.parse("for tr, va in cv.split(X):\n    m = fit_fold(tr, va)\n")) == [1]
    assert _fits_per_fold(ast.parse("for k, (_, va) in enumerate(cv.split(X, y)):\n    fold[va] = k\n")) == []


def test_exactly_one_place_fits_models_fold_by_fold():
    places = {_name(p): lines for p in MODULES if (lines := _fits_per_fold(_tree(p)))}
    assert list(places) == ["mathcls/oof.py"], places


def test_the_architecture_page_names_every_module():
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = page.split("## Modules", 1)[1].split("\n## ", 1)[0]
    skipped = {"__init__", "__main__"}
    named = set(re.findall(r"`(?:[\w/]+/)?(\w+)(?:\.py)?`", table))
    missing = [_name(p) for p in MODULES
               if p.stem not in skipped and p.parent.name not in ("cli", "topics") and p.stem not in named]
    assert not missing, f"the module table of docs/architecture.md does not name {missing}"


# Measured figures go stale in docstrings; they live in docs/benchmarks.md and experiments/.
_FIGURE = re.compile(r"\b\d+(\.\d+)? ?(examples|ex|pairs|rows)/s\b|\b0\.[89]\d{2,}\b|F1[- ]micro (of )?0\.\d"
                     r"|\babout \d+(\.\d+)? ?(s|min|minutes|hours?)\b", re.IGNORECASE)


def _docstrings(tree: ast.Module):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc:
                yield getattr(node, "name", "<module>"), doc


def test_the_figure_detector_catches_a_measured_speed():
    assert _FIGURE.search("trains at about 12 examples/s on two cores")
    assert _FIGURE.search("reaches 0.8537 CV F1-micro")
    assert not _FIGURE.search("learning_rate : float, default 1e-4")


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_docstrings_hold_no_measured_figures(path):
    stale = [(name, m.group(0)) for name, doc in _docstrings(_tree(path)) if (m := _FIGURE.search(doc))]
    assert not stale, f"{_name(path)}: {stale}"


def test_every_extra_an_error_message_names_exists():
    """`require(module, extra=...)` tells the user to `pip install 'mathcls[extra]'`: the extra must
    be one pyproject.toml defines."""
    import tomllib

    extras = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    named = {}
    for path in MODULES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "require":
                for kw in node.keywords:
                    if kw.arg == "extra" and isinstance(kw.value, ast.Constant):
                        named[f"{_name(path)}: {kw.value.value}"] = kw.value.value
    assert named, "no require(..., extra=...) call found: the test no longer looks where the code is"
    assert {k for k, v in named.items() if v not in extras} == set()
