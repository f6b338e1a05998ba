"""The import graph: stages never reach up into the CLI, nor into another package's privates."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "lamstudio"


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return names


def _package(path: Path) -> str:
    rel = path.relative_to(SRC).parts
    return rel[0] if len(rel) > 1 else ""


def test_no_stage_imports_the_cli() -> None:
    cli = {"cli.py", "__main__.py"}  # lamstudio/cli.py and ``python -m lamstudio``
    bad = [f"{p.relative_to(SRC)}: {m}" for p in SRC.rglob("*.py")
           if _package(p) != "commands" and p.relative_to(SRC).as_posix() not in cli
           for m in _imports(p) if m.startswith(("lamstudio.commands", "lamstudio.cli"))]
    assert not bad, bad


def test_no_package_imports_another_packages_private_modules() -> None:
    bad = []
    for p in SRC.rglob("*.py"):
        for m in _imports(p):
            parts = m.split(".")
            if len(parts) >= 3 and parts[0] == "lamstudio" and parts[2].startswith("_") \
                    and parts[1] != _package(p):
                bad.append(f"{p.relative_to(SRC)}: {m}")
    assert not bad, bad


def _graph(key: Callable[[Path, str], tuple[str, str] | None]) -> dict[str, set[str]]:
    """Import edges, every import counted: a function-level import is still an arrow."""
    edges: dict[str, set[str]] = {}
    for p in SRC.rglob("*.py"):
        for m in _imports(p):
            if m == "lamstudio" or m.startswith("lamstudio."):
                edge = key(p, m)
                if edge and edge[0] != edge[1]:
                    edges.setdefault(edge[0], set()).add(edge[1])
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per node that can reach itself (shortest path back, by BFS)."""
    found = []
    for start in sorted(edges):
        parents: dict[str, str] = {}
        queue = [start]
        while queue:
            node = queue.pop(0)
            for nxt in sorted(edges.get(node, ())):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    found.append([start, *reversed(path[:-1]), start])
                    queue = []
                    break
                if nxt not in parents:
                    parents[nxt] = node
                    queue.append(nxt)
    return found


def _module(p: Path) -> str:
    return ".".join(("lamstudio", *p.relative_to(SRC).with_suffix("").parts)).removesuffix(
        ".__init__")


def test_packages_form_layers_every_arrow_points_down() -> None:
    def key(p: Path, m: str) -> tuple[str, str] | None:
        parts = m.split(".")
        return (_package(p) or _module(p), parts[1]) if len(parts) > 1 else None

    assert not _cycles(_graph(key)), _cycles(_graph(key))


def test_modules_inside_a_package_form_layers() -> None:
    def key(p: Path, m: str) -> tuple[str, str] | None:
        pkg = _package(p)
        if not pkg or not m.startswith(f"lamstudio.{pkg}."):
            return None
        return _module(p), ".".join(m.split(".")[:3])

    assert not _cycles(_graph(key)), _cycles(_graph(key))
