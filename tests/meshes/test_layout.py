"""The package layout the style guide asks for: the mesh engine knows no trade, a trade
never imports another trade, and no two modules import each other (even lazily)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "lgcraft"
TRADES = ("eyewear", "jewelry", "toys")  # provenance is a service every trade may use


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        module = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lgcraft"):
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("lgcraft"))
        graph[module] = found
    return {m: {i for i in deps if i in graph and i != m} for m, deps in graph.items()}


def test_engine_imports_no_trade_and_trades_not_each_other():
    graph = _imports()
    bad = []
    for module, deps in graph.items():
        parts = module.split(".")
        for dep in deps:
            target = dep.split(".")[1] if "." in dep else ""
            if parts[1] == "meshes" and target in TRADES:
                bad.append(f"{module} -> {dep}")
            if parts[1] in TRADES and target in TRADES and target != parts[1]:
                bad.append(f"{module} -> {dep}")
    assert not bad


def test_no_two_modules_import_each_other():
    graph = _imports()
    pairs = sorted({tuple(sorted((a, b))) for a, deps in graph.items() for b in deps
                    if a in graph.get(b, set()) and not (a.startswith(b + ".") or b.startswith(a + "."))})
    assert not pairs
