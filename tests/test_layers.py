"""The import graph keeps the layers of docs/architecture.md: no arrow up, no cycle.

core ← queue / plex / stash ← sync / resilience ← reconcile ← tasks; the hook and the
wake-up timer are entry points of their own with small, listed dependencies. Every import
counts, including the lazy ones inside functions: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "plexsync"

# package → the packages it may import (besides itself and `errors`).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "queue": {"core"},
    "plex": {"core"},
    "stash": {"core"},
    "sync": {"core", "queue", "plex", "stash"},
    "resilience": {"core", "queue"},
    "reconcile": {"core", "queue", "plex", "stash", "sync"},
    "hook": {"core", "queue", "stash", "resilience"},
    "timer": {"core", "queue", "stash", "resilience"},
    "playstate": {"core", "queue", "plex", "stash", "sync", "timer"},
    "tasks": {"core", "queue", "plex", "stash", "sync", "resilience", "reconcile", "timer",
              "playstate"},
}


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "plexsync" or len(parts) < 2:
        return None
    return parts[1] if (PACKAGE / parts[1]).is_dir() else None


def _imports() -> dict[str, set[str]]:
    """package → packages it imports, read from every module's source."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).parts
        if len(rel) < 2:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                target = _package_of(name)
                if target and target != rel[0]:
                    graph[rel[0]].add(target)
    return graph


def test_every_package_is_listed_in_the_layer_table() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(ALLOWED)


def test_no_package_imports_a_package_above_its_layer() -> None:
    graph = _imports()
    wrong = {pkg: sorted(deps - ALLOWED[pkg]) for pkg, deps in graph.items() if deps - ALLOWED[pkg]}
    assert wrong == {}


def test_the_package_graph_has_no_cycle() -> None:
    graph = _imports()
    state: dict[str, int] = {}

    def visit(node: str, trail: tuple[str, ...]) -> None:
        assert state.get(node) != 1, f"import cycle: {' → '.join((*trail, node))}"
        if state.get(node) == 2:
            return
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            visit(dep, (*trail, node))
        state[node] = 2

    for package in sorted(ALLOWED):
        visit(package, ())


def test_the_subpackage_inits_hold_only_a_docstring() -> None:
    for init in PACKAGE.glob("*/__init__.py"):
        body = ast.parse(init.read_text(encoding="utf-8")).body
        assert len(body) == 1 and isinstance(body[0], ast.Expr), init
