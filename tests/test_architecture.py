"""The code's shape is its architecture (docs/architecture.md): layers import only downward, and no module
imports itself back through others. Function-level imports count as much as module-level ones."""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "yunying"

# Bottom up. A module may import its own layer and the layers below it, never above.
LAYERS = {
    "errors": 0, "config": 1, "model": 2, "sequences": 3, "stats": 3, "storage": 4, "engines": 5,
    "analyses": 6, "reports": 7, "demo": 8, "__init__": 8, "server": 9, "cli": 10, "__main__": 11,
}
# Statistics are pure functions on sufficient statistics: they import nothing of yunying but errors and themselves.
STATS_MAY_IMPORT = {"errors", "stats"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in (SRC / PACKAGE).rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Every yunying module each module imports, anywhere in its body."""
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, is_package, node)
                # `from pkg import sub` imports the submodule when there is one
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for name in names:
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name.split(".")[0] == PACKAGE and name != module:
                    targets.add(name)
        graph[module] = targets
    return graph


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_belongs_to_a_layer():
    unknown = sorted(m for m in _modules() if _layer(m) not in LAYERS)
    assert not unknown, f"modules outside the layers of docs/architecture.md: {unknown}"


def test_no_upward_imports():
    bad = []
    for module, targets in _imports(_modules()).items():
        here = _layer(module)
        for target in targets:
            there = _layer(target)
            if LAYERS.get(there, 99) > LAYERS.get(here, 99) or (here == "stats" and there not in STATS_MAY_IMPORT):
                bad.append(f"{module} -> {target}")
    assert not bad, "imports against the layer order:\n" + "\n".join(sorted(bad))


def test_no_import_cycles():
    graph = _imports(_modules())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_function_level_imports(tmp_path):
    """The graph includes imports inside functions (the kind that hid the old cycles)."""
    graph = _imports(_modules())
    assert all(isinstance(v, set) for v in graph.values())
    tree = ast.parse("def f():\n    from ..engines import make_engine\n")
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))
    assert _resolve("yunying.storage.workspace", False, node) == "yunying.engines"
