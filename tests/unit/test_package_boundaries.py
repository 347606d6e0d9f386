"""The package is plain Python: it imports without Airflow and never imports the sandbox in production code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "include" / "narrowcast"


def test_importing_the_package_does_not_import_airflow():
    code = (
        "import sys, importlib, pkgutil, narrowcast\n"
        "skip = ('narrowcast.sandbox', 'narrowcast.dashboard', 'narrowcast.datagen')\n"
        "for m in pkgutil.walk_packages(narrowcast.__path__, 'narrowcast.'):\n"
        "    if not m.name.startswith(skip) and not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "assert 'airflow' not in sys.modules, [k for k in sys.modules if k.startswith('airflow')][:5]\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT / "include"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("ok")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_production_code_never_imports_the_sandbox():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in ("sandbox", "datagen"):
            continue
        if any(n == "narrowcast.sandbox" or n.startswith("narrowcast.sandbox.") for n in _imports(path)):
            offenders.append(str(rel))
    assert offenders == []


def test_nothing_in_the_package_imports_airflow():
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                 if any(n == "airflow" or n.startswith("airflow.") for n in _imports(p))]
    assert offenders == []


def _package_graph() -> dict[str, set[str]]:
    """Which top-level package of ``narrowcast`` imports which other (a module at the top is its own package)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        owner = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        deps = graph.setdefault(owner, set())
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "narrowcast" and len(parts) > 1 and parts[1] != owner:
                deps.add(parts[1])
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_package_imports_a_package_that_imports_it_back():
    assert _cycle(_package_graph()) is None


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]


def test_the_contracts_layer_depends_on_no_other_package():
    assert _package_graph()["contracts"] == set()
