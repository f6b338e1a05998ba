"""The import graph: stages never reach up into the CLI, nor into another package's privates."""

from __future__ import annotations

import ast
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
