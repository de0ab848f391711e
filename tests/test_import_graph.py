"""The server package's layering stays true: no import cycles anywhere in ``server/``, the core
imports neither the LSP server nor the CLI, and the LSP server does not import the CLI.

Every import counts: module level, inside functions (the lazy imports that keep Azure off the
start-up path) and under ``TYPE_CHECKING`` (a cycle there is still a design cycle).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

SERVER = REPO / "server"
PACKAGE = "aitk_inference"

# (importer prefix, forbidden target prefix)
FORBIDDEN = [
    ("aitk_inference.core", "aitk_inference.lsp"),
    ("aitk_inference.core", "aitk_inference.cli"),
    ("aitk_inference.lsp", "aitk_inference.cli"),
]


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports (a ``from X import y`` names X.y when y is
    a module, else X)."""
    files = {module_name(root, p): p for p in (root / package).rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in files else base)
            for target in targets:
                if target in files and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def forbidden_edges(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    def under(module: str, prefix: str) -> bool:
        return module == prefix or module.startswith(prefix + ".")

    return sorted(
        (src, dst)
        for src, targets in graph.items()
        for dst in targets
        for importer, target in FORBIDDEN
        if under(src, importer) and under(dst, target)
    )


def test_server_has_no_import_cycles() -> None:
    graph = import_graph(SERVER, PACKAGE)
    assert "aitk_inference.core.operations" in graph and "aitk_inference.lsp.server" in graph
    assert cycles(graph) == []


def test_layers_import_downwards_only() -> None:
    assert forbidden_edges(import_graph(SERVER, PACKAGE)) == []


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checks_catch_a_cycle_and_a_wrong_direction(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "aitk_inference/__init__.py": "",
            "aitk_inference/cli.py": "",
            "aitk_inference/core/__init__.py": "",
            "aitk_inference/core/a.py": "from aitk_inference.core import b\n",
            # lazy and relative imports count too
            "aitk_inference/core/b.py": "def f():\n    from .a import x\n",
            "aitk_inference/lsp/__init__.py": "",
            "aitk_inference/lsp/server.py": "import aitk_inference.cli\n",
            "aitk_inference/core/c.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from aitk_inference.lsp.server import S\n"
            ),
        },
    )
    graph = import_graph(tmp_path, PACKAGE)
    assert cycles(graph) == [["aitk_inference.core.a", "aitk_inference.core.b"]]
    assert forbidden_edges(graph) == [
        ("aitk_inference.core.c", "aitk_inference.lsp.server"),
        ("aitk_inference.lsp.server", "aitk_inference.cli"),
    ]
