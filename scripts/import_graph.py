"""Measure the package import graph of ``gateway`` (imports inside functions count).

A lazy import is still a dependency: this reads every ``import`` statement in
the AST, wherever it stands, and folds modules into their package
(``gateway.<package>``; top-level modules such as ``gateway/app.py`` are their
own package). It prints the package cycles (strongly connected components) for
all imports and for module-level imports alone. ``make lint`` enforces the
contracts with import-linter; this script is the quick measurement behind
them (``python scripts/import_graph.py [--edges]``).
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP = "gateway"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != TOP or len(parts) < 2:
        return None
    return parts[1]


def imports_of(path: Path, *, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def package_graph(*, top_level_only: bool) -> dict[str, dict[str, set[str]]]:
    """package -> imported package -> the importing modules."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted((ROOT / TOP).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = module_name(path)
        src_pkg = package_of(source)
        if src_pkg is None:
            continue
        graph[src_pkg]  # noqa: B018 - every package is a node
        for target in imports_of(path, top_level_only=top_level_only):
            dst_pkg = package_of(target)
            if dst_pkg is not None and dst_pkg != src_pkg:
                graph[src_pkg][dst_pkg].add(source)
    return graph


def cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one package."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def main() -> int:
    show_edges = "--edges" in sys.argv
    worst = 0
    for label, top_only in (("all imports", False), ("module-level imports", True)):
        graph = package_graph(top_level_only=top_only)
        found = cycles(graph)
        edges = sum(len(targets) for targets in graph.values())
        print(f"{label}: {len(graph)} packages, {edges} package edges, {len(found)} cycle(s)")
        for component in found:
            worst = max(worst, len(component))
            print(f"  cycle through {len(component)}: {', '.join(component)}")
            if show_edges:
                members = set(component)
                for src in component:
                    for dst, modules in sorted(graph[src].items()):
                        if dst in members:
                            print(f"    {src} -> {dst}: {', '.join(sorted(modules))}")
    return 1 if worst else 0


if __name__ == "__main__":
    raise SystemExit(main())
