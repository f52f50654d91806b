"""One direction between training and export: export reads training's checkpoints, and
training never imports export (the script that does both lives on the export side)."""

from __future__ import annotations

import ast
from pathlib import Path

import vaeserve.training

TRAINING = Path(vaeserve.training.__file__).parent


def imported_modules(source: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_training_imports_nothing_from_export() -> None:
    sources = sorted(TRAINING.glob("*.py"))
    assert len(sources) > 5
    offending = {
        source.name: sorted(n for n in imported_modules(source) if n.startswith("vaeserve.export"))
        for source in sources
    }
    assert {name: found for name, found in offending.items() if found} == {}


def test_the_import_scan_sees_an_export_import(tmp_path: Path) -> None:
    source = tmp_path / "lazy.py"
    source.write_text("def f():\n    from vaeserve import export\n")
    assert "vaeserve.export" in imported_modules(source)
